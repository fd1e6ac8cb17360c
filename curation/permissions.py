"""Who may do what in curation, as plain functions over users (deny by default), like
imagebank.permissions. Seeing a case's check results is seeing the case
(imagebank.permissions.can_view_case, through the core's selectors)."""

from imagebank.roles import CURATOR, has_role


def can_see_curation_reports(user) -> bool:
    """The quality flags across the bank (rates per site, device and check; the most-flagged
    images) are for the people who run it: curators and superusers only."""
    if not user.is_authenticated or not user.is_active:
        return False
    return user.is_superuser or has_role(user, CURATOR)


def can_change_check_thresholds(user) -> bool:
    """The checks' thresholds (curation.checks.thresholds) are set by curators and superusers."""
    return can_see_curation_reports(user)
