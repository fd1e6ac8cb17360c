"""Access requests and the committee through their services (access_requests.services.requests):
the state machine and its history, drafting and editing, what a submission needs, the
committee's rules (who votes, scores, quorum and majority, rounds) and what the requester reads.

The helpers at the top (make_group, published_version, submitted_request, vote…) are shared with
test_grants.py. Groups, members and signatures are made directly with the models: their services
are tested in test_groups.py and test_agreements.py."""

import hashlib
from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from access_requests import request_selectors as selectors
from access_requests.lifecycle import TRANSITIONS, RequestState
from access_requests.models import (
    AccessRequest,
    AgreementSignature,
    CommitteeReview,
    DataUseAgreement,
    Grant,
    GroupKind,
    GroupMember,
    MemberRole,
    RequestTransition,
    ResearchGroup,
)
from access_requests.services import requests as services
from curation.models import Release, ReleaseState, ReleaseVersion
from tests.factories import UserFactory, make_user_with_role
from tests.roles import Role

pytestmark = pytest.mark.django_db

# --- helpers shared with test_grants.py ---------------------------------------------------------


def make_group(kind=GroupKind.ACADEMIC, pi=None):
    pi = pi or UserFactory()
    group = ResearchGroup.objects.create(
        name="Cervical screening AI",
        institution="University of Nairobi",
        country="KE",
        kind=kind,
        principal_investigator=pi,
        signing_official_name="A. Official",
        signing_official_email="official@example.org",
    )
    GroupMember.objects.create(group=group, user=pi, role=MemberRole.PRINCIPAL_INVESTIGATOR)
    return group


def add_member(group, user=None):
    user = user or UserFactory()
    GroupMember.objects.create(group=group, user=user)
    return user


def published_version(version="1.0.0", slug="", state=ReleaseState.PUBLISHED):
    """A version of the release `slug` (by default a release of its own)."""
    published_version.counter = getattr(published_version, "counter", 0) + 1
    slug = slug or f"cervix-bank-{published_version.counter}"
    user = UserFactory()
    release, _ = Release.objects.get_or_create(
        slug=slug, defaults={"title": "Cervix bank", "created_by": user}
    )
    return ReleaseVersion.objects.create(
        release=release,
        version=version,
        state=state,
        description="A release.",
        licence_name="CC BY-NC 4.0",
        citation="The bank, 2026.",
        fractions=[0.7, 0.1, 0.2],
        seed=7,
        near_radius=6,
        created_by=user,
        published_at=timezone.now() if state == ReleaseState.PUBLISHED else None,
    )


def sign(group, user, agreement=None):
    agreement = agreement or DataUseAgreement.objects.get(version=1)
    return AgreementSignature.objects.create(
        agreement=agreement,
        group=group,
        signer=user,
        typed_name=user.full_name or "A Researcher",
        text_sha256=agreement.sha256,
    )


def new_agreement_version(version=2):
    text = f"Data use agreement, version {version}."
    return DataUseAgreement.objects.create(
        version=version,
        title="Data use agreement",
        text=text,
        sha256=hashlib.sha256(text.encode()).hexdigest(),
        in_force_from=timezone.now(),
    )


def pdf(content=b"%PDF-1.4\n% an ethics approval\n%%EOF\n", name="approval.pdf"):
    return SimpleUploadedFile(name, content, content_type="application/pdf")


def draft_request(group=None, requester=None, *, releases=None, accessors=None, **overrides):
    group = group or make_group()
    requester = requester or group.principal_investigator
    values = {
        "releases": releases if releases is not None else [published_version()],
        "project_title": "Triage of VIA images",
        "aims": "Detect CIN2+ from VIA images.",
        "intended_use": "Train and validate a classifier.",
        "commercial": False,
        "data_security": "Encrypted disk, access by the named accessors only.",
        "accessors": accessors if accessors is not None else [requester],
        "ethics_committee": "KNH-UoN ERC",
        "ethics_number": "P123/2026",
        "ethics_expiry": timezone.localdate() + timedelta(days=400),
        "ethics_document": pdf(),
    }
    values.update(overrides)
    return services.create_request(group=group, requester=requester, **values)


def submitted_request(group=None, **values):
    request = draft_request(group, **values)
    services.submit_request(
        request, actor=request.requester, signature=sign(request.group, request.requester)
    )
    return request


def committee_member(**fields):
    return make_user_with_role(Role.ACCESS_COMMITTEE, **fields)


GOOD_SCORES = {"scientific_merit": 4, "data_security": 5, "expertise": 4, "ethics": 5}


def vote(request, member, choice="approve", reason="", **values):
    if choice in ("reject", "changes") and not reason:
        reason = f"Reason of {member.email}."
    return services.review_request(
        request, member=member, scores=GOOD_SCORES, vote=choice, reason=reason, **values
    )


def approved_request(**values):
    request = submitted_request(**values)
    vote(request, committee_member())
    vote(request, committee_member())
    request.refresh_from_db()
    assert request.state == RequestState.APPROVED
    return request


def errors_of(raised) -> dict:
    return raised.value.message_dict


# --- the state machine --------------------------------------------------------------------------


ALLOWED = sorted((source, target) for source, targets in TRANSITIONS.items() for target in targets)


@pytest.mark.parametrize(("source", "target"), ALLOWED)
def test_every_allowed_transition_is_made_and_written_to_the_history(source, target):
    request = draft_request()
    AccessRequest.objects.filter(pk=request.pk).update(state=source)
    actor = committee_member()
    services.transition_request(request, to_state=target, actor=actor, reason="Because.")
    request.refresh_from_db()
    assert request.state == target
    step = RequestTransition.objects.get(request=request)
    assert (step.from_state, step.to_state, step.actor, step.reason) == (
        source,
        target,
        actor,
        "Because.",
    )


@pytest.mark.parametrize(
    ("source", "target"),
    [
        (RequestState.DRAFT, RequestState.APPROVED),
        (RequestState.SUBMITTED, RequestState.DRAFT),
        (RequestState.REJECTED, RequestState.SUBMITTED),
        (RequestState.APPROVED, RequestState.SUBMITTED),
        (RequestState.REVOKED, RequestState.APPROVED),
    ],
)
def test_a_transition_outside_the_machine_is_refused_and_leaves_no_trace(source, target):
    request = draft_request()
    AccessRequest.objects.filter(pk=request.pk).update(state=source)
    with pytest.raises(ValidationError) as raised:
        services.transition_request(request, to_state=target, actor=None, reason="x")
    assert "state" in errors_of(raised)
    request.refresh_from_db()
    assert request.state == source and not request.history.exists()


@pytest.mark.parametrize(
    "target", [RequestState.REJECTED, RequestState.CHANGES_REQUESTED, RequestState.REVOKED]
)
def test_rejection_changes_and_revocation_need_a_reason(target):
    request = draft_request()
    source = RequestState.APPROVED if target == RequestState.REVOKED else RequestState.SUBMITTED
    AccessRequest.objects.filter(pk=request.pk).update(state=source)
    with pytest.raises(ValidationError) as raised:
        services.transition_request(request, to_state=target, actor=None, reason="  ")
    assert "reason" in errors_of(raised)
    request.refresh_from_db()
    assert request.state == source


def test_a_decision_records_its_time_and_reason_and_a_resubmission_clears_them():
    request = submitted_request()
    assert request.submitted_at is not None and request.decided_at is None
    services.transition_request(
        request, to_state=RequestState.CHANGES_REQUESTED, actor=None, reason="Add the DPIA."
    )
    request.refresh_from_db()
    assert request.decision_reason == "Add the DPIA." and request.decided_at is not None
    services.transition_request(request, to_state=RequestState.SUBMITTED, actor=None)
    request.refresh_from_db()
    assert (request.decision_reason, request.decided_at) == ("", None)
    assert list(request.history.values_list("to_state", flat=True)) == [
        RequestState.SUBMITTED,
        RequestState.CHANGES_REQUESTED,
        RequestState.SUBMITTED,
    ]


# --- drafting and editing -----------------------------------------------------------------------


def test_a_member_drafts_a_request_with_the_ethics_approval_stored_under_its_hash():
    group = make_group()
    member = add_member(group)
    version = published_version()
    request = draft_request(group, member, releases=[version], accessors=[member])
    assert request.state == RequestState.DRAFT
    assert list(request.releases.all()) == [version]
    assert list(request.accessors.all()) == [member]
    key = request.ethics_document.name
    assert key.startswith("ethics/") and key.endswith(".pdf")
    with default_storage.open(key, "rb") as handle:
        assert handle.read().startswith(b"%PDF-")


def test_only_a_member_of_the_group_requests_access_for_it():
    with pytest.raises(PermissionDenied):
        draft_request(make_group(), UserFactory())


def test_releases_must_be_published_versions():
    for state in (ReleaseState.BUILT, ReleaseState.DRAFT):
        with pytest.raises(ValidationError) as raised:
            draft_request(releases=[published_version(version="9.9.9", state=state)])
        assert "releases" in errors_of(raised)
        ReleaseVersion.objects.filter(version="9.9.9").delete()
    assert not AccessRequest.objects.exists()


def test_accessors_must_be_members_of_the_group():
    other_group = make_group()
    with pytest.raises(ValidationError) as raised:
        draft_request(accessors=[other_group.principal_investigator])
    assert "accessors" in errors_of(raised)


def test_a_commercial_groups_request_is_commercial():
    request = draft_request(make_group(kind=GroupKind.COMMERCIAL), commercial=False)
    assert request.commercial is True


@pytest.mark.parametrize(
    ("content", "name"),
    [(b"GIF89a not a pdf", "approval.pdf"), (b"%PDF-" + b"0" * (10 * 1024 * 1024), "big.pdf")],
)
def test_the_ethics_approval_must_be_a_pdf_of_at_most_10_mb(content, name):
    with pytest.raises(ValidationError) as raised:
        draft_request(ethics_document=pdf(content, name))
    assert "ethics_document" in errors_of(raised)
    assert not AccessRequest.objects.exists()


def test_the_requester_and_the_pi_edit_a_draft_and_nobody_else_does():
    group = make_group()
    member = add_member(group)
    request = draft_request(group, member)
    services.update_request(request, actor=member, project_title="Better title")
    services.update_request(request, actor=group.principal_investigator, aims="Sharper aims.")
    request.refresh_from_db()
    assert (request.project_title, request.aims) == ("Better title", "Sharper aims.")
    for outsider in (add_member(group), committee_member()):
        with pytest.raises(PermissionDenied):
            services.update_request(request, actor=outsider, aims="Mine.")


def test_a_request_under_review_cannot_be_edited_nor_its_group_changed():
    request = submitted_request()
    with pytest.raises(ValidationError) as raised:
        services.update_request(request, actor=request.requester, aims="Changed.")
    assert "state" in errors_of(raised)
    draft = draft_request()
    with pytest.raises(ValidationError) as raised:
        services.update_request(draft, actor=draft.requester, group=make_group())
    assert "group" in errors_of(raised)


# --- submission ---------------------------------------------------------------------------------


def test_submission_names_every_missing_field_at_once():
    request = draft_request(
        releases=[],
        accessors=[],
        project_title="",
        aims="",
        intended_use="",
        data_security="",
        ethics_committee="",
        ethics_number="",
        ethics_expiry=None,
        ethics_document=None,
    )
    with pytest.raises(ValidationError) as raised:
        services.submit_request(
            request, actor=request.requester, signature=sign(request.group, request.requester)
        )
    assert set(errors_of(raised)) == {
        "project_title",
        "aims",
        "intended_use",
        "data_security",
        "accessors",
        "releases",
        "ethics_committee",
        "ethics_number",
        "ethics_expiry",
        "ethics_document",
    }
    request.refresh_from_db()
    assert request.state == RequestState.DRAFT


def test_an_expired_ethics_approval_is_refused():
    request = draft_request(ethics_expiry=timezone.localdate())
    with pytest.raises(ValidationError) as raised:
        services.submit_request(
            request, actor=request.requester, signature=sign(request.group, request.requester)
        )
    assert list(errors_of(raised)) == ["ethics_expiry"]


def test_submission_needs_the_requesters_signature_of_the_current_agreement_for_the_group():
    group = make_group()
    member = add_member(group)
    request = draft_request(group, member)
    old = sign(group, member)
    new_agreement_version(2)
    someone_elses = sign(
        group, group.principal_investigator, DataUseAgreement.objects.get(version=2)
    )
    other_groups = sign(make_group(), member, DataUseAgreement.objects.get(version=2))
    for signature in (old, someone_elses, other_groups, None):
        with pytest.raises(ValidationError) as raised:
            services.submit_request(request, actor=member, signature=signature)
        assert list(errors_of(raised)) == ["signature"]
    current = sign(group, member, DataUseAgreement.objects.get(version=2))
    services.submit_request(request, actor=member, signature=current)
    request.refresh_from_db()
    assert request.state == RequestState.SUBMITTED and request.signature == current


def test_only_the_requester_submits():
    group = make_group()
    member = add_member(group)
    request = draft_request(group, member)
    with pytest.raises(PermissionDenied):
        services.submit_request(
            request, actor=group.principal_investigator, signature=sign(group, member)
        )


# --- the committee ------------------------------------------------------------------------------


def test_only_committee_members_vote():
    request = submitted_request()
    for user in (UserFactory(), make_user_with_role(Role.CURATOR), request.requester):
        with pytest.raises(PermissionDenied):
            vote(request, user)
    assert not CommitteeReview.objects.exists()


def test_a_committee_member_of_the_requesting_group_cannot_vote_on_it():
    group = make_group()
    insider = add_member(group, committee_member())
    request = submitted_request(group)
    with pytest.raises(PermissionDenied) as raised:
        vote(request, insider)
    assert "cannot vote" in str(raised.value)
    queue = list(selectors.committee_queue(insider))
    assert [(item.pk, item.may_vote) for item in queue] == [(request.pk, False)]
    with pytest.raises(AccessRequest.DoesNotExist):
        selectors.request_for_committee(insider, request.pk)


@pytest.mark.parametrize(
    "scores",
    [
        {"scientific_merit": 4, "data_security": 5, "expertise": 4},  # one missing
        {**GOOD_SCORES, "ethics": 6},
        {**GOOD_SCORES, "ethics": 0},
        {**GOOD_SCORES, "ethics": 3.5},
        {**GOOD_SCORES, "ethics": "5"},
        {**GOOD_SCORES, "ethics": True},
        {**GOOD_SCORES, "charm": 5},
    ],
)
def test_every_criterion_is_scored_with_a_whole_number_from_1_to_5(scores):
    request = submitted_request()
    with pytest.raises(ValidationError) as raised:
        services.review_request(request, member=committee_member(), scores=scores, vote="approve")
    assert all(key.startswith("scores.") for key in errors_of(raised))
    assert not CommitteeReview.objects.exists()


def test_a_rejection_or_a_request_for_changes_needs_a_reason():
    request = submitted_request()
    for choice in ("reject", "changes"):
        with pytest.raises(ValidationError) as raised:
            services.review_request(
                request, member=committee_member(), scores=GOOD_SCORES, vote=choice
            )
        assert "reason" in errors_of(raised)


def test_only_a_submitted_request_is_reviewed():
    request = draft_request()
    with pytest.raises(ValidationError) as raised:
        vote(request, committee_member())
    assert "state" in errors_of(raised)


def test_a_second_vote_in_the_round_replaces_the_first_and_no_quorum_no_decision(settings):
    settings.ACCESS_QUORUM = 2
    request = submitted_request()
    member = committee_member()
    vote(request, member, "reject")
    vote(request, member, "approve", internal_note="On reflection, fine.")
    review = CommitteeReview.objects.get(request=request)
    assert (review.vote, review.internal_note, review.round) == (
        "approve",
        "On reflection, fine.",
        1,
    )
    assert review.scores == GOOD_SCORES and review.reason == ""
    request.refresh_from_db()
    assert request.state == RequestState.SUBMITTED


@pytest.mark.parametrize(
    ("votes", "outcome"),
    [
        (["approve", "approve"], RequestState.APPROVED),
        (["reject", "reject"], RequestState.REJECTED),
        (["approve", "reject"], RequestState.CHANGES_REQUESTED),  # a tie
        (["changes", "changes"], RequestState.CHANGES_REQUESTED),
        (["approve", "changes"], RequestState.CHANGES_REQUESTED),
    ],
)
def test_the_majority_of_the_quorum_decides(settings, votes, outcome):
    settings.ACCESS_QUORUM = 2
    request = submitted_request()
    for choice in votes:
        vote(request, committee_member(), choice)
    request.refresh_from_db()
    assert request.state == outcome
    assert Grant.objects.filter(request=request).exists() == (outcome == RequestState.APPROVED)


def test_a_larger_quorum_waits_and_the_majority_wins(settings):
    settings.ACCESS_QUORUM = 3
    request = submitted_request()
    vote(request, committee_member(), "reject", reason="Security plan is too thin.")
    vote(request, committee_member(), "approve")
    request.refresh_from_db()
    assert request.state == RequestState.SUBMITTED
    vote(request, committee_member(), "reject", reason="No data protection officer named.")
    request.refresh_from_db()
    assert request.state == RequestState.REJECTED
    assert request.decision_reason == (
        "Security plan is too thin.\n\nNo data protection officer named."
    )
    assert request.history.last().reason == request.decision_reason


def test_changes_then_resubmission_opens_a_new_round(settings):
    settings.ACCESS_QUORUM = 2
    request = submitted_request()
    first, second = committee_member(), committee_member()
    vote(request, first, "changes", reason="Name a data protection officer.")
    vote(request, second, "changes", reason="Name a data protection officer.")
    request.refresh_from_db()
    assert request.state == RequestState.CHANGES_REQUESTED
    assert request.decision_reason == "Name a data protection officer."
    with pytest.raises(ValidationError):  # the round is decided: no more votes on it
        vote(request, first, "approve")

    services.update_request(
        request, actor=request.requester, data_security="Encrypted; the DPO is Dr. K."
    )
    services.submit_request(request, actor=request.requester, signature=request.signature)
    assert selectors.current_round(request) == 2
    vote(request, first, "approve")
    request.refresh_from_db()
    assert request.state == RequestState.SUBMITTED  # round 1's votes do not count
    vote(request, second, "approve")
    request.refresh_from_db()
    assert request.state == RequestState.APPROVED
    assert sorted(CommitteeReview.objects.values_list("round", "vote")) == [
        (1, "changes"),
        (1, "changes"),
        (2, "approve"),
        (2, "approve"),
    ]


# --- what each side reads -----------------------------------------------------------------------


def test_the_queue_lists_submitted_requests_oldest_first_for_the_committee_only():
    first = submitted_request()
    second = submitted_request()
    draft_request()
    AccessRequest.objects.filter(pk=first.pk).update(
        submitted_at=timezone.now() - timedelta(days=2)
    )
    member = committee_member()
    queue = list(selectors.committee_queue(member))
    assert [(item.pk, item.may_vote, item.round) for item in queue] == [
        (first.pk, True, 1),
        (second.pk, True, 1),
    ]
    assert not selectors.committee_queue(first.requester).exists()


def test_internal_notes_stay_with_the_committee_and_messages_reach_the_requester(settings):
    settings.ACCESS_QUORUM = 3
    request = submitted_request()
    member = committee_member()
    vote(request, member, "changes", reason="Add a DPIA.", internal_note="Weak lab, ask around.")
    services.message_requester(request, author=member, text="Could you add a DPIA?")
    services.message_committee(request, author=request.requester, text="Attached next week.")

    for_requester = selectors.request_for_requester(request.requester, request.pk)
    assert not hasattr(for_requester, "reviews")
    assert [message.text for message in for_requester.messages] == [
        "Could you add a DPIA?",
        "Attached next week.",
    ]
    assert "Weak lab" not in repr(for_requester)

    for_committee = selectors.request_for_committee(member, request.pk)
    assert [review.internal_note for review in for_committee.reviews] == ["Weak lab, ask around."]
    assert for_committee.may_vote and for_committee.round == 1

    with pytest.raises(AccessRequest.DoesNotExist):
        selectors.request_for_requester(UserFactory(), request.pk)
    with pytest.raises(AccessRequest.DoesNotExist):
        selectors.request_for_committee(request.requester, request.pk)
    with pytest.raises(PermissionDenied):
        services.message_requester(request, author=request.requester, text="Hi")
    with pytest.raises(PermissionDenied):
        services.message_committee(request, author=UserFactory(), text="Hi")
