"""The case lifecycle through the services: transitions, their audit trail and signal, and
submitting a case for review (what it needs, and the quality checks that follow)."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from imagebank import hooks
from imagebank.lifecycle import CaseState, IllegalTransition
from imagebank.models import Case, CaseEvent, ProcessingStatus
from imagebank.services import cases as case_services
from tests.factories import (
    add_image,
    make_contributor,
    make_site,
    make_user_with_role,
)
from tests.imagebank.case_support import (
    create,
    field_errors,
    kinds,
    processed_draft,
    submit_through_checks,
)
from tests.roles import Role


@pytest.fixture
def processed_case(site, contributor):
    return processed_draft(site, contributor)


# --- transition_case ------------------------------------------------------------------------


@pytest.fixture
def in_review_case(processed_case, contributor, django_capture_on_commit_callbacks):
    return submit_through_checks(processed_case, contributor, django_capture_on_commit_callbacks)


@pytest.mark.django_db
def test_a_transition_is_written_to_the_audit_trail(in_review_case):
    reviewer = make_user_with_role(Role.REVIEWER)
    case_services.transition_case(
        case=in_review_case, to_state=CaseState.REJECTED, actor=reviewer, reason="Out of focus."
    )
    in_review_case.refresh_from_db()
    assert in_review_case.state == CaseState.REJECTED
    event = CaseEvent.objects.filter(case=in_review_case).last()
    assert event.kind == CaseEvent.Kind.TRANSITION
    assert event.actor == reviewer
    assert (event.from_state, event.to_state) == (CaseState.IN_REVIEW, CaseState.REJECTED)
    assert event.reason == "Out of focus."


@pytest.mark.django_db
@pytest.mark.parametrize("to_state", [CaseState.RETURNED, CaseState.REJECTED])
@pytest.mark.parametrize("reason", ["", "   \n"])
def test_returning_or_rejecting_needs_a_reason(in_review_case, to_state, reason):
    events = CaseEvent.objects.filter(case=in_review_case).count()
    with pytest.raises(ValidationError) as raised:
        case_services.transition_case(case=in_review_case, to_state=to_state, reason=reason)
    assert "reason" in field_errors(raised)
    in_review_case.refresh_from_db()
    assert in_review_case.state == CaseState.IN_REVIEW
    assert CaseEvent.objects.filter(case=in_review_case).count() == events


@pytest.mark.django_db
def test_accepting_needs_no_reason(in_review_case):
    case = case_services.transition_case(case=in_review_case, to_state=CaseState.ACCEPTED)
    assert case.state == CaseState.ACCEPTED
    assert CaseEvent.objects.filter(case=case).last().actor is None


@pytest.mark.django_db
def test_every_transition_sends_the_case_transitioned_signal(in_review_case):
    received = []

    def receiver(sender, case, from_state, to_state, **kwargs):
        received.append((case.pk, from_state, to_state))

    hooks.case_transitioned.connect(receiver)
    try:
        case_services.transition_case(case=in_review_case, to_state=CaseState.ACCEPTED)
    finally:
        hooks.case_transitioned.disconnect(receiver)
    assert received == [(in_review_case.pk, CaseState.IN_REVIEW, CaseState.ACCEPTED)]


@pytest.mark.django_db
def test_an_illegal_transition_is_refused(site, contributor):
    case = create(site, contributor)
    with pytest.raises(IllegalTransition):
        case_services.transition_case(case=case, to_state=CaseState.ACCEPTED)


# --- submit_case ----------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_case_without_images_cannot_be_submitted(site, contributor):
    case = create(site, contributor)
    with pytest.raises(ValidationError):
        case_services.submit_case(case=case, actor=contributor)
    case.refresh_from_db()
    assert case.state == CaseState.DRAFT


@pytest.mark.django_db
def test_a_case_with_an_unprocessed_image_cannot_be_submitted(site, contributor):
    case = create(site, contributor)
    image = add_image(case, contributor)  # its processing is queued on commit, never run here
    assert image.processing_status == ProcessingStatus.PENDING
    with pytest.raises(ValidationError):
        case_services.submit_case(case=case, actor=contributor)
    case.refresh_from_db()
    assert case.state == CaseState.DRAFT


@pytest.mark.django_db
def test_a_case_with_a_failed_image_cannot_be_submitted(processed_case, contributor):
    failed = add_image(processed_case, contributor, seed=1)
    type(failed).objects.filter(pk=failed.pk).update(
        processing_status=ProcessingStatus.FAILED, processing_error="broken"
    )
    with pytest.raises(ValidationError):
        case_services.submit_case(case=processed_case, actor=contributor)
    processed_case.refresh_from_db()
    assert processed_case.state == CaseState.DRAFT


@pytest.mark.django_db
def test_only_the_sites_contributor_may_submit(processed_case):
    for actor in (make_contributor(make_site()), make_user_with_role(Role.REVIEWER)):
        with pytest.raises(PermissionDenied):
            case_services.submit_case(case=processed_case, actor=actor)
    processed_case.refresh_from_db()
    assert processed_case.state == CaseState.DRAFT


@pytest.mark.django_db
def test_submit_runs_quality_checks_and_hands_the_case_to_review(
    processed_case, contributor, django_capture_on_commit_callbacks
):
    case = submit_through_checks(processed_case, contributor, django_capture_on_commit_callbacks)
    assert case.state == CaseState.IN_REVIEW
    assert case.submitted_at is not None
    transitions = list(
        CaseEvent.objects.filter(case=case, kind=CaseEvent.Kind.TRANSITION).values_list(
            "from_state", "to_state", "actor"
        )
    )
    assert transitions == [
        (CaseState.DRAFT, CaseState.SUBMITTED, contributor.pk),
        (CaseState.SUBMITTED, CaseState.QUALITY_CHECKS, None),
        (CaseState.QUALITY_CHECKS, CaseState.IN_REVIEW, None),
    ]


@pytest.mark.django_db
def test_submit_alone_leaves_the_case_submitted_until_commit(processed_case, contributor):
    case = case_services.submit_case(case=processed_case, actor=contributor)
    case.refresh_from_db()
    assert case.state == CaseState.SUBMITTED
    assert case.submitted_at is not None


@pytest.mark.django_db
def test_a_case_cannot_be_submitted_twice(
    processed_case, contributor, django_capture_on_commit_callbacks
):
    submit_through_checks(processed_case, contributor, django_capture_on_commit_callbacks)
    with pytest.raises(IllegalTransition):
        case_services.submit_case(case=processed_case, actor=contributor)


@pytest.mark.django_db
def test_a_returned_case_can_be_resubmitted(
    in_review_case, contributor, django_capture_on_commit_callbacks
):
    returned = case_services.transition_case(
        case=in_review_case, to_state=CaseState.RETURNED, reason="Add the Lugol image."
    )
    case = submit_through_checks(returned, contributor, django_capture_on_commit_callbacks)
    assert case.state == CaseState.IN_REVIEW
    assert kinds(case).count(CaseEvent.Kind.TRANSITION) == 7  # 3 + return + 3


@pytest.mark.django_db
def test_submit_decides_on_the_stored_state_not_a_stale_object(
    in_review_case, contributor, django_capture_on_commit_callbacks
):
    stale = Case.objects.get(pk=in_review_case.pk)
    case_services.transition_case(
        case=in_review_case, to_state=CaseState.RETURNED, reason="Add the Lugol image."
    )
    case = submit_through_checks(stale, contributor, django_capture_on_commit_callbacks)
    assert case.state == CaseState.IN_REVIEW


@pytest.fixture
def recording_check():
    """A quality check registered for one test and removed afterwards."""
    seen = []

    def check(case):
        seen.append((case.pk, case.state))

    hooks.register_quality_check(check)
    yield seen
    hooks._quality_checks.remove(check)


@pytest.mark.django_db
def test_registered_quality_checks_are_called_with_the_case(
    processed_case, contributor, recording_check, django_capture_on_commit_callbacks
):
    submit_through_checks(processed_case, contributor, django_capture_on_commit_callbacks)
    assert recording_check == [(processed_case.pk, CaseState.QUALITY_CHECKS)]


def test_registering_a_check_twice_keeps_one():
    def check(case):
        return None

    try:
        assert hooks.register_quality_check(check) is check
        hooks.register_quality_check(check)
        assert hooks.quality_checks().count(check) == 1
    finally:
        hooks._quality_checks.remove(check)
    assert check not in hooks.quality_checks()
