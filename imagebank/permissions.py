"""Who may do what, as plain functions over users and objects (deny by default).

Views and API endpoints name one of these; services call them again before writing, so a missing
check in a view cannot open a hole.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.utils.translation import gettext as _

from imagebank.lifecycle import SUBMITTED_STATES
from imagebank.models import Case, Site
from imagebank.object_permissions import objects_with_permission
from imagebank.roles import CURATOR, has_role, reads_all_cases, reads_submitted_cases

# (user pk, permission, site pk) -> allowed, while a `site_permissions_remembered` block runs.
_remembered: ContextVar[dict[tuple[int, str, int], bool] | None] = ContextVar(
    "remembered_site_permissions", default=None
)


@contextmanager
def site_permissions_remembered() -> Iterator[None]:
    """Within the block, each user's permission on a site is looked up once, then remembered.

    For one unit of work that checks the same right again and again: an import checks its case's
    site before the case and twice for every image, each a guardian query. Keep the block short
    (the writer opens one per case), so a right revoked meanwhile counts from the next block. The
    case's state is not remembered: can_edit_case reads it from the row each time. A block inside
    another shares the outer one's memory; outside any block every check asks the database.
    """
    if _remembered.get() is not None:
        yield
        return
    token = _remembered.set({})
    try:
        yield
    finally:
        _remembered.reset(token)


def sites_with_permission(user, permission: str) -> QuerySet[Site]:
    return objects_with_permission(user, permission, Site.objects.all())


def has_site_permission(user, permission: str, site_id: int) -> bool:
    if not user.is_authenticated or not user.is_active:
        return False
    memory = _remembered.get()
    key = (user.pk, permission, site_id)
    if memory is not None and key in memory:
        return memory[key]
    allowed = sites_with_permission(user, permission).filter(pk=site_id).exists()
    if memory is not None:
        memory[key] = allowed
    return allowed


def can_contribute_to(user, site: Site) -> bool:
    return has_site_permission(user, "imagebank.contribute_to_site", site.pk)


def can_use_imports(user) -> bool:
    """Contributors (to any site) send imports and read theirs; curators read every import."""
    if not user.is_authenticated or not user.is_active:
        return False
    return (
        user.is_superuser
        or has_role(user, CURATOR)
        or sites_with_permission(user, "imagebank.contribute_to_site").exists()
    )


def can_view_case(user, case: Case) -> bool:
    if not user.is_authenticated or not user.is_active:
        return False
    if reads_all_cases(user):
        return True
    if reads_submitted_cases(user) and case.state in SUBMITTED_STATES:
        return True
    return has_site_permission(user, "imagebank.view_site_cases", case.site_id)


def can_edit_case(user, case: Case) -> bool:
    # By the site's id: a case read again under its row lock need not load its site too.
    return case.is_editable and has_site_permission(
        user, "imagebank.contribute_to_site", case.site_id
    )


def can_see_file_names(user, case: Case) -> bool:
    """The name a file was sent under (what the bank keeps of it, imagebank.filenames) is for the
    people who sent it: the case's site contributors and curators, never reviewers, who judge the
    pictures blind to where and whom they come from."""
    if not user.is_authenticated or not user.is_active:
        return False
    if user.is_superuser or has_role(user, CURATOR):
        return True
    return can_contribute_to(user, case.site)


def can_see_read_audit(user) -> bool:
    """The audit of reads (who read which case, from which address) is for curators and
    superusers only: not for contributors, reviewers or researchers, even of cases they see."""
    if not user.is_authenticated or not user.is_active:
        return False
    return user.is_superuser or has_role(user, CURATOR)


def can_see_operations(user) -> bool:
    """The "Background work" page (queue lengths, waiting work, task failures) is for the people
    who run the bank: curators and superusers only."""
    if not user.is_authenticated or not user.is_active:
        return False
    return user.is_superuser or has_role(user, CURATOR)


def require(allowed: bool, message: str | None = None) -> None:
    if not allowed:
        raise PermissionDenied(message or _("You do not have permission to do this."))
