"""The reviewer's pages (curation.views.review_pages): the queue page and "Next case", the review
screen (the sequence in step order with previews, originals and check results, the checklist,
the label opinions), and its form posts (flags, outlines, exclusion, release, decision), with the
rules the pages keep: a reviewer reads only their own review (blinded), only the holder of a
live claim acts, an expired claim says so."""

import json
import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from curation.models import (
    CheckResult,
    EligibilityItem,
    ImageFlag,
    Outline,
    QueueEntry,
    Review,
    ReviewStatus,
)
from curation.services import reviews
from imagebank.lifecycle import CaseState
from imagebank.models import ReadEvent
from tests.curation.test_review_queue import in_review_case, reviewer
from tests.factories import add_core_images, make_case, make_contributor, make_site

QUEUE = "/review/"
NEXT = "/review/next/"


def screen(review) -> str:
    return f"/review/{review.pk}/"


def html(response) -> str:
    return response.content.decode()


def answers(value="yes") -> dict[str, str]:
    return {
        f"eligibility_{item.code}": value for item in EligibilityItem.objects.filter(active=True)
    }


@pytest.fixture
def case_in_review():
    site = make_site("kisumu")
    contributor = make_contributor(site)
    case = make_case(site=site, actor=contributor, transformation_zone="type_1")
    # The contributor's order puts Lugol's iodine first: the screen shows them in step order.
    add_core_images(case, contributor, steps=("after_lugol", "before_acetic_acid"))
    add_core_images(case, contributor, seed=1, steps=("after_acetic_acid",))
    from tests.curation.test_review_queue import to_review

    return to_review(case)


def logged_in(client, user):
    client.force_login(user)
    return client


def claimed(client, user) -> Review:
    response = logged_in(client, user).post(NEXT)
    assert response.status_code == 302, response
    review = Review.objects.get(reviewer=user, status=ReviewStatus.CLAIMED)
    assert response["Location"] == screen(review)
    return review


def test_the_urls():
    assert reverse("curation:review-queue") == QUEUE
    assert reverse("curation:review-next") == NEXT
    assert reverse("curation:review-screen", args=[7]) == "/review/7/"
    for name in ("review-release", "review-decide", "review-flag", "review-outline"):
        assert reverse(f"curation:{name}", args=[7]).startswith("/review/7/")


# --- the queue page ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_queue_page_is_for_reviewers(client):
    assert client.get(QUEUE).status_code == 302  # sign in first
    logged_in(client, make_contributor(make_site()))
    assert client.get(QUEUE).status_code == 403
    assert client.post(NEXT).status_code == 403


@pytest.mark.django_db
def test_the_queue_page_counts_what_waits_for_the_reviewer(client, case_in_review):
    in_review_case(site=case_in_review.site)
    other_site_case = in_review_case()
    # A reviewer who also contributes at the other site never gets its case.
    expert = reviewer(other_site_case.site, email="expert@example.org")
    page = html(logged_in(client, expert).get(QUEUE))
    assert 'data-available="2"' in page and "2 cases wait for you." in page
    assert "data-shortcut-next" in page and "data-current-claim" not in page


@pytest.mark.django_db
def test_next_case_claims_the_oldest_and_the_queue_page_offers_to_continue(client, case_in_review):
    in_review_case()
    expert = reviewer()
    review = claimed(client, expert)
    assert review.case == case_in_review  # the oldest first
    page = html(client.get(QUEUE))
    assert f'data-current-claim="{review.pk}"' in page and screen(review) in page
    assert "data-shortcut-next" not in page
    # Asking again while holding a claim: back to the same case.
    assert client.post(NEXT)["Location"] == screen(review)
    assert Review.objects.filter(reviewer=expert).count() == 1


@pytest.mark.django_db
def test_next_case_with_nothing_waiting_says_so(client):
    logged_in(client, reviewer())
    response = client.post(NEXT, follow=True)
    assert response.redirect_chain == [(QUEUE, 302)]
    assert "No case is waiting for you now" in html(response)
    assert client.get(NEXT).status_code == 405


# --- the screen ----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_screen_shows_the_sequence_in_step_order_with_its_files_and_checks(
    client, case_in_review
):
    image = case_in_review.images.get(step="after_acetic_acid")
    CheckResult.objects.create(
        case=case_in_review,
        image=image,
        check_name="blood",
        version="1",
        verdict="warn",
        value=0.2,
        threshold=0.1,
        detail="Blood covers a fifth of the cervix.",
        checked_at=timezone.now(),
    )
    review = claimed(client, reviewer())
    response = client.get(screen(review))
    assert response.status_code == 200
    page = html(response)
    order = [
        case_in_review.images.get(step=step).pk
        for step in ("before_acetic_acid", "after_acetic_acid", "after_lugol")
    ]
    assert [int(pk) for pk in re.findall(r'data-review-image="(\d+)"', page)] == order
    for pk in order:
        assert f"/files/images/{pk}/preview/" in page
        assert f'data-original-url="/files/images/{pk}/original/"' in page
    assert f'viewBox="0 0 {image.width} {image.height}"' in page
    assert 'data-check="blood"' in page and "Blood covers a fifth" in page
    # The checklist, with every active item, and the label opinions with the recorded values.
    for item in EligibilityItem.objects.filter(active=True):
        assert f'data-eligibility="{item.code}"' in page
    assert 'name="label_transformation_zone"' in page and "As recorded: Type 1" in page
    assert 'name="label_swede_vessels"' in page and 'name="label_provisional_diagnosis"' in page
    assert page.count('form="decision-form"') == 3  # one exclusion box per image
    assert "data-shortcut-help" in page and 'id="decision-form"' in page
    # The screen's read is recorded, as the case page's is.
    read = ReadEvent.objects.get(kind="review")
    assert (read.object_id, read.case_id) == (review.pk, case_in_review.pk)


@pytest.mark.django_db
def test_nobody_reads_another_reviewers_review(client, case_in_review):
    first, second = reviewer(email="first@example.org"), reviewer(email="second@example.org")
    review = claimed(client, first)
    image = case_in_review.images.first()
    reviews.add_flag(review, image=image, reason="glare", note="first reviewer's note")
    reviews.decide(
        review,
        decision="accept",
        eligibility={i.code: True for i in EligibilityItem.objects.filter(active=True)},
    )
    second_review = claimed(client, second)
    assert second_review.case == case_in_review
    page = html(client.get(screen(second_review)))
    assert "first reviewer's note" not in page and "data-flag=" not in page
    assert client.get(screen(review)).status_code == 404
    assert client.post(reverse("curation:review-decide", args=[review.pk])).status_code == 404


# --- flags and outlines --------------------------------------------------------------------------


@pytest.mark.django_db
def test_flags_are_added_and_removed_on_the_screen(client, case_in_review):
    review = claimed(client, reviewer())
    image = case_in_review.images.get(step="after_lugol")
    url = reverse("curation:review-flag", args=[review.pk])
    response = client.post(
        url,
        {
            "image": image.pk,
            "reason": "wrong_step",
            "correct_step": "after_acetic_acid",
            "note": "This is acetic acid.",
        },
    )
    assert response["Location"] == f"{screen(review)}#image-{image.pk}"
    flag = ImageFlag.objects.get(review=review)
    assert (flag.reason, flag.correct_step, flag.note) == (
        "wrong_step",
        "after_acetic_acid",
        "This is acetic acid.",
    )
    page = html(client.get(screen(review)))
    assert f'data-flag="{flag.pk}"' in page and "right step: After acetic acid" in page

    # The right step is kept only for a wrong step label.
    client.post(url, {"image": image.pk, "reason": "glare", "correct_step": "after_lugol"})
    assert ImageFlag.objects.get(review=review, reason="glare").correct_step == ""

    response = client.post(url, {"image": image.pk, "reason": "dust"}, follow=True)
    assert "reason" in html(response) and "Not a flag reason" in html(response)
    response = client.post(url, {"image": "999999", "reason": "glare"}, follow=True)
    assert "image: choose an image of this case." in html(response)

    remove = reverse("curation:review-flag-remove", args=[review.pk, flag.pk])
    assert client.post(remove)["Location"] == f"{screen(review)}#image-{image.pk}"
    assert not ImageFlag.objects.filter(pk=flag.pk).exists()


@pytest.mark.django_db
def test_an_outline_is_saved_in_image_coordinates_and_removed(client, case_in_review):
    review = claimed(client, reviewer())
    image = case_in_review.images.get(step="after_acetic_acid")
    url = reverse("curation:review-outline", args=[review.pk])
    points = [[10.5, 12.25], [100, 12], [90, 80], [15, 70]]
    response = client.post(url, {"image": image.pk, "kind": "lesion", "points": json.dumps(points)})
    assert response["Location"] == f"{screen(review)}#image-{image.pk}"
    outline = Outline.objects.get(review=review)
    assert (outline.kind, outline.points) == ("lesion", points)
    page = html(client.get(screen(review)))
    assert f'data-outline="{outline.pk}"' in page
    assert 'points="10.5,12.25 100,12 90,80 15,70"' in page

    for bad, message in [
        ("", "Draw the outline on the image first."),
        ("[[1, 2], [3", "not a list of [x, y]"),
        (json.dumps([[1, 1], [2, 2]]), "points"),
        (json.dumps([[1, 1], [2, 2], [image.width + 5, 3]]), "points"),
    ]:
        response = client.post(
            url, {"image": image.pk, "kind": "lesion", "points": bad}, follow=True
        )
        assert message in html(response), bad
    response = client.post(
        url, {"image": image.pk, "kind": "nose", "points": json.dumps(points)}, follow=True
    )
    assert "kind" in html(response)
    assert Outline.objects.filter(review=review).count() == 1

    remove = reverse("curation:review-outline-remove", args=[review.pk, outline.pk])
    client.post(remove)
    assert not Outline.objects.filter(review=review).exists()


# --- the decision --------------------------------------------------------------------------------


@pytest.mark.django_db
def test_accepting_needs_every_checklist_answer(client, case_in_review):
    review = claimed(client, reviewer())
    url = reverse("curation:review-decide", args=[review.pk])
    response = client.post(
        url, {"decision": "accept", "label_scj_visibility": "completely_visible"}
    )
    assert response.status_code == 400
    page = html(response)
    assert "Answer this item to accept the case." in page
    # What was chosen is kept on the page that says what is missing.
    assert re.search(r'<option value="completely_visible" selected>', page)
    review.refresh_from_db()
    assert review.status == ReviewStatus.CLAIMED

    # A required item answered "no": the service refuses, naming the checklist.
    response = client.post(url, {"decision": "accept", **answers(), "eligibility_consent": "no"})
    assert response.status_code == 400 and "eligibility:" in html(response)


@pytest.mark.django_db
def test_an_accepted_review_records_answers_opinions_and_exclusions(client, case_in_review):
    expert = reviewer()
    review = claimed(client, expert)
    lugol = case_in_review.images.get(step="after_lugol")
    response = client.post(
        reverse("curation:review-decide", args=[review.pk]),
        {
            "decision": "accept",
            **answers(),
            "label_transformation_zone": "type_2",
            "label_swede_vessels": "",
            "excluded_images": [str(lugol.pk)],
            "reasons": ["poor_quality"],  # ignored for an acceptance
        },
    )
    assert response.status_code == 302 and response["Location"] == QUEUE
    review.refresh_from_db()
    assert review.status == ReviewStatus.SUBMITTED and review.decision == "accept"
    assert review.label_opinions == {"transformation_zone": "type_2"}
    assert review.excluded_images == [lugol.pk] and review.reasons == []
    assert all(review.eligibility.values()) and review.eligibility
    # Read back, without its forms.
    page = html(client.get(screen(review)))
    assert "You submitted this review: Accept." in page
    assert 'id="decision-form"' not in page and "review-flag" not in page
    assert "You kept this image out of the bank." in page
    assert "Submitted" in html(client.get(QUEUE))


@pytest.mark.django_db
def test_submitting_can_open_the_next_case(client, case_in_review):
    later = in_review_case()
    review = claimed(client, reviewer())
    response = client.post(
        reverse("curation:review-decide", args=[review.pk]),
        {"decision": "accept", **answers(), "then_next": "on"},
    )
    following = Review.objects.get(case=later)
    assert response["Location"] == screen(following)


@pytest.mark.django_db
def test_rejecting_and_returning_need_reasons_and_a_message(client, case_in_review):
    review = claimed(client, reviewer())
    url = reverse("curation:review-decide", args=[review.pk])
    response = client.post(url, {"decision": "return", "reasons": ["poor_quality"]})
    assert response.status_code == 400 and "Say what the contributor should change." in html(
        response
    )
    response = client.post(url, {"decision": "reject"})
    assert response.status_code == 400 and "reason" in html(response)
    response = client.post(url, {"decision": "maybe"})
    assert response.status_code == 400
    response = client.post(
        url,
        {"decision": "return", "reasons": ["poor_quality"], "message": "Retake the Lugol image."},
    )
    assert response.status_code == 302
    review.refresh_from_db()
    assert (review.decision, review.message) == ("return", "Retake the Lugol image.")


# --- claims: expired, released -------------------------------------------------------------------


@pytest.mark.django_db
def test_an_expired_claim_says_so_and_nothing_can_be_done(client, case_in_review):
    review = claimed(client, reviewer())
    Review.objects.filter(pk=review.pk).update(claim_expires=timezone.now() - timedelta(minutes=1))
    page = html(client.get(screen(review)))
    assert "data-claim-expired" in page and "Your claim on this case expired" in page
    assert 'id="decision-form"' not in page and "data-flag-form" not in page
    image = case_in_review.images.first()
    response = client.post(
        reverse("curation:review-flag", args=[review.pk]),
        {"image": image.pk, "reason": "glare"},
        follow=True,
    )
    assert "Your claim on this case expired" in html(response)
    assert not ImageFlag.objects.exists()
    response = client.post(reverse("curation:review-decide", args=[review.pk]), answers())
    assert response.status_code == 302
    review.refresh_from_db()
    assert review.status != ReviewStatus.SUBMITTED


@pytest.mark.django_db
def test_giving_the_case_back(client, case_in_review):
    review = claimed(client, reviewer())
    response = client.post(reverse("curation:review-release", args=[review.pk]), follow=True)
    assert response.redirect_chain == [(QUEUE, 302)]
    review.refresh_from_db()
    assert review.status == ReviewStatus.RELEASED
    assert QueueEntry.objects.get(case=case_in_review).reviews_done == 0
    page = html(client.get(screen(review)))
    assert "data-claim-released" in page and "data-release" not in page


@pytest.mark.django_db
def test_the_screen_costs_the_same_queries_whatever_the_number_of_images(client):
    site = make_site()
    contributor = make_contributor(site)
    counts = []
    expert = reviewer()
    logged_in(client, expert)
    for n_extra in (0, 3):
        case = make_case(site=site, actor=contributor)
        add_core_images(case, contributor)
        for index in range(n_extra):
            add_core_images(case, contributor, seed=10 + index, steps=("after_acetic_acid",))
        from tests.curation.test_review_queue import to_review

        to_review(case)
        review = claimed(client, expert)
        with CaptureQueriesContext(connection) as queries:
            assert client.get(screen(review)).status_code == 200
        counts.append(len(queries))
        reviews.release(review, actor=expert)
    assert counts[0] == counts[1], counts
    assert counts[0] < 40, counts
    assert CaseState.IN_REVIEW  # the cases stayed in review
