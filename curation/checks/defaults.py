"""The default thresholds of every check, in one place (docs/quality-checks.md says how each was
calibrated on the IARC images). Curators override them per site and capture device
(curation.checks.thresholds); each result records the values it used.
"""

DEFAULTS: dict[str, dict[str, float]] = {
    # Image checks (curation.checks.image_checks), calibrated by bench/calibrate_checks.py on
    # the 382 IARC images (docs/quality-checks.md has the distributions and counts).
    "resolution": {"warn_below": 640, "fail_below": 480},  # pixels on the long side
    "focus": {"warn_below": 3.5, "fail_below": 1.4},
    "exposure": {
        "under_warn_above": 0.03,
        "under_fail_above": 0.10,
        "over_warn_above": 0.25,
        "over_fail_above": 0.45,
    },
    "glare": {"warn_above": 0.15, "fail_above": 0.30},
    "blood": {"warn_above": 0.08, "fail_above": 0.30},
    "framing": {
        "edge_warn_above": 0.25,
        "edge_fail_above": 0.40,
        "area_warn_below": 0.15,
        "area_fail_below": 0.06,
    },
    "step_consistency": {"lugol_min": 0.22, "green_min": 0.40},
    "sequence_complete": {},
    # The largest pHash distance that counts as a near duplicate (docs/near-duplicates.md: every
    # re-encoded, resized or marked copy of the IARC images is within 6, and 3 of 536 pairs of
    # different images of one case).
    "duplicate": {"near_radius": 6},
}
