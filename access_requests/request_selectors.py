"""Read queries of access requests, the committee's work and grants, filtered by who asks (views,
templates and the API never filter).

What the requester reads and what the committee reads are different objects: the requester's
(`request_for_requester`) carries the request, its history and its messages and nothing else, so
no template can reach a committee member's internal note or individual vote through it; the
committee's (`request_for_committee`) adds every round's reviews. A committee member of the
requesting group gets neither the vote nor the committee's view of that request.
"""

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from access_requests.lifecycle import GrantState, RequestState
from access_requests.models import (
    AccessRequest,
    CommitteeReview,
    Grant,
    GroupMember,
    RequestMessage,
    RequestTransition,
    ResearchGroup,
)
from access_requests.roles import ACCESS_COMMITTEE
from imagebank.roles import CURATOR, has_role

# The key of CommitteeReview.scores under which a vote's reason (the words the decision quotes to
# the requester) is kept, next to the criteria's scores: the model has no column of its own.


def _active(user) -> bool:
    return bool(user and user.is_authenticated and user.is_active)


def is_committee_member(user) -> bool:
    return _active(user) and has_role(user, ACCESS_COMMITTEE)


def is_curator(user) -> bool:
    return _active(user) and (user.is_superuser or has_role(user, CURATOR))


def is_group_member(user, group: ResearchGroup) -> bool:
    return _active(user) and GroupMember.objects.filter(group=group, user=user).exists()


def is_principal_investigator(user, group: ResearchGroup) -> bool:
    return _active(user) and group.principal_investigator_id == user.pk


def current_round(request: AccessRequest) -> int:
    """The committee round of a request: how many times it has been submitted (0: never)."""
    return RequestTransition.objects.filter(
        request=request, to_state=RequestState.SUBMITTED
    ).count()


def may_vote(member, request: AccessRequest) -> bool:
    """A committee member votes on submitted requests of groups they do not belong to."""
    return (
        is_committee_member(member)
        and request.state == RequestState.SUBMITTED
        and not GroupMember.objects.filter(group_id=request.group_id, user=member).exists()
    )


# --- the committee ------------------------------------------------------------------------------


def committee_queue(member) -> QuerySet[AccessRequest]:
    """Submitted requests, oldest submission first, each annotated with `may_vote` (the member
    is not in the requesting group), `round` and `votes_in_round` (votes of the current round).
    Empty for anyone outside the committee."""
    if not is_committee_member(member):
        return AccessRequest.objects.none()
    own_group = GroupMember.objects.filter(group_id=OuterRef("group_id"), user=member)
    return (
        AccessRequest.objects.filter(state=RequestState.SUBMITTED)
        .select_related("group", "requester")
        .annotate(
            may_vote=~Exists(own_group),
            round=Count("history", filter=Q(history__to_state=RequestState.SUBMITTED)),
        )
        .order_by("submitted_at", "pk")
    )


def votes_in_round(request: AccessRequest, round_number: int | None = None) -> QuerySet:
    round_number = current_round(request) if round_number is None else round_number
    return CommitteeReview.objects.filter(request=request, round=round_number)


@dataclass(frozen=True)
class RequestForCommittee:
    request: AccessRequest
    round: int
    may_vote: bool
    reviews: list[CommitteeReview]  # every round, oldest first; internal notes included
    history: list[RequestTransition]
    messages: list[RequestMessage]


def request_for_committee(user, pk: int) -> RequestForCommittee:
    """A request as the committee and curators read it, with every review. Raises
    AccessRequest.DoesNotExist for anyone else, and for a member of the requesting group."""
    if not (is_committee_member(user) or is_curator(user)):
        raise AccessRequest.DoesNotExist
    request = (
        AccessRequest.objects.exclude(group__members__user=user)
        .select_related("group", "requester", "signature")
        .get(pk=pk)
    )
    return RequestForCommittee(
        request=request,
        round=current_round(request),
        may_vote=may_vote(user, request),
        reviews=list(request.reviews.select_related("member").order_by("round", "at", "pk")),
        history=list(request.history.select_related("actor")),
        messages=list(request.messages.select_related("author")),
    )


# --- the requester ------------------------------------------------------------------------------


def requests_of_user(user) -> QuerySet[AccessRequest]:
    """The requests of the groups the user belongs to, newest first."""
    if not _active(user):
        return AccessRequest.objects.none()
    return AccessRequest.objects.filter(group__members__user=user).select_related(
        "group", "requester"
    )


@dataclass(frozen=True)
class RequestForRequester:
    """What the requesting group reads: no reviews, no internal notes, no individual votes."""

    request: AccessRequest
    history: list[RequestTransition]
    messages: list[RequestMessage]


def request_for_requester(user, pk: int) -> RequestForRequester:
    """A request of one of the user's groups. Raises AccessRequest.DoesNotExist otherwise."""
    request = requests_of_user(user).get(pk=pk)
    return RequestForRequester(
        request=request,
        history=list(request.history.select_related("actor")),
        messages=list(request.messages.select_related("author")),
    )


# --- grants -------------------------------------------------------------------------------------


def live_grants(now: datetime | None = None) -> QuerySet[Grant]:
    """Grants that give access at this moment: active and not past their expiry, whether or not
    the expiry task has run yet."""
    now = now or timezone.now()
    return Grant.objects.filter(state=GrantState.ACTIVE, expires_at__gt=now)


def grants_of_user(user) -> QuerySet[Grant]:
    """Grants naming the user as an accessor, or of a group the user belongs to, newest first."""
    if not _active(user):
        return Grant.objects.none()
    named = Grant.objects.filter(accessors=user).values("pk")
    of_groups = Grant.objects.filter(group__members__user=user).values("pk")
    return (
        Grant.objects.filter(Q(pk__in=named) | Q(pk__in=of_groups))
        .select_related("group", "request")
        .prefetch_related("releases__release", "accessors")
    )


def active_grants_of_group(user, group: ResearchGroup) -> QuerySet[Grant]:
    """The group's grants that give access now, for its members, the committee and curators."""
    if not (is_group_member(user, group) or is_committee_member(user) or is_curator(user)):
        return Grant.objects.none()
    return (
        live_grants()
        .filter(group=group)
        .select_related("request")
        .prefetch_related("releases__release", "accessors")
        .order_by("expires_at", "pk")
    )
