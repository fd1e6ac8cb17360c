"""The default thresholds of every check, in one place (docs/quality-checks.md says how each was
calibrated on the IARC images). Curators override them per site and capture device
(curation.checks.thresholds); each result records the values it used.

Placeholder values until the calibration lands.
"""

DEFAULTS: dict[str, dict[str, float]] = {
    "sequence_complete": {},
}
