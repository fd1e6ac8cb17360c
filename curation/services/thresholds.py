"""Changing the checks' thresholds: the only code that writes CheckThreshold (the curators'
page and its form call it). Each write re-checks the permission; `run_checks --force` re-runs the
checks under the new values."""

from django.db import transaction

from curation.models import CheckThreshold
from curation.permissions import can_change_check_thresholds
from imagebank.permissions import require


@transaction.atomic
def set_threshold(
    *, actor, check_name: str, parameter: str, site, capture_device: str, value: float
) -> tuple[CheckThreshold, bool]:
    """Store the value under its scope, with who set it; (the row, whether it is new)."""
    require(can_change_check_thresholds(actor))
    return CheckThreshold.objects.update_or_create(
        check_name=check_name,
        parameter=parameter,
        site=site,
        capture_device=capture_device,
        defaults={"value": value, "updated_by": actor},
    )


def remove_threshold(*, actor, override: CheckThreshold) -> None:
    """The default (or a less specific override) is in force again."""
    require(can_change_check_thresholds(actor))
    override.delete()
