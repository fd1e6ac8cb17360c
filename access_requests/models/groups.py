"""Research groups, their members and the invitations that bring members in."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class GroupKind(models.TextChoices):
    ACADEMIC = "academic", _("Academic or public research")
    COMMERCIAL = "commercial", _("Commercial")


class ResearchGroup(models.Model):
    """A team that requests access: an institution's group led by a principal investigator, with
    the signing official who commits the institution to the data use agreement."""

    name = models.CharField(_("name"), max_length=200)
    institution = models.CharField(_("institution"), max_length=300)
    country = models.CharField(_("country"), max_length=2)  # ISO 3166-1 alpha-2
    kind = models.CharField(_("kind"), max_length=12, choices=GroupKind.choices)
    principal_investigator = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="led_research_groups",
        verbose_name=_("principal investigator"),
    )
    signing_official_name = models.CharField(_("signing official"), max_length=200)
    signing_official_email = models.EmailField(_("signing official's e-mail"))
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(country__regex=r"^[A-Z]{2}$"), name="researchgroup_country_iso2"
            )
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_commercial(self) -> bool:
        return self.kind == GroupKind.COMMERCIAL


class MemberRole(models.TextChoices):
    PRINCIPAL_INVESTIGATOR = "pi", _("Principal investigator")
    MEMBER = "member", _("Member")


class GroupMember(models.Model):
    group = models.ForeignKey(ResearchGroup, on_delete=models.CASCADE, related_name="members")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="research_memberships"
    )
    role = models.CharField(max_length=10, choices=MemberRole.choices, default=MemberRole.MEMBER)
    joined_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["group", "role", "user"]
        constraints = [
            models.UniqueConstraint(fields=["group", "user"], name="groupmember_once"),
            models.UniqueConstraint(
                fields=["group"],
                condition=models.Q(role="pi"),
                name="groupmember_one_pi",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} in {self.group_id}"


class GroupInvitation(models.Model):
    """An invitation by the principal investigator, accepted through a link mailed to `email`.
    Only the SHA-256 of the link's token is stored."""

    group = models.ForeignKey(ResearchGroup, on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField(_("e-mail"))
    token_sha256 = models.CharField(max_length=64, unique=True)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    withdrawn_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.email} to {self.group_id}"


class MembershipChange(models.TextChoices):
    FOUNDED = "founded", _("founded the group and leads it")
    JOINED = "joined", _("joined by invitation")
    REMOVED = "removed", _("removed from the group")
    LEADS = "leads", _("became the principal investigator")
    STEPPED_DOWN = "stepped_down", _("handed the group over and stays a member")


class MembershipEvent(models.Model):
    """One change of who is in a group, or who leads it, kept after the membership row itself is
    gone: the committee approves named accessors of a group, so who belonged to it, and when, is
    part of the record of who could download what. Written by the services in the transaction of
    the change; nothing updates or deletes a row."""

    group = models.ForeignKey(ResearchGroup, on_delete=models.CASCADE, related_name="membership")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    change = models.CharField(max_length=12, choices=MembershipChange.choices)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    invitation = models.ForeignKey(
        GroupInvitation, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["group", "at", "pk"]
        indexes = [models.Index(fields=["group", "at"], name="membershipevent_group_at")]

    def __str__(self) -> str:
        return f"{self.user_id} {self.change} in {self.group_id}"
