"""The review in the case history, blinded: review events (CaseEvent kind "review") are shown, with
the describer curation registers, only to users who read every case (curators) and to the
event's own actor; the contributor sees the transitions, whose reason carries the return message.
And the contributor's side: a returned case shows the reviewers' messages and flags per image,
without who flagged, and never anything of a round still in review."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from curation.models import EntryStatus, ImageFlag, QueueEntry, Review, ReviewStatus
from curation.views.review_panels import describe_review_event
from imagebank import hooks
from imagebank.lifecycle import CaseState
from imagebank.models import Case, CaseEvent
from imagebank.services.cases import record_event
from tests.factories import add_image, make_case, make_contributor, make_site, make_user_with_role
from tests.roles import Role
from tests.totp import with_totp

pytestmark = pytest.mark.django_db


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def page_of(user, case) -> str:
    response = signed_in(user).get(f"/cases/{case.pk}/")
    assert response.status_code == 200
    return response.content.decode()


@pytest.fixture
def returned_case():
    """A case returned by its round: two reviewers' claims, flags and decisions in its history,
    one of them returning it with a message; the transition carrying that message."""
    site = make_site()
    contributor = make_contributor(site)
    case = make_case(site, actor=contributor)
    first_image = add_image(case, contributor, "after_acetic_acid", seed=1)
    second_image = add_image(case, contributor, "after_lugol", seed=2)
    first, second = make_user_with_role(Role.REVIEWER), make_user_with_role(Role.REVIEWER)
    now = timezone.now()
    entry = QueueEntry.objects.create(
        case=case,
        entered_at=now - timedelta(hours=3),
        status=EntryStatus.DECIDED,
        outcome=CaseState.RETURNED,
        decided_at=now,
        reviews_done=2,
    )
    reviews = []
    for reviewer, decision, message, reasons in (
        (first, "return", "The Lugol image is out of focus: please retake it.", ["poor_quality"]),
        (second, "accept", "Secret accepting note.", []),
    ):
        review = Review.objects.create(
            entry=entry,
            case=case,
            reviewer=reviewer,
            status=ReviewStatus.SUBMITTED,
            claimed_at=now - timedelta(hours=2),
            claim_expires=now,
            submitted_at=now - timedelta(hours=1),
            decision=decision,
            message=message,
            reasons=reasons,
        )
        reviews.append(review)
        record_event(
            case, reviewer, CaseEvent.Kind.REVIEW, changes={"action": "claimed", "round": 1}
        )
        record_event(
            case,
            reviewer,
            CaseEvent.Kind.REVIEW,
            reason="out_of_focus",
            changes={"action": "flag_added", "image": second_image.pk, "review": review.pk},
        )
        record_event(
            case,
            reviewer,
            CaseEvent.Kind.REVIEW,
            changes={"action": "decided", "decision": decision, "reasons": reasons},
        )
    ImageFlag.objects.create(review=reviews[0], image=second_image, reason="out_of_focus")
    ImageFlag.objects.create(review=reviews[1], image=second_image, reason="out_of_focus")
    ImageFlag.objects.create(
        review=reviews[1], image=first_image, reason="wrong_step", correct_step="after_lugol"
    )
    record_event(
        case,
        None,
        CaseEvent.Kind.REVIEW,
        changes={"action": "round_decided", "outcome": "returned"},
    )
    Case.objects.filter(pk=case.pk).update(state=CaseState.RETURNED, submitted_at=now)
    CaseEvent.objects.create(
        case=case,
        kind=CaseEvent.Kind.TRANSITION,
        from_state=CaseState.IN_REVIEW,
        to_state=CaseState.RETURNED,
        reason="The Lugol image is out of focus: please retake it.",
    )
    case.refresh_from_db()
    return {
        "case": case,
        "contributor": contributor,
        "reviewers": (first, second),
        "images": (first_image, second_image),
    }


def test_the_describer_is_registered_for_review_events():
    event = CaseEvent(
        kind=CaseEvent.Kind.REVIEW,
        reason="glare",
        changes={"action": "flag_added", "image": 12, "round": 2},
    )
    assert hooks.describe_event(event) == describe_review_event(event)
    lines = describe_review_event(event)
    assert lines[0] == "Image flagged"
    assert "round 2" in lines[1] and "image 12" in lines[1] and "Glare" in lines[1]
    unknown = CaseEvent(kind=CaseEvent.Kind.REVIEW, changes={"action": "something_new"})
    assert describe_review_event(unknown) == ["something new"]


def test_a_failing_describer_leaves_the_core_description(monkeypatch):
    def broken(event):
        raise RuntimeError("bug")

    monkeypatch.setitem(hooks._event_describers, "review", broken)
    assert hooks.describe_event(CaseEvent(kind="review", changes={"action": "x"})) is None


def test_the_contributor_sees_the_transition_not_the_review_events(returned_case):
    page = page_of(returned_case["contributor"], returned_case["case"])
    history = page.split('id="history-h"', 1)[1]
    assert "Review activity" not in history
    assert "Claimed for review" not in history and "Image flagged" not in history
    assert "Returned to contributor" in history
    assert "please retake it" in history
    for reviewer in returned_case["reviewers"]:
        assert reviewer.email not in page and reviewer.full_name not in page


def test_a_curator_sees_every_review_event(returned_case):
    curator = make_user_with_role(Role.CURATOR)
    with_totp(curator)
    history = page_of(curator, returned_case["case"]).split('id="history-h"', 1)[1]
    assert history.count("Claimed for review") == 2
    assert history.count("Image flagged") == 2
    assert history.count("Review submitted") == 2
    assert "Review round decided" in history


def test_a_reviewer_sees_only_their_own_review_events(returned_case):
    first, second = returned_case["reviewers"]
    # Reviewers read submitted cases only; the case is back in review for this look.
    Case.objects.filter(pk=returned_case["case"].pk).update(
        state=CaseState.IN_REVIEW, submitted_at=timezone.now()
    )
    history = page_of(first, returned_case["case"]).split('id="history-h"', 1)[1]
    assert history.count("Claimed for review") == 1
    assert history.count("Review submitted") == 1
    assert second.email not in history and (second.full_name or "-") not in history
    assert "Review round decided" not in history  # the system's, not theirs


def test_the_returned_case_shows_messages_and_flags_without_who(returned_case):
    page = page_of(returned_case["contributor"], returned_case["case"])
    assert 'data-review-outcome="returned"' in page
    panel = page.split("data-review-outcome", 1)[1].split("</section>", 1)[0]
    assert "please retake it" in panel
    assert "Secret accepting note." not in panel  # only the reviews that returned it speak
    assert 'data-reason="poor_quality"' in panel
    first_image, second_image = returned_case["images"]
    flagged = panel.split(f'data-flagged-image="{second_image.pk}"', 1)[1].split("</li>\n", 1)[0]
    assert flagged.count('data-flag="out_of_focus"') == 1  # two reviewers, shown once
    assert f'data-flagged-image="{first_image.pk}"' in panel
    assert 'data-flag="wrong_step"' in panel
    for reviewer in returned_case["reviewers"]:
        assert reviewer.email not in panel


def test_nothing_of_a_round_still_in_review_is_shown(returned_case):
    case = returned_case["case"]
    QueueEntry.objects.filter(case=case).update(status=EntryStatus.WAITING, outcome="")
    page = page_of(returned_case["contributor"], case)
    assert "data-review-outcome" not in page


def test_a_reviewer_is_not_shown_the_outcome_panel(returned_case):
    case = returned_case["case"]
    Case.objects.filter(pk=case.pk).update(state=CaseState.IN_REVIEW, submitted_at=timezone.now())
    other_reviewer = make_user_with_role(Role.REVIEWER)
    assert "data-review-outcome" not in page_of(other_reviewer, case)


def test_an_accepted_case_shows_no_return_panel(returned_case):
    case = returned_case["case"]
    QueueEntry.objects.filter(case=case).update(outcome=CaseState.ACCEPTED)
    assert "data-review-outcome" not in page_of(returned_case["contributor"], case)
