"""Thresholds are data: the defaults (curation.checks.defaults, calibrated on the IARC images;
docs/quality-checks.md) and a curator's overrides (CheckThreshold) per site and capture device.

For one check, site and device, each parameter takes the most specific value in force: the site
and device, then the site, then the device at every site, then every site, then the default.
"""

from curation.checks.defaults import DEFAULTS
from curation.models import CheckThreshold


def _specificity(row: CheckThreshold) -> int:
    return (2 if row.site_id is not None else 0) + (1 if row.capture_device else 0)


def resolve(check_name: str, *, site, device: str = "") -> dict[str, float]:
    values = dict(DEFAULTS.get(check_name, {}))
    rows = CheckThreshold.objects.filter(check_name=check_name).filter(
        site__in=[site] if site is not None else [], capture_device__in=["", device]
    ) | CheckThreshold.objects.filter(
        check_name=check_name, site__isnull=True, capture_device__in=["", device]
    )
    for row in sorted(rows, key=_specificity):
        values[row.parameter] = row.value
    return values


def parameters(check_name: str) -> list[str]:
    """The parameters a check has (those a curator may override)."""
    return sorted(DEFAULTS.get(check_name, {}))
