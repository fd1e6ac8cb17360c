import secrets
from datetime import date

from django.conf import settings
from django.contrib.auth.models import Group
from django.core.validators import RegexValidator
from django.db import models
from django.utils.translation import gettext_lazy as _
from guardian.models import GroupObjectPermissionBase, UserObjectPermissionBase

from imagebank import vocabularies as vocab
from imagebank.object_permissions import PermissionTable

from .constraints import choice_constraint


def default_submission_requirements() -> list[str]:
    # Adequacy, TZ type or VIA result, and the three core steps: see imagebank/submission.py.
    return ["adequacy", "transformation_zone_or_via_result", "core_steps"]


# A data-sharing agreement's reference as the bank files it ("DSA-2024-07"): letters, digits and
# a few separators, so that no name or other free text about a person can be kept in it.
AGREEMENT_REFERENCE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9 ._/-]*$"


class Site(models.Model):
    """A clinic or programme that contributes examinations."""

    slug = models.SlugField(_("short name"), max_length=50, unique=True)
    name = models.CharField(_("name"), max_length=200)
    country = models.CharField(
        _("country"),
        max_length=2,
        validators=[RegexValidator(r"^[A-Z]{2}$", _("Use the ISO 3166 two-letter code, e.g. KE."))],
        help_text=_("ISO 3166-1 alpha-2 code"),
    )
    clinical_setting = models.CharField(
        _("clinical setting"), max_length=40, choices=vocab.CLINICAL_SETTING.choices
    )
    devices = models.JSONField(
        _("devices"), default=list, blank=True, help_text=_("Colposcopes and cameras in use")
    )
    submission_requirements = models.JSONField(
        _("required to submit a case"),
        default=default_submission_requirements,
        blank=True,
        help_text=_("What a case must have before it can be submitted for review."),
    )
    data_sharing_agreement = models.CharField(
        _("data-sharing agreement"),
        max_length=50,
        blank=True,
        validators=[
            RegexValidator(
                AGREEMENT_REFERENCE_PATTERN,
                _("Give the agreement's reference (letters, digits, - _ / . and spaces)."),
            )
        ],
        help_text=_(
            "The reference of the site's agreement with the bank that covers its retrospective "
            "collections, e.g. DSA-2024-07. Cases imported while it is in force are recorded as "
            "covered by it. Empty: no agreement."
        ),
    )
    data_sharing_agreement_until = models.DateField(
        _("data-sharing agreement ends"),
        null=True,
        blank=True,
        help_text=_("The last day the agreement covers; empty: open-ended."),
    )
    contributors_group = models.OneToOneField(
        Group, on_delete=models.PROTECT, related_name="contributing_site", editable=False
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        permissions = [
            ("contribute_to_site", _("Can contribute cases to the site")),
            ("view_site_cases", _("Can view the site's cases")),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(country__regex=r"^[A-Z]{2}$"), name="site_country_iso2"
            ),
            choice_constraint("clinical_setting", vocab.CLINICAL_SETTING, allow_blank=False),
            models.CheckConstraint(
                condition=models.Q(data_sharing_agreement_until__isnull=True)
                | ~models.Q(data_sharing_agreement=""),
                name="site_agreement_end_needs_agreement",
                violation_error_message=_(
                    "An end date is given only with the agreement's reference."
                ),
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def agreement_in_force_on(self, day: date) -> bool:
        """Whether the site's data-sharing agreement covers `day` (none: False)."""
        if not self.data_sharing_agreement:
            return False
        until = self.data_sharing_agreement_until
        return until is None or day <= until


# django-guardian with direct foreign keys: fast joins, and rows vanish with their site.
SITE_PERMISSIONS = frozenset({"contribute_to_site", "view_site_cases"})


class SiteUserObjectPermission(PermissionTable, UserObjectPermissionBase):
    allowed_permissions = SITE_PERMISSIONS
    content_object = models.ForeignKey(Site, on_delete=models.CASCADE)


class SiteGroupObjectPermission(PermissionTable, GroupObjectPermissionBase):
    allowed_permissions = SITE_PERMISSIONS
    content_object = models.ForeignKey(Site, on_delete=models.CASCADE)


class SiteRole(models.TextChoices):
    CONTRIBUTOR = "contributor", _("Contributor")
    SITE_LEAD = "site_lead", _("Site lead")


class SiteMembership(models.Model):
    """A user's role at a site. The services keep the site's contributors group in step."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="site_memberships"
    )
    site = models.ForeignKey(Site, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=20, choices=SiteRole.choices, default=SiteRole.CONTRIBUTOR)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "site"], name="one_membership_per_user_site"),
            models.CheckConstraint(
                condition=models.Q(role__in=SiteRole.values), name="membership_role_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} @ {self.site} ({self.get_role_display()})"


# A subject's display code: what pages, the admin and the API show instead of the pseudonym.
# Random (never derived from the pseudonym, so it reveals nothing of the patient's ID even to
# someone who holds the key) and short enough to read aloud: 8 characters of an alphabet without
# the look-alikes 0/O, 1/I/L, 31^8 (about 8.5e11) codes per site.
DISPLAY_CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
DISPLAY_CODE_LENGTH = 8
DISPLAY_CODE_PATTERN = r"^[2-9A-HJKMNP-Z]{8}$"


def new_display_code() -> str:
    return "".join(secrets.choice(DISPLAY_CODE_ALPHABET) for _ in range(DISPLAY_CODE_LENGTH))


class Subject(models.Model):
    """A patient, known only by a keyed-hash pseudonym of the site's local ID.

    The pseudonym links a site's cases of one patient and is never shown: people and the API see
    the subject's random display code instead.
    """

    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="subjects")
    pseudonym = models.CharField(_("pseudonym"), max_length=64, editable=False)
    display_code = models.CharField(
        _("subject code"),
        max_length=DISPLAY_CODE_LENGTH,
        default=new_display_code,
        editable=False,
        help_text=_("A random code for the subject, unique within the site."),
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["site", "pseudonym"], name="subject_pseudonym_per_site"
            ),
            models.UniqueConstraint(
                fields=["site", "display_code"], name="subject_display_code_per_site"
            ),
            models.CheckConstraint(
                condition=models.Q(display_code__regex=DISPLAY_CODE_PATTERN),
                name="subject_display_code_format",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.site.slug}:{self.display_code}"
