"""Access requests and the committee: drafting, submitting, the committee's reviews and votes,
the decision once the quorum is reached, and messages to the requester.

Every function raises ValidationError({field: message}) on bad input and PermissionDenied when
the actor may not. A request's state changes only through `transition_request` (history
included). A committee round is one submission: its votes are CommitteeReview rows of that round
(round = how many times the request was submitted), so a resubmission after changes starts a
fresh round and the previous round's votes stay as they were.
"""

from collections import Counter
from datetime import date
from typing import IO

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from access_requests import request_selectors as selectors
from access_requests.lifecycle import EDITABLE, RequestState
from access_requests.models import (
    CRITERIA,
    AccessRequest,
    AgreementSignature,
    CommitteeReview,
    DataUseAgreement,
    GroupMember,
    RequestMessage,
    ResearchGroup,
    Vote,
)
from access_requests.services import agreements
from access_requests.services.grants import create_grant
from access_requests.services.transitions import (  # noqa: F401 - exported here (lifecycle)
    REASON_MAX_LENGTH,
    transition_request,
)
from curation.models import ReleaseState, ReleaseVersion
from imagebank.storage import store_file

ETHICS_DOCUMENT_MAX_BYTES = 10 * 1024 * 1024
PDF_MAGIC = b"%PDF-"
SCORE_RANGE = range(1, 6)
# The request's free-text fields and their limits (the model's max_length).
TEXT_FIELDS = {
    "project_title": 300,
    "aims": 5000,
    "intended_use": 5000,
    "data_security": 5000,
    "ethics_committee": 300,
    "ethics_number": 100,
}
EDITABLE_FIELDS = frozenset(
    {
        *TEXT_FIELDS,
        "releases",
        "accessors",
        "and_later_versions",
        "commercial",
        "ethics_expiry",
        "ethics_document",
    }
)
# What a submission needs besides a signature (ethics approval for every request, commercial
# or not: the committee scores ethics for all).
REQUIRED_TO_SUBMIT = (
    "project_title",
    "aims",
    "intended_use",
    "data_security",
    "ethics_committee",
    "ethics_number",
)


# --- cleaning -----------------------------------------------------------------------------------


def _clean_text(value, field: str, max_length: int) -> str:
    text = (value or "").strip()
    if len(text) > max_length:
        raise ValidationError({field: _("Keep it under %(n)d characters.") % {"n": max_length}})
    return text


def _clean_releases(releases) -> list[ReleaseVersion]:
    """Published versions only: a draft or a build in progress can change, so nobody may ask
    for it (and only a published version can be downloaded)."""
    versions = list(releases or [])
    pks = {getattr(version, "pk", version) for version in versions}
    found = list(ReleaseVersion.objects.filter(pk__in=pks, state=ReleaseState.PUBLISHED))
    if len(found) != len(pks):
        raise ValidationError({"releases": _("Only published release versions can be requested.")})
    return found


def _clean_accessors(group: ResearchGroup, accessors) -> list:
    """The people who will download: members of the requesting group, nobody else (a grant's
    accessors are exactly these)."""
    users = list(accessors or [])
    pks = {user.pk for user in users}
    members = set(
        GroupMember.objects.filter(group=group, user_id__in=pks).values_list("user_id", flat=True)
    )
    if members != pks:
        raise ValidationError({"accessors": _("Every accessor must be a member of the group.")})
    return users


def _clean_expiry(value) -> date | None:
    if value is not None and not isinstance(value, date):
        raise ValidationError({"ethics_expiry": _("Give a date.")})
    return value


def store_ethics_document(fileobj: IO[bytes]) -> str:
    """Store an uploaded ethics approval (a PDF, at most 10 MB) under its hash; returns the key
    the request's FileField names. The first bytes must say PDF: the extension and the declared
    content type are the uploader's word, the bytes are not."""
    size = getattr(fileobj, "size", None)
    if size is None:
        fileobj.seek(0, 2)
        size = fileobj.tell()
    if size > ETHICS_DOCUMENT_MAX_BYTES:
        raise ValidationError(
            {"ethics_document": _("The ethics approval must be a PDF of at most 10 MB.")}
        )
    fileobj.seek(0)
    head = fileobj.read(len(PDF_MAGIC))
    fileobj.seek(0)
    if head != PDF_MAGIC:
        raise ValidationError({"ethics_document": _("The ethics approval must be a PDF file.")})
    return store_file(fileobj, "pdf", "ethics").key


def _apply(request: AccessRequest, group: ResearchGroup, fields: dict) -> tuple[list, list]:
    """Clean `fields` onto `request` (unsaved); returns the releases and accessors to set, or
    None for those not given."""
    unknown = set(fields) - EDITABLE_FIELDS
    if unknown:
        raise ValidationError(
            {name: _("This field cannot be changed here.") for name in sorted(unknown)}
        )
    for name, max_length in TEXT_FIELDS.items():
        if name in fields:
            setattr(request, name, _clean_text(fields[name], name, max_length))
    if "and_later_versions" in fields:
        request.and_later_versions = bool(fields["and_later_versions"])
    if "commercial" in fields:
        request.commercial = bool(fields["commercial"])
    # A commercial group's use is commercial, whatever the form says.
    request.commercial = request.commercial or group.is_commercial
    if "ethics_expiry" in fields:
        request.ethics_expiry = _clean_expiry(fields["ethics_expiry"])
    if fields.get("ethics_document") is not None:
        request.ethics_document.name = store_ethics_document(fields["ethics_document"])
    releases = _clean_releases(fields["releases"]) if "releases" in fields else None
    accessors = _clean_accessors(group, fields["accessors"]) if "accessors" in fields else None
    return releases, accessors


# --- the requester ------------------------------------------------------------------------------


def create_request(
    *,
    group: ResearchGroup,
    requester,
    releases,
    project_title: str,
    aims: str,
    intended_use: str,
    commercial: bool,
    data_security: str,
    accessors,
    and_later_versions: bool = False,
    ethics_committee: str = "",
    ethics_number: str = "",
    ethics_expiry: date | None = None,
    ethics_document: IO[bytes] | None = None,
) -> AccessRequest:
    """A draft request of `group` by one of its members. A draft may be incomplete: what a
    submission needs is checked by `submit_request`, which names everything missing at once."""
    if not selectors.is_group_member(requester, group):
        raise PermissionDenied(_("Only a member of the group requests access for it."))
    request = AccessRequest(group=group, requester=requester)
    fields = {
        "releases": releases,
        "project_title": project_title,
        "aims": aims,
        "intended_use": intended_use,
        "commercial": commercial,
        "data_security": data_security,
        "accessors": accessors,
        "and_later_versions": and_later_versions,
        "ethics_committee": ethics_committee,
        "ethics_number": ethics_number,
        "ethics_expiry": ethics_expiry,
        "ethics_document": ethics_document,
    }
    with transaction.atomic():
        versions, users = _apply(request, group, fields)
        request.save()
        request.releases.set(versions)
        request.accessors.set(users)
    return request


def may_edit(user, request: AccessRequest) -> bool:
    return user.pk == request.requester_id or selectors.is_principal_investigator(
        user, request.group
    )


def update_request(request: AccessRequest, *, actor, **fields) -> AccessRequest:
    """The requester or the group's principal investigator changes a draft, or a request the
    committee sent back for changes; never one under review or decided."""
    if not may_edit(actor, request):
        raise PermissionDenied(
            _("Only the requester or the group's principal investigator edits a request.")
        )
    with transaction.atomic():
        locked = (
            AccessRequest.objects.select_for_update().select_related("group").get(pk=request.pk)
        )
        if locked.state not in EDITABLE:
            raise ValidationError({"state": _("This request cannot be changed in its state.")})
        versions, users = _apply(locked, locked.group, fields)
        locked.save()
        if versions is not None:
            locked.releases.set(versions)
        if users is not None:
            locked.accessors.set(users)
    request.refresh_from_db()
    return request


def current_agreement() -> DataUseAgreement | None:
    """The agreement version a new submission must be signed under: the one in force now
    (access_requests.services.agreements), or None where there is none."""
    try:
        return agreements.current_agreement()
    except DataUseAgreement.DoesNotExist:
        return None


def _missing_for_submission(request: AccessRequest) -> dict[str, str]:
    required = _("This field is required.")
    errors = {name: required for name in REQUIRED_TO_SUBMIT if not getattr(request, name)}
    if not request.ethics_document:
        errors["ethics_document"] = _("Upload the ethics approval (a PDF).")
    if request.ethics_expiry is None:
        errors["ethics_expiry"] = required
    elif request.ethics_expiry <= timezone.localdate():
        errors["ethics_expiry"] = _("The ethics approval has expired.")
    if not request.releases.filter(state=ReleaseState.PUBLISHED).exists():
        errors["releases"] = _("Choose at least one published release version.")
    accessors = set(request.accessors.values_list("pk", flat=True))
    if not accessors:
        errors["accessors"] = _("Name at least one accessor.")
    elif GroupMember.objects.filter(
        group_id=request.group_id, user_id__in=accessors
    ).count() != len(accessors):
        errors["accessors"] = _("Every accessor must be a member of the group.")
    return errors


def submit_request(
    request: AccessRequest, *, actor, signature: AgreementSignature
) -> AccessRequest:
    """The requester sends the request to the committee, under their signature of the current
    agreement for this group (a signature of an older version no longer binds the group to what
    is in force). A resubmission after changes opens a new committee round."""
    if actor.pk != request.requester_id or not selectors.is_group_member(actor, request.group):
        raise PermissionDenied(_("Only the requester submits the request."))
    with transaction.atomic():
        locked = AccessRequest.objects.select_for_update().get(pk=request.pk)
        if locked.state not in EDITABLE:
            raise ValidationError({"state": _("This request has already been submitted.")})
        errors = _missing_for_submission(locked)
        agreement = current_agreement()
        if (
            signature is None
            or agreement is None
            or signature.agreement_id != agreement.pk
            or signature.signer_id != locked.requester_id
            or signature.group_id != locked.group_id
        ):
            errors["signature"] = _(
                "Sign the current data use agreement for this group before submitting."
            )
        if errors:
            raise ValidationError(errors)
        locked.signature = signature
        locked.save(update_fields=["signature"])
        transition_request(locked, to_state=RequestState.SUBMITTED, actor=actor)
    request.refresh_from_db()
    return request


# --- the committee ------------------------------------------------------------------------------


def _clean_scores(scores) -> dict[str, int]:
    if not isinstance(scores, dict):
        raise ValidationError({"scores": _("Score every criterion from 1 to 5.")})
    errors = {}
    for criterion in CRITERIA:
        value = scores.get(criterion)
        if isinstance(value, bool) or not isinstance(value, int) or value not in SCORE_RANGE:
            errors[f"scores.{criterion}"] = _("Give a whole number from 1 to 5.")
    for extra in sorted(set(scores) - set(CRITERIA)):
        errors[f"scores.{extra}"] = _("This is not one of the committee's criteria.")
    if errors:
        raise ValidationError(errors)
    return {criterion: scores[criterion] for criterion in CRITERIA}


def review_request(
    request: AccessRequest,
    *,
    member,
    scores: dict,
    vote: str,
    internal_note: str = "",
    reason: str = "",
) -> CommitteeReview:
    """A committee member's review of the submission in progress: a score for every criterion,
    a vote and, for a rejection or a request for changes, the reason the requester will read
    (`internal_note` stays within the committee). Voting again in the same round replaces the
    member's vote. Each vote may complete the quorum, which decides (`decide_if_quorum`)."""
    if not selectors.is_committee_member(member):
        raise PermissionDenied(_("Only members of the access committee review requests."))
    if GroupMember.objects.filter(group_id=request.group_id, user=member).exists():
        raise PermissionDenied(_("A committee member of the requesting group cannot vote on it."))
    clean_scores = _clean_scores(scores)
    if vote not in Vote.values:
        raise ValidationError({"vote": _("Approve, reject or ask for changes.")})
    reason = _clean_text(reason, "reason", REASON_MAX_LENGTH)
    if vote in (Vote.REJECT, Vote.CHANGES) and not reason:
        raise ValidationError({"reason": _("Give a reason: the requester reads it.")})
    internal_note = _clean_text(internal_note, "internal_note", 5000)
    with transaction.atomic():
        locked = AccessRequest.objects.select_for_update().get(pk=request.pk)
        if locked.state != RequestState.SUBMITTED:
            raise ValidationError({"state": _("Only a submitted request is reviewed.")})
        review, _created = CommitteeReview.objects.update_or_create(
            request=locked,
            round=selectors.current_round(locked),
            member=member,
            defaults={
                "scores": clean_scores,
                "vote": vote,
                "reason": reason,
                "internal_note": internal_note,
            },
        )
        decide_if_quorum(locked, actor=member)
    request.refresh_from_db()
    return review


def _outcome(votes: list[str]) -> str:
    """The most common vote decides; a tie, or "changes" being the most common, asks for
    changes (the committee did not agree on approving or rejecting)."""
    counts = Counter(votes).most_common()
    top = counts[0][1]
    leaders = {vote for vote, count in counts if count == top}
    if len(leaders) > 1 or leaders == {Vote.CHANGES}:
        return RequestState.CHANGES_REQUESTED
    return RequestState.APPROVED if leaders == {Vote.APPROVE} else RequestState.REJECTED


DECIDING_VOTES = {
    RequestState.APPROVED: {Vote.APPROVE},
    RequestState.REJECTED: {Vote.REJECT},
    # Changes asked by a tie quote every reason given, so the requester learns what divided it.
    RequestState.CHANGES_REQUESTED: {Vote.APPROVE, Vote.REJECT, Vote.CHANGES},
}


def decide_if_quorum(request: AccessRequest, *, actor=None) -> str | None:
    """Decide the round in progress once ACCESS_QUORUM votes are in: the state it moved to, or
    None (no quorum yet, or nothing to decide). The decision's reason, which the requester
    reads, is the reasons of the votes that decided it, without the members' names; approval
    creates the grant in the same transaction."""
    with transaction.atomic():
        locked = AccessRequest.objects.select_for_update().get(pk=request.pk)
        if locked.state != RequestState.SUBMITTED:
            return None
        reviews = list(selectors.votes_in_round(locked).order_by("at", "pk"))
        if len(reviews) < settings.ACCESS_QUORUM:
            return None
        outcome = _outcome([review.vote for review in reviews])
        reasons = [
            review.reason
            for review in reviews
            if review.vote in DECIDING_VOTES[outcome] and review.reason
        ]
        transition_request(
            locked, to_state=outcome, actor=actor, reason="\n\n".join(dict.fromkeys(reasons))
        )
        if outcome == RequestState.APPROVED:
            create_grant(locked)
    request.refresh_from_db()
    return outcome


# --- messages -----------------------------------------------------------------------------------


def message_requester(request: AccessRequest, *, author, text: str) -> RequestMessage:
    """A message from the committee or a curator that the requesting group reads (unlike a
    review's internal note, which never leaves the committee)."""
    if not (selectors.is_committee_member(author) or selectors.is_curator(author)):
        raise PermissionDenied(_("Only the access committee or curators write to the requester."))
    text = _clean_text(text, "text", 5000)
    if not text:
        raise ValidationError({"text": _("Write a message.")})
    return RequestMessage.objects.create(request=request, author=author, text=text)


def message_committee(request: AccessRequest, *, author, text: str) -> RequestMessage:
    """The requesting group's answer, read by the committee with the request."""
    if not selectors.is_group_member(author, request.group):
        raise PermissionDenied(_("Only a member of the requesting group writes on its request."))
    text = _clean_text(text, "text", 5000)
    if not text:
        raise ValidationError({"text": _("Write a message.")})
    return RequestMessage.objects.create(request=request, author=author, text=text)
