"""Bank-wide roles: the registry every app declares its roles in, and the core's own role.

A bank-wide role is a Django group named after the role's code. Each app declares the roles it
owns (curation: reviewers; access_requests: the access committee and researchers) by calling
`register_role` in its own `roles.py`, imported when the app is ready; the core knows them only
through what a declaration says (whether the role needs a second factor, which cases it reads).
The contributor role is per site, held through the site's own contributors group (one group per
site) that carries guardian object permissions on that site.
"""

from dataclasses import dataclass

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _


class BankRole(str):
    """A role's code (the group's name), with what the core needs to know about the role.

    A str, so that `role in user_roles(user)` and comparisons with group names just work.
    """

    label: Promise | str
    requires_mfa: bool
    reads_submitted_cases: bool
    reads_all_cases: bool

    def __new__(
        cls,
        code: str,
        label: Promise | str,
        *,
        requires_mfa: bool = False,
        reads_submitted_cases: bool = False,
        reads_all_cases: bool = False,
    ) -> "BankRole":
        role = super().__new__(cls, code)
        role.label = label
        role.requires_mfa = requires_mfa
        role.reads_submitted_cases = reads_submitted_cases or reads_all_cases
        role.reads_all_cases = reads_all_cases
        return role

    @property
    def value(self) -> str:
        return str(self)


@dataclass
class _Registry:
    roles: dict[str, BankRole]


_registry = _Registry(roles={})


def register_role(role: BankRole) -> BankRole:
    """Declare a bank-wide role (idempotent for the same code)."""
    known = _registry.roles.get(str(role))
    if known is not None:
        return known
    _registry.roles[str(role)] = role
    return role


def registered_roles() -> tuple[BankRole, ...]:
    return tuple(_registry.roles.values())


def role_codes() -> list[str]:
    return list(_registry.roles)


def get_role(code: str) -> BankRole | None:
    return _registry.roles.get(code)


# The core's own role: curators run the bank, read every case, and sign in with a second factor.
CURATOR = register_role(BankRole("curators", _("Curator"), requires_mfa=True, reads_all_cases=True))

# Object permissions the site's contributors group holds on its site.
SITE_CONTRIBUTOR_PERMISSIONS = ("imagebank.contribute_to_site", "imagebank.view_site_cases")


def site_contributors_group_name(slug: str) -> str:
    return f"site:{slug}:contributors"


def ensure_role_groups() -> None:
    from django.contrib.auth.models import Group  # roles are declared before models load

    for role in registered_roles():
        Group.objects.get_or_create(name=role.value)


def user_roles(user) -> frozenset[str]:
    """The bank-wide roles of a user, cached on the user object for the request."""
    if not user.is_authenticated:
        return frozenset()
    cached = getattr(user, "_bank_roles", None)
    if cached is None:
        names = set(user.groups.filter(name__in=role_codes()).values_list("name", flat=True))
        cached = user._bank_roles = frozenset(names)
    return cached


def has_role(user, role: str) -> bool:
    return str(role) in user_roles(user)


def requires_mfa(user) -> bool:
    """Whether the user's roles (or being a superuser) require a second factor."""
    if not user.is_authenticated:
        return False
    if user.is_superuser:
        return True
    return any(get_role(code).requires_mfa for code in user_roles(user))


def reads_all_cases(user) -> bool:
    return user.is_superuser or any(get_role(code).reads_all_cases for code in user_roles(user))


def reads_submitted_cases(user) -> bool:
    return user.is_superuser or any(
        get_role(code).reads_submitted_cases for code in user_roles(user)
    )
