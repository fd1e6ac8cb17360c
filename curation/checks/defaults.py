"""The default thresholds of every check, in one place (docs/quality-checks.md says how each was
calibrated on the IARC images). Curators override them per site and capture device
(curation.checks.thresholds); each result records the values it used.

Placeholder values until the calibration lands.
"""

DEFAULTS: dict[str, dict[str, float]] = {
    "sequence_complete": {},
    # The largest pHash distance that counts as a near duplicate (docs/near-duplicates.md: every
    # re-encoded, resized or marked copy of the IARC images is within 6, and 3 of 534 pairs of
    # different images of one case).
    "duplicate": {"near_radius": 6},
}
