"""Outlines as masks (curation.outlines): the polygon rasterised at the image's full resolution,
its points checked, the PNG made on demand; who may see an outline and its mask, and that each
read of a mask is audited."""

import io
import math

import numpy as np
import pytest
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone
from PIL import Image as PILImage

from curation.models import (
    EntryStatus,
    Outline,
    OutlineKind,
    QueueEntry,
    Review,
    ReviewStatus,
)
from curation.outlines import (
    case_outlines,
    clean_points,
    mask_png,
    outline_mask_png,
    rasterize,
)
from curation.roles import REVIEWER
from imagebank.lifecycle import CaseState
from imagebank.models import Case, ReadEvent
from imagebank.roles import CURATOR
from tests.factories import add_core_images, make_case, make_contributor, make_site
from tests.factories import make_user_with_role as make_with_role

# --- rasterize -------------------------------------------------------------------------------


def test_a_rectangle_fills_its_pixels_and_nothing_else():
    mask = rasterize([[0, 0], [4, 0], [4, 4], [0, 4]], 6, 6)
    assert mask.dtype == bool and mask.shape == (6, 6)
    assert mask[:4, :4].all() and mask.sum() == 16


def test_the_mask_is_height_by_width_and_x_runs_along_the_rows():
    # A band at the left of a wide image: x < 10 on every row.
    mask = rasterize([[0, 0], [10, 0], [10, 30], [0, 30]], 100, 30)
    assert mask.shape == (30, 100)
    assert mask[:, :10].all() and not mask[:, 11:].any()


def test_a_circle_covers_about_its_area():
    points = [
        [50 + 30 * math.cos(t * 2 * math.pi / 180), 40 + 30 * math.sin(t * 2 * math.pi / 180)]
        for t in range(180)
    ]
    mask = rasterize(points, 100, 80)
    assert mask.sum() == pytest.approx(math.pi * 30**2, rel=0.05)
    assert mask[40, 50] and not mask[0, 0] and not mask[40, 85]


def test_fractional_points_from_a_zoomed_preview_are_fine():
    mask = rasterize([[10.25, 10.75], [60.5, 12.0], [35.125, 50.9]], 80, 60)
    assert mask[25, 35] and not mask[55, 5]


@pytest.mark.parametrize(
    "points, message",
    [
        ("0,0 1,1 2,2", "list of [x, y]"),
        ([[0, 0], [1, 1]], "at least three"),
        ([[0, 0], [1, 1], [2]], "pair of numbers"),
        ([[0, 0], [1, 1], ["2", 2]], "pair of numbers"),
        ([[0, 0], [1, 1], [True, 2]], "pair of numbers"),
        ([[0, 0], [1, 1], [float("nan"), 2]], "pair of numbers"),
        ([[0, 0], [1, 1], [float("inf"), 2]], "pair of numbers"),
        ([[0, 0], [1, 1], [101, 2]], "inside the image"),
        ([[0, 0], [1, 1], [5, -1]], "inside the image"),
        ([[1, 1]] * 2001, "at most 2000"),
    ],
)
def test_bad_points_are_refused_naming_the_field(points, message):
    with pytest.raises(ValidationError) as refused:
        clean_points(points, 100, 80)
    assert message in refused.value.message_dict["points"][0]


def test_the_edges_of_the_image_are_inside_it():
    assert clean_points([[0, 0], [100, 0], [100, 80]], 100, 80) == [
        [0.0, 0.0],
        [100.0, 0.0],
        [100.0, 80.0],
    ]


def test_rasterize_needs_a_real_size():
    with pytest.raises(ValueError):
        rasterize([[0, 0], [1, 0], [1, 1]], None, 10)
    with pytest.raises(ValueError):
        rasterize([[0, 0], [1, 0], [1, 1]], 0, 10)


def test_the_png_is_one_channel_zero_or_255():
    mask = rasterize([[2, 2], [8, 2], [8, 8], [2, 8]], 12, 10)
    decoded = PILImage.open(io.BytesIO(mask_png(mask)))
    assert decoded.format == "PNG" and decoded.mode == "L" and decoded.size == (12, 10)
    pixels = np.asarray(decoded)
    assert set(np.unique(pixels)) == {0, 255}
    assert ((pixels == 255) == mask).all()


# --- who sees an outline, and its mask --------------------------------------------------------


def _reviewed_case(*, decided: bool, state: str = CaseState.IN_REVIEW):
    """A case with one image, in review, and two reviewers' outlines on that image: the first
    reviewer's review submitted, the second's still claimed."""
    site = make_site()
    contributor = make_contributor(site)
    case = make_case(site, contributor)
    image = add_core_images(case, contributor, steps=("after_acetic_acid",))[0]
    Case.objects.filter(pk=case.pk).update(state=state, submitted_at=timezone.now())
    case.refresh_from_db()
    entry = QueueEntry.objects.create(
        case=case,
        entered_at=timezone.now(),
        status=EntryStatus.DECIDED if decided else EntryStatus.WAITING,
    )
    now = timezone.now()
    first, second = (
        make_with_role(REVIEWER, email="first@example.org"),
        make_with_role(REVIEWER, email="second@example.org"),
    )
    done = Review.objects.create(
        entry=entry,
        case=case,
        reviewer=first,
        status=ReviewStatus.SUBMITTED,
        decision="accept",
        claimed_at=now,
        claim_expires=now,
        submitted_at=now,
    )
    held = Review.objects.create(
        entry=entry,
        case=case,
        reviewer=second,
        claimed_at=now,
        claim_expires=now + timezone.timedelta(minutes=30),
    )
    square = [[10, 10], [60, 10], [60, 50], [10, 50]]
    mine = Outline.objects.create(review=done, image=image, kind=OutlineKind.LESION, points=square)
    theirs = Outline.objects.create(
        review=held, image=image, kind=OutlineKind.CERVIX, points=square
    )
    return case, contributor, first, second, mine, theirs


@pytest.mark.django_db
def test_while_a_case_is_reviewed_no_reviewer_sees_another_reviewers_outline():
    case, contributor, first, second, mine, theirs = _reviewed_case(decided=False)
    assert case_outlines(first, case) == [mine]
    assert case_outlines(second, case) == [theirs]
    assert case_outlines(contributor, case) == []


@pytest.mark.django_db
def test_curators_see_the_submitted_outlines():
    case, *_rest, mine, _theirs = _reviewed_case(decided=False)
    curator = make_with_role(CURATOR)
    assert case_outlines(curator, case) == [mine]


@pytest.mark.django_db
def test_once_decided_the_contributor_sees_the_submitted_outlines():
    case, contributor, _first, second, mine, theirs = _reviewed_case(
        decided=True, state=CaseState.ACCEPTED
    )
    assert case_outlines(contributor, case) == [mine]
    # Someone of another site sees nothing of the case.
    assert case_outlines(make_contributor(make_site()), case) == []


@pytest.mark.django_db
def test_the_mask_view_answers_the_png_and_the_read_is_audited(client):
    case, contributor, *_rest, mine, theirs = _reviewed_case(decided=True, state=CaseState.ACCEPTED)
    client.force_login(contributor)
    response = client.get(reverse("curation:outline-mask", args=[mine.pk]))
    assert response.status_code == 200 and response["Content-Type"] == "image/png"
    assert "public" not in response["Cache-Control"]
    decoded = np.asarray(PILImage.open(io.BytesIO(response.content)))
    assert decoded.shape == (mine.image.height, mine.image.width)
    assert (decoded > 0).sum() == rasterize(mine.points, mine.image.width, mine.image.height).sum()
    assert response.content == outline_mask_png(mine)
    read = ReadEvent.objects.get(kind="outline_mask")
    assert (read.object_id, read.case_id, read.user_id) == (mine.pk, case.pk, contributor.pk)
    # An outline of a review that was never submitted: not found, and no read recorded.
    assert client.get(reverse("curation:outline-mask", args=[theirs.pk])).status_code == 404
    assert ReadEvent.objects.filter(kind="outline_mask").count() == 1


@pytest.mark.django_db
def test_the_mask_view_is_for_signed_in_users_who_may_see_the_outline(client):
    *_rest, mine, _theirs = _reviewed_case(decided=True, state=CaseState.ACCEPTED)
    url = reverse("curation:outline-mask", args=[mine.pk])
    assert client.get(url).status_code == 302  # to the sign-in page
    client.force_login(make_contributor(make_site()))
    assert client.get(url).status_code == 404
    assert client.post(url).status_code == 405


@pytest.mark.django_db
def test_the_case_page_shows_the_outlines_once_the_case_is_decided(client):
    case, contributor, first, _second, mine, _theirs = _reviewed_case(
        decided=True, state=CaseState.ACCEPTED
    )
    client.force_login(contributor)
    page = client.get(reverse("imagebank:case-detail", args=[case.pk])).content.decode()
    assert "data-review-outlines" in page
    assert f'data-outline="{mine.pk}"' in page and 'data-outline-row="' in page
    assert reverse("curation:outline-mask", args=[mine.pk]) in page
    # Reviewers by number to the contributor, never by name.
    assert "reviewer 1" in page and first.email not in page
    curator_page = _curator_client(client, case)
    assert first.email in curator_page or first.full_name in curator_page


@pytest.mark.django_db
def test_the_case_page_shows_no_other_reviewers_outline_while_in_review(client):
    case, contributor, first, second, mine, theirs = _reviewed_case(decided=False)
    client.force_login(contributor)
    page = client.get(reverse("imagebank:case-detail", args=[case.pk])).content.decode()
    assert "data-review-outlines" not in page
    client.force_login(second)
    page = client.get(reverse("imagebank:case-detail", args=[case.pk])).content.decode()
    assert f'data-outline="{theirs.pk}"' in page and f'data-outline="{mine.pk}"' not in page


def _curator_client(client, case) -> str:
    curator = make_with_role(CURATOR)
    TOTP.activate(curator, generate_totp_secret())
    client.force_login(curator)
    return client.get(reverse("imagebank:case-detail", args=[case.pk])).content.decode()
