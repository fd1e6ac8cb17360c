"""Research groups' writes: a researcher creates a group and leads it; the principal investigator
invites members by mail, withdraws invitations, removes members and hands the group over.

Invitations: the link mailed holds a random token (`secrets.token_urlsafe(32)`); only its SHA-256
is stored, so the database alone cannot accept anyone's invitation, and looking the invitation up
by that hash is the (implicitly constant-time) comparison. An unknown token and a token already
used get the same answer, so a token cannot be probed. The mail is sent once the caller's
transaction commits (nothing when it rolls back).

Country: ISO 3166-1 alpha-2, upper-case. The format is checked (two letters), not membership of
the ISO list: the bank has no runtime dependency that carries the list (Babel is a development
tool here), as for the sites' country (imagebank.models.Site).

Accepting an invitation makes the user a member of the group only; it gives no bank-wide role.

Every change of who is in a group or who leads it writes a MembershipEvent in the same
transaction (founded, joined, removed, leads, stepped down), which outlives the membership row.

Every function raises ValidationError({field: message}) on bad input and PermissionDenied when the
actor may not.
"""

import hashlib
import re
import secrets
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import send_mail
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from access_requests import selectors
from access_requests.models import (
    Grant,
    GroupInvitation,
    GroupKind,
    GroupMember,
    MemberRole,
    MembershipChange,
    MembershipEvent,
    ResearchGroup,
)
from access_requests.roles import RESEARCHER
from access_requests.services import grants as grant_services
from imagebank.models import User
from imagebank.roles import has_role

# The page where an invitation is accepted (the view comes with the pages); the token follows.
INVITATION_PATH = "/access/invitations/{token}/"
COUNTRY_CODE = re.compile(r"^[A-Z]{2}$")


def invitation_days() -> int:
    return int(getattr(settings, "ACCESS_INVITATION_DAYS", 14))


def token_hash(token: str) -> str:
    """The stored form of an invitation token."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def invitation_link(token: str) -> str:
    """The absolute link mailed (relative where SITE_URL is not set)."""
    site_url = (getattr(settings, "SITE_URL", "") or "").rstrip("/")
    return site_url + INVITATION_PATH.format(token=token)


def _require_pi(group: ResearchGroup, actor) -> None:
    if not selectors.is_principal_investigator(group, actor):
        raise PermissionDenied(_("Only the group's principal investigator may do this."))


def clean_country(country: str) -> str:
    code = (country or "").strip().upper()
    if not COUNTRY_CODE.match(code):
        raise ValidationError({"country": _("Use the ISO 3166 two-letter code, e.g. KE.")})
    return code


def _clean_email(email: str, field: str = "email") -> str:
    email = (email or "").strip()
    try:
        validate_email(email)
    except ValidationError:
        raise ValidationError({field: _("Enter a valid email address.")}) from None
    return email


# --- groups --------------------------------------------------------------------------------------


@transaction.atomic
def create_group(
    *,
    actor: User,
    name: str,
    institution: str,
    country: str,
    kind: str,
    signing_official_name: str,
    signing_official_email: str,
) -> ResearchGroup:
    """A researcher's new group, which they lead: they are its principal investigator and its
    first member. The signing official is who commits the institution to the data use
    agreement (named here; not necessarily a user of the bank)."""
    if not has_role(actor, RESEARCHER):
        raise PermissionDenied(_("Only researchers create research groups."))
    errors: dict[str, str] = {}
    try:
        country = clean_country(country)
    except ValidationError as error:
        errors.update({field: messages[0] for field, messages in error.message_dict.items()})
    if kind not in GroupKind.values:
        errors["kind"] = _("Choose academic or commercial.")
    try:
        signing_official_email = _clean_email(signing_official_email, "signing_official_email")
    except ValidationError as error:
        errors.update({field: messages[0] for field, messages in error.message_dict.items()})
    values = {
        "name": (name or "").strip(),
        "institution": (institution or "").strip(),
        "signing_official_name": (signing_official_name or "").strip(),
    }
    for field, value in values.items():
        if not value:
            errors[field] = _("This field is required.")
    if errors:
        raise ValidationError(errors)
    group = ResearchGroup(
        **values,
        country=country,
        kind=kind,
        principal_investigator=actor,
        signing_official_email=signing_official_email,
    )
    group.full_clean()  # lengths
    with transaction.atomic():
        group.save()
        GroupMember.objects.create(group=group, user=actor, role=MemberRole.PRINCIPAL_INVESTIGATOR)
        _record(group, actor, MembershipChange.FOUNDED, actor=actor)
    return group


def _record(group: ResearchGroup, user: User, change: str, *, actor: User, invitation=None):
    MembershipEvent.objects.create(
        group=group, user=user, change=change, actor=actor, invitation=invitation
    )


# --- invitations ---------------------------------------------------------------------------------


def _invitation_mail(invitation: GroupInvitation, token: str, inviter: User) -> tuple[str, str]:
    """The subject and body, in the language active when the PI invites."""
    group = invitation.group
    values = {
        "group": group.name,
        "institution": group.institution,
        "inviter": inviter.full_name or inviter.email,
        "link": invitation_link(token),
        "expires": timezone.localtime(invitation.expires_at).date().isoformat(),
    }
    subject = _("Invitation to join the research group %(group)s") % values
    body = (
        _(
            "%(inviter)s invites you to join the research group “%(group)s” (%(institution)s) "
            "in the Cervical Image Bank."
        )
        % values
        + "\n\n"
        + _("To accept, sign in with this e-mail address and open this link:")
        + "\n"
        + values["link"]
        + "\n\n"
        + _("The invitation expires on %(expires)s.") % values
        + "\n"
    )
    return subject, body


@transaction.atomic
def invite_member(*, group: ResearchGroup, actor: User, email: str) -> tuple[GroupInvitation, str]:
    """The principal investigator invites an address into the group; returns the invitation and
    the token of its link (shown nowhere else: only its hash is kept). The mail goes once the
    transaction commits. Refused for an address that is already a member, or that has an
    invitation still open to this group."""
    _require_pi(group, actor)
    email = _clean_email(email)
    if GroupMember.objects.filter(group=group, user__email__iexact=email).exists():
        raise ValidationError({"email": _("This address is already a member of the group.")})
    if selectors.live_invitations().filter(group=group, email__iexact=email).exists():
        raise ValidationError({"email": _("This address already has an open invitation.")})
    token = secrets.token_urlsafe(32)
    invitation = GroupInvitation.objects.create(
        group=group,
        email=email,
        token_sha256=token_hash(token),
        invited_by=actor,
        expires_at=timezone.now() + timedelta(days=invitation_days()),
    )
    subject, body = _invitation_mail(invitation, token, actor)
    transaction.on_commit(lambda: send_mail(subject, body, None, [email]))
    return invitation, token


@transaction.atomic
def accept_invitation(*, token: str, user: User) -> GroupMember:
    """The signed-in user whose e-mail address the invitation was sent to joins the group. An
    invitation is used once; an expired or withdrawn one is refused, saying so."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        raise PermissionDenied(_("Sign in to accept an invitation."))
    invitation = (
        GroupInvitation.objects.select_for_update()
        .select_related("group")
        .filter(token_sha256=token_hash(token or ""))
        .first()
    )
    if invitation is None or invitation.accepted_at is not None:
        # The same answer for both: a token cannot be probed for having existed.
        raise ValidationError({"token": _("This invitation link is not valid.")})
    if invitation.withdrawn_at is not None:
        raise ValidationError({"token": _("This invitation was withdrawn.")})
    now = timezone.now()
    if invitation.expires_at <= now:
        raise ValidationError(
            {"token": _("This invitation has expired. Ask the group's leader for a new one.")}
        )
    if invitation.email.casefold() != (user.email or "").casefold():
        raise PermissionDenied(
            _("This invitation was sent to another e-mail address. Sign in with that address.")
        )
    member = GroupMember.objects.filter(group=invitation.group, user=user).first()
    if member is None:
        member = GroupMember.objects.create(
            group=invitation.group, user=user, role=MemberRole.MEMBER
        )
        _record(invitation.group, user, MembershipChange.JOINED, actor=user, invitation=invitation)
    invitation.accepted_at = now
    invitation.accepted_by = user
    invitation.save(update_fields=["accepted_at", "accepted_by"])
    return member


@transaction.atomic
def withdraw_invitation(*, invitation: GroupInvitation, actor: User) -> GroupInvitation:
    """The principal investigator withdraws an invitation not yet accepted: its link stops
    working."""
    invitation = (
        GroupInvitation.objects.select_for_update().select_related("group").get(pk=invitation.pk)
    )
    _require_pi(invitation.group, actor)
    if invitation.accepted_at is not None:
        raise ValidationError({"invitation": _("This invitation was accepted already.")})
    if invitation.withdrawn_at is not None:
        raise ValidationError({"invitation": _("This invitation was withdrawn.")})
    invitation.withdrawn_at = timezone.now()
    invitation.save(update_fields=["withdrawn_at"])
    return invitation


# --- members -------------------------------------------------------------------------------------


@transaction.atomic
@transaction.atomic
def remove_member(*, group: ResearchGroup, actor: User, user: User) -> None:
    """The principal investigator removes a member. The PI cannot remove themselves: a group
    always has its leader (they hand the group over first, with transfer_pi).

    The member is taken off every grant of the group in the same transaction: the committee
    approved named accessors of this group, and someone who left it is no longer one, so their
    downloads (pages, tokens, signed URLs not yet issued) stop at once."""
    _require_pi(group, actor)
    if user.pk == actor.pk:
        raise ValidationError(
            {"user": _("The principal investigator cannot leave; hand the group over first.")}
        )
    deleted, _details = GroupMember.objects.filter(group=group, user=user).delete()
    if not deleted:
        raise ValidationError({"user": _("This person is not a member of the group.")})
    _record(group, user, MembershipChange.REMOVED, actor=actor)
    for grant in Grant.objects.filter(group=group, accessors=user).select_related("auth_group"):
        grant_services.drop_accessor(grant, user)


@transaction.atomic
def transfer_pi(*, group: ResearchGroup, actor: User, new_pi: User) -> GroupMember:
    """The principal investigator hands the group over to one of its members, and stays a
    member. Returns the new PI's membership."""
    _require_pi(group, actor)
    group = ResearchGroup.objects.select_for_update().get(pk=group.pk)
    if new_pi.pk == actor.pk:
        raise ValidationError({"new_pi": _("You lead this group already.")})
    membership = GroupMember.objects.select_for_update().filter(group=group, user=new_pi).first()
    if membership is None:
        raise ValidationError({"new_pi": _("Only a member of the group can lead it.")})
    # One PI per group (constraint groupmember_one_pi): step down first, then promote.
    GroupMember.objects.filter(group=group, role=MemberRole.PRINCIPAL_INVESTIGATOR).update(
        role=MemberRole.MEMBER
    )
    try:
        with transaction.atomic():
            GroupMember.objects.filter(pk=membership.pk).update(
                role=MemberRole.PRINCIPAL_INVESTIGATOR
            )
    except IntegrityError:
        raise ValidationError(
            {"new_pi": _("The group was handed over meanwhile; reload and try again.")}
        ) from None
    group.principal_investigator = new_pi
    group.save(update_fields=["principal_investigator"])
    _record(group, actor, MembershipChange.STEPPED_DOWN, actor=actor)
    _record(group, new_pi, MembershipChange.LEADS, actor=actor)
    membership.refresh_from_db()
    return membership
