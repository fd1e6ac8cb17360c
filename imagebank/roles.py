"""The portal's roles and how a user gets them.

Bank-wide roles are Django groups; the contributor role is per site, held through the site's own
contributors group (one group per site) that carries guardian object permissions on that site.
"""

from django.contrib.auth.models import Group
from django.db.models import TextChoices
from django.utils.translation import gettext_lazy as _


class Role(TextChoices):
    REVIEWER = "reviewers", _("Reviewer")
    CURATOR = "curators", _("Curator")
    ACCESS_COMMITTEE = "access_committee", _("Access committee member")
    RESEARCHER = "researchers", _("Researcher")


# Roles whose members must sign in with a second factor.
ROLES_REQUIRING_MFA = frozenset({Role.CURATOR, Role.ACCESS_COMMITTEE})

# Object permissions the site's contributors group holds on its site.
SITE_CONTRIBUTOR_PERMISSIONS = ("imagebank.contribute_to_site", "imagebank.view_site_cases")


def site_contributors_group_name(slug: str) -> str:
    return f"site:{slug}:contributors"


def ensure_role_groups() -> None:
    for role in Role:
        Group.objects.get_or_create(name=role.value)


def user_roles(user) -> frozenset[str]:
    """The bank-wide roles of a user, cached on the user object for the request."""
    if not user.is_authenticated:
        return frozenset()
    cached = getattr(user, "_bank_roles", None)
    if cached is None:
        names = set(user.groups.filter(name__in=Role.values).values_list("name", flat=True))
        cached = user._bank_roles = frozenset(names)
    return cached


def has_role(user, role: Role) -> bool:
    return role.value in user_roles(user)
