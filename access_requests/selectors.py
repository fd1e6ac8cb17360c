"""Read queries of access_requests, filtered by what the user may see (views and templates never
filter).
"""

from django.db.models import Case, IntegerField, QuerySet, Value, When
from django.utils import timezone

from access_requests.models import (
    GroupInvitation,
    GroupMember,
    MemberRole,
    MembershipEvent,
    ResearchGroup,
)
from access_requests.roles import ACCESS_COMMITTEE
from imagebank.roles import CURATOR, has_role

# --- groups and agreements -----------------------------------------------------------------------


def is_member(group: ResearchGroup, user) -> bool:
    """Whether the user belongs to the group (its principal investigator included)."""
    if not getattr(user, "is_authenticated", False):
        return False
    return GroupMember.objects.filter(group=group, user=user).exists()


def is_principal_investigator(group: ResearchGroup, user) -> bool:
    if not getattr(user, "is_authenticated", False):
        return False
    return GroupMember.objects.filter(
        group=group, user=user, role=MemberRole.PRINCIPAL_INVESTIGATOR
    ).exists()


def oversees_access(user) -> bool:
    """The access committee and curators see every group's members: the committee decides on
    the groups' requests, curators run the bank."""
    if not getattr(user, "is_authenticated", False):
        return False
    return has_role(user, ACCESS_COMMITTEE) or has_role(user, CURATOR)


def groups_of(user) -> QuerySet[ResearchGroup]:
    """The research groups the user is a member of (or leads), by name."""
    if not getattr(user, "is_authenticated", False):
        return ResearchGroup.objects.none()
    return ResearchGroup.objects.filter(members__user=user).order_by("name", "pk").distinct()


def can_see_members(group: ResearchGroup, viewer) -> bool:
    return oversees_access(viewer) or is_member(group, viewer)


def members_of(group: ResearchGroup, *, viewer) -> QuerySet[GroupMember]:
    """The group's members, the principal investigator first, then by e-mail; for the group's
    own members, the access committee and curators. Anyone else gets nothing: who belongs to a
    group is not public."""
    if not can_see_members(group, viewer):
        return GroupMember.objects.none()
    pi_first = Case(
        When(role=MemberRole.PRINCIPAL_INVESTIGATOR, then=Value(0)),
        default=Value(1),
        output_field=IntegerField(),
    )
    return (
        GroupMember.objects.filter(group=group)
        .select_related("user")
        .order_by(pi_first, "user__email")
    )


def membership_history(group: ResearchGroup, *, viewer) -> QuerySet[MembershipEvent]:
    """Who joined, left or led the group and when, newest first; for those who see its
    members (a removed member's entries stay, the member row does not)."""
    if not can_see_members(group, viewer):
        return MembershipEvent.objects.none()
    return (
        MembershipEvent.objects.filter(group=group)
        .select_related("user", "actor")
        .order_by("-at", "-pk")
    )


def live_invitations() -> QuerySet[GroupInvitation]:
    """Invitations that can still be accepted: not accepted, not withdrawn, not expired."""
    return GroupInvitation.objects.filter(
        accepted_at__isnull=True, withdrawn_at__isnull=True, expires_at__gt=timezone.now()
    )


def pending_invitations(group: ResearchGroup, *, viewer) -> QuerySet[GroupInvitation]:
    """The group's invitations still open, newest first, for its principal investigator only
    (anyone else gets nothing: the addresses invited are the PI's business)."""
    if not is_principal_investigator(group, viewer):
        return GroupInvitation.objects.none()
    return live_invitations().filter(group=group).order_by("-created_at", "-pk")
