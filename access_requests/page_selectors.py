"""Read queries the access pages need beyond access_requests.selectors and request_selectors,
filtered by who asks (the views and templates never filter): who reaches the researchers' and
the committee's pages, the curators' read-only queue, the grant a viewer may open and whether they
may renew or close it, the invitation a link names, the release versions one may request, the
members a PI may remove or hand the group to, and the agreement's versions.
"""

from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import BooleanField, Count, Q, QuerySet, Value
from django.utils import timezone

from access_requests import request_selectors, selectors
from access_requests.lifecycle import GrantState, RequestState
from access_requests.models import (
    AccessRequest,
    DataUseAgreement,
    Grant,
    GroupInvitation,
    GroupMember,
    MemberRole,
    ResearchGroup,
)
from access_requests.roles import RESEARCHER
from curation.models import ReleaseState, ReleaseVersion
from imagebank.models import User
from imagebank.roles import has_role


def uses_research_access(user) -> bool:
    """Researchers, and anyone who joined a group by invitation (joining gives no role)."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    return has_role(user, RESEARCHER) or GroupMember.objects.filter(user=user).exists()


def creates_groups(user) -> bool:
    return bool(getattr(user, "is_authenticated", False)) and has_role(user, RESEARCHER)


def sees_committee_pages(user) -> bool:
    """The access committee works there; curators read it (and may revoke a grant)."""
    return request_selectors.is_committee_member(user) or request_selectors.is_curator(user)


def oversight_queue(user) -> QuerySet[AccessRequest]:
    """Submitted requests, oldest first, annotated with `may_vote` and `round`: the committee's
    queue (request_selectors.committee_queue) for its members, the same requests read-only
    (`may_vote` false) for curators, nothing for anyone else. A curator sees no request of their
    own groups (as request_for_committee)."""
    if request_selectors.is_committee_member(user):
        return request_selectors.committee_queue(user)
    if not request_selectors.is_curator(user):
        return AccessRequest.objects.none()
    return (
        AccessRequest.objects.filter(state=RequestState.SUBMITTED)
        .exclude(group__members__user=user)
        .select_related("group", "requester")
        .annotate(
            may_vote=Value(False, output_field=BooleanField()),
            round=Count("history", filter=Q(history__to_state=RequestState.SUBMITTED)),
        )
        .order_by("submitted_at", "pk")
    )


def grant_for_viewer(user, pk: int) -> Grant:
    """A grant its group's members and accessors read, and the committee and curators (who may
    revoke it). Raises Grant.DoesNotExist for anyone else."""
    if sees_committee_pages(user):
        grants = Grant.objects.select_related("group", "request")
    else:
        grants = request_selectors.grants_of_user(user)
    return grants.get(pk=pk)


def is_live(grant: Grant, now: datetime | None = None) -> bool:
    """Active and not past its expiry (as request_selectors.live_grants)."""
    return grant.state == GrantState.ACTIVE and grant.expires_at > (now or timezone.now())


def manages_grant(user, grant: Grant) -> bool:
    """The group's principal investigator renews or closes a live grant (as the services
    allow): not its other accessors, not the committee."""
    return is_live(grant) and request_selectors.is_principal_investigator(user, grant.group)


def renewal_expiry(grant: Grant, now: datetime | None = None) -> datetime:
    """The expiry a renewal now would give (renew_grant: GRANT_DAYS from today, never
    shorter than the grant has)."""
    now = now or timezone.now()
    return max(grant.expires_at, now + timedelta(days=settings.GRANT_DAYS))


def grant_of_request(request: AccessRequest) -> Grant | None:
    return Grant.objects.filter(request=request).first()


def live_invitation(token_sha256: str) -> GroupInvitation | None:
    """The invitation still open whose token has this hash (None for unknown, used, withdrawn or
    expired: the page says the same for all)."""
    return (
        selectors.live_invitations()
        .select_related("group", "invited_by")
        .filter(token_sha256=token_sha256)
        .first()
    )


def requestable_versions() -> QuerySet[ReleaseVersion]:
    """The versions a request may name: published ones (the service checks again)."""
    return (
        ReleaseVersion.objects.filter(state=ReleaseState.PUBLISHED)
        .select_related("release")
        .order_by("release__slug", "-major", "-minor", "-patch")
    )


def members_of_groups(user) -> QuerySet[User]:
    """Members of the user's groups: whom the user may name as accessors."""
    if not getattr(user, "is_authenticated", False):
        return User.objects.none()
    return (
        User.objects.filter(research_memberships__group__in=selectors.groups_of(user))
        .distinct()
        .order_by("email")
    )


def ethics_document_viewer(user, request: AccessRequest) -> bool:
    """The committee and curators, and the requesting group's members, read the ethics
    approval."""
    return sees_committee_pages(user) or request_selectors.is_group_member(user, request.group)


def request_with_document(pk: int) -> AccessRequest | None:
    return AccessRequest.objects.select_related("group").filter(pk=pk).first()


# --- a group's members, for its principal investigator ------------------------------------------


def removable_member(group: ResearchGroup, viewer, user_pk: int) -> GroupMember | None:
    """The membership the PI may remove: another member of the group (None for anyone else, and
    for anyone asking who is not the group's PI)."""
    if not selectors.is_principal_investigator(group, viewer):
        return None
    return (
        GroupMember.objects.filter(group=group, user_id=user_pk)
        .exclude(role=MemberRole.PRINCIPAL_INVESTIGATOR)
        .select_related("user")
        .first()
    )


def pi_candidates(group: ResearchGroup, viewer) -> QuerySet[User]:
    """The members the PI may hand the group to (everyone but themselves), by e-mail."""
    if not selectors.is_principal_investigator(group, viewer):
        return User.objects.none()
    return (
        User.objects.filter(research_memberships__group=group)
        .exclude(pk=viewer.pk)
        .order_by("email")
    )


def live_grants_naming(group: ResearchGroup, user) -> QuerySet[Grant]:
    """The group's live grants that name `user` as an accessor: the removal page says that
    removing the member takes them off these (groups.remove_member)."""
    return (
        request_selectors.live_grants()
        .filter(group=group, accessors=user)
        .select_related("request")
        .order_by("expires_at", "pk")
    )


# --- the data use agreement's versions ----------------------------------------------------------


def publishes_agreements(user) -> bool:
    """Curators and the access committee publish a new version (publish_agreement)."""
    return sees_committee_pages(user)


def reads_agreements(user) -> bool:
    """The versions are for whoever signs them (researchers, members of groups) and those who
    publish them."""
    return uses_research_access(user) or sees_committee_pages(user)


def agreement_versions(viewer) -> QuerySet[DataUseAgreement]:
    """Every version, the newest first; for the committee and curators annotated with
    `signatures_count`, how many signatures each has (how many people signed is not the
    researchers' business)."""
    if not reads_agreements(viewer):
        return DataUseAgreement.objects.none()
    versions = DataUseAgreement.objects.order_by("-version")
    if sees_committee_pages(viewer):
        versions = versions.select_related("published_by").annotate(
            signatures_count=Count("signatures")
        )
    return versions
