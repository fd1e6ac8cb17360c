"""Setting the steps and the order of a case's images (services.images.arrange_images and
PATCH /api/images/{id}/), and the step-guess flag wherever a step is guessed."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from pydicom.uid import generate_uid
from rest_framework.test import APIClient

from fixtures.synthetic_cervix import render_jpeg
from imagebank.ingest.sources import ingest_paths
from imagebank.lifecycle import CaseState
from imagebank.models import CaseEvent, Image
from imagebank.services import cases as case_services
from imagebank.services.images import Placement, arrange_images
from imagebank.tasks import process_image
from tests.factories import (
    add_image,
    jpeg_upload,
    make_case,
    make_contributor,
    make_site,
    make_user_with_role,
)
from tests.imagebank.ingest.dicom_samples import rgb_dicom
from tests.roles import Role

pytestmark = pytest.mark.django_db


@pytest.fixture
def case(site, contributor):
    return make_case(site, contributor)


@pytest.fixture
def three(case, contributor):
    """Three images in the order 1, 2, 3; the second with a guessed step."""
    images = [
        add_image(case, contributor, "before_acetic_acid", seed=1, size=(64, 48)),
        add_image(
            case, contributor, "after_acetic_acid", seed=2, size=(64, 48), step_is_guess=True
        ),
        add_image(case, contributor, "after_lugol", seed=3, size=(64, 48)),
    ]
    return images


def submit(case, contributor, images) -> None:
    """Process the images (as the worker would) and submit the case: it has the three steps."""
    for image in images:
        process_image(image.pk)
    case_services.submit_case(case=case, actor=contributor)
    assert case.__class__.objects.get(pk=case.pk).state == CaseState.SUBMITTED


def arrangement(case) -> list[tuple[int, str, bool]]:
    return list(case.images.order_by("display_order").values_list("pk", "step", "step_is_guess"))


def last_arrangement_event(case) -> CaseEvent:
    return case.events.filter(kind=CaseEvent.Kind.IMAGES_ARRANGED).latest("pk")


def test_two_images_swap_places_in_one_audited_event(case, contributor, three):
    first, second, third = three
    arrange_images(
        case=case,
        actor=contributor,
        placements={first.pk: Placement(order=3), third.pk: Placement(order=1)},
    )
    assert [pk for pk, _step, _guess in arrangement(case)] == [third.pk, second.pk, first.pk]
    assert list(case.images.order_by("display_order").values_list("display_order", flat=True)) == [
        1,
        2,
        3,
    ]
    event = last_arrangement_event(case)
    assert event.actor == contributor
    assert event.changes["images"] == {
        str(first.pk): {"order": {"from": 1, "to": 3}},
        str(third.pk): {"order": {"from": 3, "to": 1}},
    }


def test_moving_one_image_closes_up_the_others(case, contributor, three):
    first, second, third = three
    arrange_images(case=case, actor=contributor, placements={third.pk: Placement(order=1)})
    assert [pk for pk, _s, _g in arrangement(case)] == [third.pk, first.pk, second.pk]


def test_gaps_in_the_order_are_closed_to_1_to_n(case, contributor):
    a = add_image(case, contributor, "before_acetic_acid", seed=1, size=(64, 48), display_order=4)
    b = add_image(case, contributor, "after_lugol", seed=2, size=(64, 48), display_order=9)
    arrange_images(case=case, actor=contributor, placements={b.pk: Placement(order=1)})
    a.refresh_from_db()
    b.refresh_from_db()
    assert (b.display_order, a.display_order) == (1, 2)


def test_a_step_given_is_set_and_its_guess_cleared(case, contributor, three):
    _first, second, third = three
    arrange_images(
        case=case,
        actor=contributor,
        placements={second.pk: Placement(step="green_filter"), third.pk: Placement(step="other")},
    )
    second.refresh_from_db()
    third.refresh_from_db()
    assert (second.step, second.step_is_guess) == ("green_filter", False)
    assert third.step == "other"
    changes = last_arrangement_event(case).changes["images"]
    assert changes[str(second.pk)] == {
        "step": {"from": "after_acetic_acid", "to": "green_filter"},
        "step_is_guess": {"from": True, "to": False},
    }


def test_confirming_a_guessed_step_unchanged_clears_the_guess_and_is_audited(
    case, contributor, three
):
    second = three[1]
    arrange_images(
        case=case, actor=contributor, placements={second.pk: Placement(step="after_acetic_acid")}
    )
    second.refresh_from_db()
    assert second.step_is_guess is False
    assert last_arrangement_event(case).changes["images"] == {
        str(second.pk): {"step_is_guess": {"from": True, "to": False}}
    }


def test_nothing_to_change_writes_no_event(case, contributor, three):
    first = three[0]
    arrange_images(
        case=case,
        actor=contributor,
        placements={first.pk: Placement(step="before_acetic_acid", order=1)},
    )
    assert not case.events.filter(kind=CaseEvent.Kind.IMAGES_ARRANGED).exists()


@pytest.mark.parametrize(
    "placements, field",
    [
        (lambda a, b, c: {a.pk: Placement(step="schiller")}, "step"),
        (lambda a, b, c: {a.pk: Placement(order=4)}, "display_order"),
        (lambda a, b, c: {a.pk: Placement(order=0)}, "display_order"),
        (lambda a, b, c: {a.pk: Placement(order=2), b.pk: Placement(order=2)}, "display_order"),
        (lambda a, b, c: {a.pk: Placement(order=2), 987654: Placement(order=1)}, "images"),
    ],
    ids=["unknown step", "past the end", "zero", "two at one position", "not in the case"],
)
def test_bad_placements_are_refused_and_change_nothing(case, contributor, three, placements, field):
    before = arrangement(case)
    with pytest.raises(ValidationError) as raised:
        arrange_images(case=case, actor=contributor, placements=placements(*three))
    assert field in raised.value.message_dict
    assert arrangement(case) == before
    assert not case.events.filter(kind=CaseEvent.Kind.IMAGES_ARRANGED).exists()


def test_an_image_of_another_case_is_refused(case, contributor, three, site):
    other = make_case(site, contributor)
    stranger = add_image(other, contributor, "after_lugol", seed=9, size=(64, 48))
    with pytest.raises(ValidationError):
        arrange_images(case=case, actor=contributor, placements={stranger.pk: Placement(order=1)})
    stranger.refresh_from_db()
    assert stranger.display_order == 1


def test_only_the_sites_contributor_arranges_and_only_while_editable(case, contributor, three):
    first, _second, third = three
    swap = {first.pk: Placement(order=3), third.pk: Placement(order=1)}
    for outsider in (make_contributor(make_site()), make_user_with_role(Role.REVIEWER)):
        with pytest.raises(PermissionDenied):
            arrange_images(case=case, actor=outsider, placements=swap)
    submit(case, contributor, three)
    with pytest.raises(PermissionDenied):
        arrange_images(case=case, actor=contributor, placements=swap)
    assert [pk for pk, _s, _g in arrangement(case)] == [image.pk for image in three]


# --- the API ------------------------------------------------------------------------------------


def api(user) -> APIClient:
    client = APIClient()
    client.force_login(user)
    return client


def test_patch_sets_the_step_and_the_position_with_the_same_rules(case, contributor, three):
    first, second, third = three
    client = api(contributor)
    response = client.patch(
        f"/api/images/{second.pk}/", {"step": "green_filter", "display_order": 1}, format="json"
    )
    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["step"], body["step_is_guess"], body["display_order"]) == (
        "green_filter",
        False,
        1,
    )
    assert [pk for pk, _s, _g in arrangement(case)] == [second.pk, first.pk, third.pk]

    assert (
        client.patch(f"/api/images/{first.pk}/", {"display_order": 9}, format="json").status_code
        == 400
    )
    bad = client.patch(f"/api/images/{first.pk}/", {"step": "schiller"}, format="json")
    assert bad.status_code == 400 and "step" in bad.json()
    unknown = client.patch(f"/api/images/{first.pk}/", {"sha256": "0" * 64}, format="json")
    assert unknown.status_code == 400 and "sha256" in unknown.json()
    assert (
        client.put(f"/api/images/{first.pk}/", {"step": "other"}, format="json").status_code == 405
    )
    assert [pk for pk, _s, _g in arrangement(case)] == [second.pk, first.pk, third.pk]


def test_patch_is_refused_for_another_site_and_once_submitted(case, contributor, three):
    first = three[0]
    outsider = api(make_contributor(make_site()))
    assert (
        outsider.patch(f"/api/images/{first.pk}/", {"step": "other"}, format="json").status_code
        == 404
    )
    submit(case, contributor, three)
    response = api(contributor).patch(f"/api/images/{first.pk}/", {"step": "other"}, format="json")
    assert response.status_code == 403
    first.refresh_from_db()
    assert first.step == "before_acetic_acid"
    reviewer = api(make_user_with_role(Role.REVIEWER))
    assert (
        reviewer.patch(f"/api/images/{first.pk}/", {"step": "other"}, format="json").status_code
        == 403
    )


def test_an_api_upload_may_say_its_step_is_a_guess(case, contributor):
    client = api(contributor)
    response = client.post(
        f"/api/cases/{case.pk}/images/",
        {"file": jpeg_upload(seed=4), "step": "after_lugol", "step_is_guess": "true"},
        format="multipart",
    )
    assert response.status_code == 201, response.json()
    assert response.json()["step_is_guess"] is True
    assert Image.objects.get(pk=response.json()["id"]).step_is_guess is True


# --- imports that guess a step ------------------------------------------------------------------


def test_a_lone_image_and_a_dicom_without_a_step_are_marked_as_guesses(
    site, contributor, tmp_path, local_storage
):
    lone = tmp_path / "lone.jpg"
    lone.write_bytes(render_jpeg("after_lugol", seed=3, size=(64, 48)))
    ingest_paths([lone], site=site, actor=contributor)
    assert Image.objects.get().step_is_guess is True

    dicoms = tmp_path / "study"
    dicoms.mkdir()
    study = generate_uid()
    (dicoms / "named.dcm").write_bytes(
        rgb_dicom(study_uid=study, instance=1, seed=1, ImageComments=None, SeriesDescription="VIA")
    )
    (dicoms / "silent.dcm").write_bytes(
        rgb_dicom(study_uid=study, instance=2, seed=2, ImageComments=None, SeriesDescription=None)
    )
    ingest_paths([dicoms], site=site, actor=contributor)
    steps = dict(
        Image.objects.filter(source_format="dicom").values_list("display_order", "step_is_guess")
    )
    assert steps == {1: False, 2: True}
