"""Who may do what, as plain functions over users and objects (deny by default).

Views and API endpoints name one of these; services call them again before writing, so a missing
check in a view cannot open a hole.
"""

from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.utils.translation import gettext as _
from guardian.shortcuts import get_objects_for_user

from imagebank.lifecycle import SUBMITTED_STATES
from imagebank.models import Case, Site
from imagebank.roles import Role, has_role


def sites_with_permission(user, permission: str) -> QuerySet[Site]:
    if not user.is_authenticated or not user.is_active:
        return Site.objects.none()
    return get_objects_for_user(
        user, permission, klass=Site, accept_global_perms=False, with_superuser=True
    )


def can_contribute_to(user, site: Site) -> bool:
    return sites_with_permission(user, "imagebank.contribute_to_site").filter(pk=site.pk).exists()


def can_use_imports(user) -> bool:
    """Contributors (to any site) send imports and read theirs; curators read every import."""
    if not user.is_authenticated or not user.is_active:
        return False
    return (
        user.is_superuser
        or has_role(user, Role.CURATOR)
        or sites_with_permission(user, "imagebank.contribute_to_site").exists()
    )


def can_view_case(user, case: Case) -> bool:
    if not user.is_authenticated or not user.is_active:
        return False
    if user.is_superuser or has_role(user, Role.CURATOR):
        return True
    if has_role(user, Role.REVIEWER) and case.state in SUBMITTED_STATES:
        return True
    return sites_with_permission(user, "imagebank.view_site_cases").filter(pk=case.site_id).exists()


def can_edit_case(user, case: Case) -> bool:
    return case.is_editable and can_contribute_to(user, case.site)


def can_see_file_names(user, case: Case) -> bool:
    """The name a file was sent under (what the bank keeps of it, imagebank.filenames) is for the
    people who sent it: the case's site contributors and curators, never reviewers, who judge the
    pictures blind to where and whom they come from."""
    if not user.is_authenticated or not user.is_active:
        return False
    if user.is_superuser or has_role(user, Role.CURATOR):
        return True
    return can_contribute_to(user, case.site)


def require(allowed: bool, message: str | None = None) -> None:
    if not allowed:
        raise PermissionDenied(message or _("You do not have permission to do this."))
