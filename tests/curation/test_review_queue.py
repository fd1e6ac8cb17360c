"""The review queue's rules through its services (curation.services.reviews): what enters the
queue, who is handed what, claims expiring and given back, blinding, decisions and the checklist,
consensus, adjudication and urgency.

The helpers at the top (in_review_case, reviewer, accept_answers…) are shared with
test_review_api.py and test_review_concurrency.py."""

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from curation import review_selectors as selectors
from curation.models import (
    Adjudication,
    EligibilityItem,
    EntryStatus,
    ImageExclusion,
    ImageFlag,
    Notice,
    Outline,
    QueueEntry,
    Review,
    ReviewStatus,
)
from curation.services import reviews
from imagebank.lifecycle import CaseState
from imagebank.models import CaseEvent
from imagebank.reconcile import reconcile_all
from imagebank.services import cases as case_services
from imagebank.services import sites as site_services
from tests.factories import (
    add_core_images,
    make_case,
    make_contributor,
    make_site,
    make_user_with_role,
)
from tests.roles import Role

# --- helpers shared with the API and concurrency tests ----------------------------------------


def to_review(case):
    """Take a draft through submission and (without running them) its checks to review, as
    run_quality_checks does: the transition hook enqueues it."""
    case = case_services.transition_case(case=case, to_state=CaseState.SUBMITTED)
    case = case_services.transition_case(case=case, to_state=CaseState.QUALITY_CHECKS)
    return case_services.transition_case(case=case, to_state=CaseState.IN_REVIEW)


def in_review_case(site=None, contributor=None, *, images=False, **values):
    site = site or make_site()
    contributor = contributor or make_contributor(site)
    case = make_case(site=site, actor=contributor, **values)
    if images:
        add_core_images(case, contributor)
    return to_review(case)


def reviewer(*sites, **fields):
    """A reviewer, also a member of `sites` (a reviewer who contributes at a clinic)."""
    user = make_user_with_role(Role.REVIEWER, **fields)
    for site in sites:
        site_services.add_site_member(site=site, user=user)
    return user


def curator(**fields):
    return make_user_with_role(Role.CURATOR, **fields)


def accept_answers() -> dict[str, bool]:
    return {item.code: True for item in EligibilityItem.objects.filter(active=True)}


def accept(review, **overrides):
    values = {"decision": "accept", "eligibility": accept_answers(), **overrides}
    return reviews.decide(review, **values)


def reject(review, reasons=("poor_quality",), **overrides):
    return reviews.decide(
        review, decision="reject", reasons=list(reasons), **{"eligibility": {}, **overrides}
    )


def return_(review, message="Replace the blurred Lugol image.", **overrides):
    return reviews.decide(
        review, decision="return", reasons=["poor_quality"], message=message, **overrides
    )


def review_actions(case) -> list[str]:
    return [
        event.changes.get("action")
        for event in CaseEvent.objects.filter(case=case, kind=CaseEvent.Kind.REVIEW)
    ]


def errors_of(raised) -> dict:
    return raised.value.message_dict


# --- entering the queue -----------------------------------------------------------------------


@pytest.mark.django_db
def test_a_case_reaching_review_enters_the_queue_once():
    case = in_review_case()
    entry = QueueEntry.objects.get(case=case)
    assert (entry.round, entry.status, entry.reviews_required) == (1, EntryStatus.WAITING, 2)
    assert entry.reviews_done == 0 and entry.entered_at is not None
    assert reviews.enqueue_case(case) == entry  # idempotent
    assert QueueEntry.objects.filter(case=case).count() == 1


@pytest.mark.django_db
def test_reviews_required_comes_from_the_settings(settings):
    settings.REVIEWS_REQUIRED = 3
    assert QueueEntry.objects.get(case=in_review_case()).reviews_required == 3


@pytest.mark.django_db
def test_a_draft_does_not_enter_the_queue():
    case = make_case()
    with pytest.raises(ValidationError) as raised:
        reviews.enqueue_case(case)
    assert "case" in errors_of(raised)


@pytest.mark.django_db
def test_a_case_leaving_review_another_way_is_withdrawn_and_its_claim_released():
    case = in_review_case()
    review = reviews.claim_next(reviewer())
    case_services.transition_case(case=case, to_state=CaseState.ACCEPTED)
    assert QueueEntry.objects.get(case=case).status == EntryStatus.WITHDRAWN
    review.refresh_from_db()
    assert review.status == ReviewStatus.RELEASED


@pytest.mark.django_db
def test_the_reconciler_enqueues_a_case_in_review_without_entry_and_expires_claims():
    case = in_review_case()
    QueueEntry.objects.filter(case=case).delete()  # as if the hook had been lost
    other = in_review_case()
    review = reviews.claim_next(reviewer())
    assert review.case == other
    Review.objects.filter(pk=review.pk).update(claim_expires=timezone.now() - timedelta(minutes=1))
    result = reconcile_all()["review_queue"]
    assert result == {"requeued": 1, "resumed": 1, "failed": 0}
    assert QueueEntry.objects.get(case=case).status == EntryStatus.WAITING
    review.refresh_from_db()
    assert review.status == ReviewStatus.EXPIRED
    assert "claim_expired" in review_actions(other)


# --- the hand-out -----------------------------------------------------------------------------


@pytest.mark.django_db
def test_only_reviewers_are_handed_cases():
    in_review_case()
    for user in (make_contributor(), curator()):
        with pytest.raises(PermissionDenied):
            reviews.claim_next(user)


@pytest.mark.django_db
def test_the_oldest_case_is_handed_out_first_and_nothing_when_the_queue_is_empty():
    first, second = in_review_case(), in_review_case()
    QueueEntry.objects.filter(case=second).update(
        entered_at=QueueEntry.objects.get(case=first).entered_at - timedelta(hours=1)
    )
    assert reviews.claim_next(reviewer()).case == second
    assert reviews.claim_next(reviewer()).case == first
    assert reviews.claim_next(reviewer()) is None


@pytest.mark.django_db
def test_an_urgent_case_goes_first():
    old, new = in_review_case(), in_review_case()
    reviews.mark_urgent(
        QueueEntry.objects.get(case=new), curator=curator(), urgent=True, reason="Teaching set"
    )
    assert reviews.claim_next(reviewer()).case == new
    assert "marked_urgent" in review_actions(new)
    assert reviews.claim_next(reviewer()).case == old


@pytest.mark.django_db
def test_only_curators_mark_a_case_urgent():
    entry = QueueEntry.objects.get(case=in_review_case())
    with pytest.raises(PermissionDenied):
        reviews.mark_urgent(entry, curator=reviewer(), urgent=True)
    with pytest.raises(ValidationError) as raised:
        reviews.mark_urgent(entry, curator=curator(), urgent="yes")
    assert "urgent" in errors_of(raised)


@pytest.mark.django_db
def test_a_reviewer_is_never_handed_a_case_of_a_site_they_belong_to():
    clinic = make_site()
    in_review_case(site=clinic)
    member = reviewer(clinic)  # a reviewer who also contributes at the clinic
    lead = reviewer()
    site_services.add_site_member(site=clinic, user=lead, role="site_lead")
    assert reviews.claim_next(member) is None
    assert reviews.claim_next(lead) is None
    assert reviews.claim_next(reviewer()) is not None


@pytest.mark.django_db
def test_one_case_at_a_time_and_never_held_by_two():
    in_review_case(), in_review_case()
    alice, bob = reviewer(), reviewer()
    first = reviews.claim_next(alice)
    assert first.newly_claimed
    again = reviews.claim_next(alice)
    assert again.pk == first.pk and not again.newly_claimed
    second = reviews.claim_next(bob)
    assert second.case != first.case
    assert reviews.claim_next(reviewer()) is None  # both cases are held


@pytest.mark.django_db
def test_a_case_is_never_reviewed_twice_by_the_same_person():
    case = in_review_case()
    alice = reviewer()
    accept(reviews.claim_next(alice))
    assert reviews.claim_next(alice) is None  # the second review is someone else's
    second = reviews.claim_next(reviewer())
    assert second.case == case
    assert second.entry.reviews_done == 1


@pytest.mark.django_db
def test_a_claim_expires_and_the_case_goes_back_to_the_queue(settings):
    settings.REVIEW_CLAIM_MINUTES = 15
    in_review_case()
    alice, bob = reviewer(), reviewer()
    review = reviews.claim_next(alice)
    assert review.claim_expires - review.claimed_at == timedelta(minutes=15)
    assert reviews.claim_next(bob) is None
    Review.objects.filter(pk=review.pk).update(claim_expires=timezone.now() - timedelta(seconds=1))
    taken = reviews.claim_next(bob)
    assert taken is not None and taken.entry_id == review.entry_id
    review.refresh_from_db()
    assert review.status == ReviewStatus.EXPIRED
    with pytest.raises(PermissionDenied):
        accept(review)  # an expired claim decides nothing


@pytest.mark.django_db
def test_expire_claims_ends_only_the_overdue_ones():
    in_review_case(), in_review_case()
    overdue, fresh = reviews.claim_next(reviewer()), reviews.claim_next(reviewer())
    Review.objects.filter(pk=overdue.pk).update(claim_expires=timezone.now() - timedelta(seconds=1))
    assert reviews.expire_claims() == 1
    assert reviews.expire_claims() == 0
    overdue.refresh_from_db(), fresh.refresh_from_db()
    assert (overdue.status, fresh.status) == (ReviewStatus.EXPIRED, ReviewStatus.CLAIMED)


@pytest.mark.django_db
def test_a_released_case_goes_to_the_next_reviewer_and_is_in_the_history():
    case = in_review_case()
    alice, bob = reviewer(), reviewer()
    review = reviews.claim_next(alice)
    with pytest.raises(PermissionDenied):
        reviews.release(review, actor=bob)
    reviews.release(review, actor=alice)
    review.refresh_from_db()
    assert review.status == ReviewStatus.RELEASED
    assert reviews.claim_next(bob).case == case
    assert review_actions(case) == ["claimed", "released", "claimed"]
    with pytest.raises(ValidationError):
        reviews.release(review, actor=alice)  # no longer held


@pytest.mark.django_db
def test_a_reviewer_who_released_a_case_gets_the_others_first_but_may_get_it_again():
    first, second = in_review_case(), in_review_case()
    alice = reviewer()
    review = reviews.claim_next(alice)
    assert review.case == first
    reviews.release(review, actor=alice)
    assert reviews.claim_next(alice).case == second
    reviews.release(selectors.current_claim(alice), actor=alice)
    Review.objects.filter(reviewer=alice).delete()
    assert reviews.claim_next(alice).case == first


@pytest.mark.django_db
def test_the_hand_out_takes_the_same_number_of_queries_whatever_the_queue():
    alice = reviewer()

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            review = reviews.claim_next(alice)
        reviews.release(review, actor=alice)
        Review.objects.filter(pk=review.pk).delete()
        return len(captured)

    in_review_case()
    queries()  # the reviewer's roles are read once, then kept on the user
    few = queries()
    for _ in range(8):
        in_review_case()
    assert queries() == few


@pytest.mark.django_db
def test_the_hand_out_leaves_out_the_urgent_and_returning_tiers_only_when_they_are_empty():
    """claim_next learns, with the reviewer's lock, whether any entry is urgent and whether any
    later round waits on a case the reviewer reviewed; an empty tier is not queried, a possibly
    full one always is."""
    from curation.services.reviews import _lock_reviewer

    alice, bob = reviewer(), reviewer()
    first = in_review_case()
    assert _lock_reviewer(alice) == (False, False)
    assert len(list(selectors.handout_tiers(alice, urgent=False, returning=False))) == 2
    assert len(list(selectors.handout_tiers(alice))) == 4

    second = in_review_case()
    reviews.mark_urgent(QueueEntry.objects.get(case=second), curator=curator(), urgent=True)
    assert _lock_reviewer(alice) == (True, False)
    assert reviews.claim_next(alice).case == second  # the urgent tier was queried

    # Carol and Bob review the first case (Alice holds the second), Bob returns it; it is fixed
    # and resubmitted: round 2 waits.
    accept(reviews.claim_next(reviewer()))
    return_(reviews.claim_next(bob))
    first.refresh_from_db()
    assert first.state == CaseState.RETURNED
    to_review(first)
    assert _lock_reviewer(bob)[1] is True
    assert _lock_reviewer(alice)[1] is False  # she never reviewed it
    assert reviews.claim_next(bob).case == first


# --- blinding ---------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_reviewer_sees_only_their_own_review():
    case = in_review_case(images=True)
    alice, bob = reviewer(), reviewer()
    first = reviews.claim_next(alice)
    image = case.images.first()
    reviews.add_flag(first, image=image, reason="blood")
    reviews.add_outline(first, image=image, kind="lesion", points=[[1, 1], [50, 1], [25, 40]])
    reject(first)
    second = reviews.claim_next(bob)
    assert second.case == case
    assert selectors.own_review(bob, first.pk) is None
    assert selectors.own_review(alice, first.pk) == first
    assert list(selectors.own_flags(second)) == [] and list(selectors.own_outlines(second)) == []
    assert selectors.reviews_of(bob, second.entry) == []
    assert [review.pk for review in selectors.reviews_of(curator(), second.entry)] == [first.pk]


# --- flags and outlines -----------------------------------------------------------------------


@pytest.mark.django_db
def test_flags_are_checked_recorded_and_removed():
    case = in_review_case(images=True)
    image = case.images.get(step="after_lugol")
    review = reviews.claim_next(reviewer())
    flag = reviews.add_flag(
        review, image=image.pk, reason="wrong_step", correct_step="after_acetic_acid"
    )
    assert flag.correct_step == "after_acetic_acid"
    for bad, field in (
        ({"reason": "smudge"}, "reason"),
        ({"reason": "wrong_step"}, "correct_step"),
        ({"reason": "wrong_step", "correct_step": "after_lugol"}, "correct_step"),
        ({"reason": "blood", "correct_step": "after_lugol"}, "correct_step"),
        ({"reason": "blood", "note": "x" * 501}, "note"),
    ):
        with pytest.raises(ValidationError) as raised:
            reviews.add_flag(review, image=image, **bad)
        assert field in errors_of(raised)
    stranger = in_review_case(images=True).images.first()
    with pytest.raises(ValidationError) as raised:
        reviews.add_flag(review, image=stranger, reason="blood")
    assert "image" in errors_of(raised)
    with pytest.raises(PermissionDenied):
        reviews.add_flag(review, image=image, reason="blood", actor=reviewer())
    reviews.remove_flag(review, flag_id=flag.pk)
    assert not ImageFlag.objects.exists()
    assert review_actions(case)[-2:] == ["flag_added", "flag_removed"]


@pytest.mark.django_db
def test_outlines_are_polygons_inside_the_image():
    case = in_review_case(images=True)
    image = case.images.first()
    review = reviews.claim_next(reviewer())
    outline = reviews.add_outline(
        review, image=image, kind="lesion", points=[[10, 10], [100.5, 10], [60, 90]]
    )
    assert outline.points == [[10.0, 10.0], [100.5, 10.0], [60.0, 90.0]]
    for points in (
        [[1, 1], [2, 2]],
        [[1, 1], [2, 2], [image.width + 1, 3]],
        [[1, 1], [2, "x"], [3, 3]],
        [[1, 1], [1, 1], [1, 1]],
        [[1, 1], [2, 2], [float("nan"), 3]],
        "not a list",
    ):
        with pytest.raises(ValidationError) as raised:
            reviews.add_outline(review, image=image, kind="lesion", points=points)
        assert "points" in errors_of(raised)
    with pytest.raises(ValidationError) as raised:
        reviews.add_outline(review, image=image, kind="tumour", points=[[1, 1], [5, 1], [3, 4]])
    assert "kind" in errors_of(raised)
    reviews.remove_outline(review, outline_id=outline.pk)
    assert not Outline.objects.exists()
    assert review_actions(case)[-2:] == ["outline_added", "outline_removed"]


# --- decisions --------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_decision_is_validated_and_names_the_fields():
    case = in_review_case(images=True)
    review = reviews.claim_next(reviewer())
    cases = [
        ({"decision": "maybe"}, "decision"),
        ({"decision": "reject", "reasons": []}, "reasons"),
        ({"decision": "reject", "reasons": ["bad_vibes"]}, "reasons"),
        ({"decision": "return", "reasons": ["poor_quality"], "message": " "}, "message"),
        ({"decision": "accept", "eligibility": {"nonsense": True}}, "eligibility"),
        (
            {"decision": "accept", "eligibility": {**accept_answers(), "consent": "yes"}},
            "eligibility",
        ),
        ({"decision": "accept", "excluded_images": [999999]}, "excluded_images"),
        ({"decision": "accept", "label_opinions": {"age_at_exam": 30}}, "label_opinions"),
        (
            {"decision": "accept", "label_opinions": {"transformation_zone": "type_9"}},
            "label_opinions",
        ),
        ({"decision": "accept", "label_opinions": {"swede_total": 11}}, "label_opinions"),
    ]
    for values, field in cases:
        values = {"eligibility": accept_answers(), **values}
        with pytest.raises(ValidationError) as raised:
            reviews.decide(review, **values)
        assert field in errors_of(raised), (values, errors_of(raised))
    with pytest.raises(ValidationError) as raised:
        reviews.decide(review, decision="accept", eligibility={"nonsense": True, "other": False})
    assert "nonsense" in str(errors_of(raised)["eligibility"])
    review.refresh_from_db()
    assert review.status == ReviewStatus.CLAIMED
    assert case.state == CaseState.IN_REVIEW


@pytest.mark.django_db
def test_the_checklist_blocks_an_acceptance_and_names_the_unmet_items():
    in_review_case()
    review = reviews.claim_next(reviewer())
    answers = {**accept_answers(), "cervix_in_view": False}
    del answers["consent"]
    with pytest.raises(ValidationError) as raised:
        reviews.decide(review, decision="accept", eligibility=answers)
    message = str(errors_of(raised)["eligibility"])
    assert "The cervix fully in view" in message and "Research consent" in message
    assert "squamocolumnar" not in message
    # An item that is not required does not block it.
    EligibilityItem.objects.filter(code__in=["cervix_in_view", "consent"]).update(required=False)
    reviews.decide(review, decision="accept", eligibility=answers)
    review.refresh_from_db()
    assert review.status == ReviewStatus.SUBMITTED and review.eligibility == answers


@pytest.mark.django_db
def test_only_the_claim_holder_decides():
    in_review_case()
    review = reviews.claim_next(reviewer())
    with pytest.raises(PermissionDenied):
        accept(review, actor=reviewer())
    accept(review)
    with pytest.raises(PermissionDenied):
        accept(review)  # submitted: no second decision


# --- consensus --------------------------------------------------------------------------------


def two_reviews(case, first, second):
    """Two reviewers' decisions on `case` (each a function of the review)."""
    first(reviews.claim_next(reviewer()))
    second_review = reviews.claim_next(reviewer())
    assert second_review.case == case
    second(second_review)
    case.refresh_from_db()
    return QueueEntry.objects.get(case=case, round=second_review.entry.round)


@pytest.mark.django_db
def test_two_acceptances_accept_the_case_with_the_images_they_exclude():
    site = make_site()
    contributor = make_contributor(site)
    case = in_review_case(site=site, contributor=contributor, images=True)
    blurred, other = case.images.all()[:2]

    def first(review):
        reviews.add_flag(review, image=blurred, reason="out_of_focus")
        accept(review, excluded_images=[blurred.pk])

    def second(review):
        accept(review, excluded_images=[other.pk])

    entry = two_reviews(case, first, second)
    assert case.state == CaseState.ACCEPTED
    assert (entry.status, entry.outcome, entry.reviews_done) == (
        EntryStatus.DECIDED,
        CaseState.ACCEPTED,
        2,
    )
    exclusions = {e.image_id: e.reasons for e in ImageExclusion.objects.all()}
    assert exclusions == {blurred.pk: ["out_of_focus"], other.pk: []}
    assert Notice.objects.filter(user=contributor, case=case, kind="accepted").exists()
    assert "round_decided" in review_actions(case)


@pytest.mark.django_db
def test_two_rejections_reject_the_case_with_the_reasons():
    case = in_review_case()
    entry = two_reviews(case, reject, lambda r: reject(r, reasons=["duplicate", "poor_quality"]))
    assert case.state == CaseState.REJECTED and entry.outcome == CaseState.REJECTED
    transition = CaseEvent.objects.filter(case=case, kind=CaseEvent.Kind.TRANSITION).last()
    assert transition.reason == ("Image quality too poor; Duplicate of images already in the bank")
    assert transition.actor is None  # the consensus, not one reviewer, decided


@pytest.mark.django_db
def test_one_return_returns_the_case_with_the_messages():
    contributor_site = make_site()
    contributor = make_contributor(contributor_site)
    case = in_review_case(site=contributor_site, contributor=contributor)
    entry = two_reviews(case, accept, lambda r: return_(r, message="Retake after Lugol."))
    assert case.state == CaseState.RETURNED and entry.outcome == CaseState.RETURNED
    transition = CaseEvent.objects.filter(case=case, kind=CaseEvent.Kind.TRANSITION).last()
    assert transition.reason == "Retake after Lugol."
    notice = Notice.objects.get(user=contributor, case=case)
    assert notice.kind == "returned" and notice.message == "Retake after Lugol."


@pytest.mark.django_db
def test_different_decisions_go_to_adjudication_and_the_curator_decides():
    case = in_review_case(images=True)
    boss = curator()
    entry = two_reviews(case, accept, reject)
    assert case.state == CaseState.IN_REVIEW
    assert entry.status == EntryStatus.ADJUDICATION
    assert entry.disagreement["decision"] == ["accept", "reject"]
    assert len(entry.disagreement["reviews"]) == 2
    assert Notice.objects.filter(user=boss, kind="adjudication").exists()
    assert reviews.claim_next(reviewer()) is None  # not handed out again

    with pytest.raises(PermissionDenied):
        reviews.adjudicate(entry, curator=reviewer(), decision="accept")
    with pytest.raises(ValidationError) as raised:
        reviews.adjudicate(entry, curator=boss, decision="reject")
    assert "reasons" in errors_of(raised)
    image = case.images.first()
    adjudication = reviews.adjudicate(
        entry,
        curator=boss,
        decision="accept",
        message="The blood is minor.",
        label_values={"transformation_zone": "type_2"},
        excluded_images=[image.pk],
    )
    case.refresh_from_db()
    entry.refresh_from_db()
    assert case.state == CaseState.ACCEPTED
    assert (entry.status, entry.outcome) == (EntryStatus.DECIDED, CaseState.ACCEPTED)
    assert Adjudication.objects.get(entry=entry) == adjudication
    assert adjudication.label_values == {"transformation_zone": "type_2"}
    assert ImageExclusion.objects.get().image == image
    assert "adjudicated" in review_actions(case)
    with pytest.raises(ValidationError):
        reviews.adjudicate(entry, curator=boss, decision="accept")  # final


@pytest.mark.django_db
def test_a_label_the_reviewers_disagree_on_goes_to_adjudication():
    case = in_review_case(transformation_zone="type_1")
    entry = two_reviews(
        case,
        lambda r: accept(r, label_opinions={"transformation_zone": "type_3"}),
        accept,  # no opinion: the contributor's type 1
    )
    assert entry.status == EntryStatus.ADJUDICATION
    assert entry.disagreement["labels"] == {"transformation_zone": ["type_3", "type_1"]}
    assert "decision" not in entry.disagreement


@pytest.mark.django_db
def test_labels_agree_within_their_rule():
    case = in_review_case()
    entry = two_reviews(
        case,
        lambda r: accept(r, label_opinions={"swede_total": 4, "scj_visibility": ""}),
        lambda r: accept(r, label_opinions={"swede_total": 5}),
    )
    assert case.state == CaseState.ACCEPTED and entry.status == EntryStatus.DECIDED


@pytest.mark.django_db
def test_a_reviewers_swede_components_give_their_total():
    case = in_review_case()
    review = reviews.claim_next(reviewer())
    opinions = {
        "swede_aceto_uptake": "nil_or_transparent",
        "swede_margins": "nil_or_diffuse",
        "swede_vessels": "fine_regular",
        "swede_lesion_size": "lt_5mm",
        "swede_iodine_uptake": "brown",
    }
    with pytest.raises(ValidationError) as raised:
        accept(review, label_opinions={**opinions, "swede_total": 7})
    assert "label_opinions" in errors_of(raised)
    accept(review, label_opinions=opinions)
    review.refresh_from_db()
    assert review.label_opinions["swede_total"] == 0
    assert case.pk == review.case_id


@pytest.mark.django_db
def test_a_returned_case_resubmitted_comes_back_to_its_reviewers_first():
    site = make_site()
    contributor = make_contributor(site)
    case = in_review_case(site=site, contributor=contributor)
    alice, bob, carol = reviewer(), reviewer(), reviewer()
    accept(reviews.claim_next(alice))
    return_(reviews.claim_next(bob))
    case.refresh_from_db()
    assert case.state == CaseState.RETURNED
    older = in_review_case()  # entered before the resubmission

    # The contributor fixes it and resubmits; the checks run again and it re-enters the queue.
    case_services.update_case(case=case, actor=contributor, values={"notes": "Retaken."})
    to_review(case)
    round_2 = QueueEntry.objects.get(case=case, status=EntryStatus.WAITING)
    assert round_2.round == 2
    assert reviews.claim_next(carol).case == older  # a new reviewer: the oldest first
    assert reviews.claim_next(bob).case == case  # a reviewer of round 1: their case first
    history = [e.kind for e in CaseEvent.objects.filter(case=case)]
    assert history.count(CaseEvent.Kind.TRANSITION) == 7  # 3 + return + 3


@pytest.mark.django_db
def test_three_reviews_when_the_settings_ask_for_three(settings):
    settings.REVIEWS_REQUIRED = 3
    case = in_review_case()
    for _ in range(2):
        accept(reviews.claim_next(reviewer()))
    case.refresh_from_db()
    assert case.state == CaseState.IN_REVIEW
    accept(reviews.claim_next(reviewer()))
    case.refresh_from_db()
    assert case.state == CaseState.ACCEPTED


# --- the checklist's pre-filled answers -------------------------------------------------------


@pytest.mark.django_db
def test_the_checklist_prefills_from_the_checks_and_the_case(django_capture_on_commit_callbacks):
    from curation import eligibility
    from curation.models import CheckResult

    site = make_site()
    contributor = make_contributor(site)
    case = make_case(site=site, actor=contributor, provisional_diagnosis="hsil")
    images = add_core_images(case, contributor)
    to_review(case)
    CheckResult.objects.create(
        case=case, check_name="sequence_complete", version="1", verdict="pass"
    )
    for image in images:
        CheckResult.objects.create(
            case=case, image=image, check_name="framing", version="1", verdict="pass"
        )
    items = {item["code"]: item for item in eligibility.checklist(case)}
    assert list(items) == [
        "consent",
        "core_steps_usable",
        "tz_or_scj_seen",
        "cervix_in_view",
        "histology_or_reason",
    ]
    assert items["consent"]["prefilled"] is None  # the bank records no attestation
    assert items["core_steps_usable"]["prefilled"] is True
    assert items["tz_or_scj_seen"]["prefilled"] is None
    assert items["cervix_in_view"]["prefilled"] is True
    assert items["histology_or_reason"]["prefilled"] is False  # HSIL, no histopathology
    assert items["cervix_in_view"]["label"] == "The cervix fully in view"
    assert items["consent"]["required"] is True

    CheckResult.objects.filter(image=images[0], check_name="framing").update(verdict="fail")
    case_services_update = {"histopathology_text": "Not done: lost to follow-up"}
    type(case).objects.filter(pk=case.pk).update(**case_services_update)
    case.refresh_from_db()
    items = {item["code"]: item for item in eligibility.checklist(case)}
    assert items["cervix_in_view"]["prefilled"] is False
    assert items["histology_or_reason"]["prefilled"] is True


@pytest.mark.django_db
def test_a_default_item_label_is_translated_and_a_curators_wording_kept():
    from django.utils import translation

    from curation import eligibility

    item = EligibilityItem.objects.get(code="cervix_in_view")
    with translation.override("fr"):
        translated = eligibility.item_label(item)
    assert translated  # the French catalogue's wording, or the English until it has one
    item.label = "Col entier visible"
    assert eligibility.item_label(item) == "Col entier visible"


@pytest.mark.django_db
def test_the_queue_page_counts_up_to_the_cap(monkeypatch):
    from curation import review_selectors

    monkeypatch.setattr(review_selectors, "AVAILABLE_COUNT_CAP", 2)
    for _ in range(4):
        in_review_case()
    someone = reviewer()
    assert review_selectors.available_count(someone) == 3  # the cap + 1: "more than 2"
    from django.test import Client

    client = Client()
    client.force_login(someone)
    page = client.get("/review/").content.decode()
    assert "More than 2 cases wait for you." in page and 'data-available="3"' in page
