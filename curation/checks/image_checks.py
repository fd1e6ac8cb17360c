"""Image-level checks: resolution, focus, exposure, glare, blood, step_consistency, framing.

Each is a function of one image's ImageContext (one reduced decode, its HSV planes, cervix region
and highlights, shared by all) returning a Finding; registered on import. What each measures,
how its default thresholds were calibrated on the IARC images and its known failure modes:
docs/quality-checks.md. The decisions are pure functions of the measures and thresholds
(`decide_*`), so bench/calibrate_checks.py counts verdicts exactly as the checks give them.
"""

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from curation import analysis
from curation.analysis import measures, overlay
from curation.analysis import step as step_analysis
from curation.checks.context import ImageContext
from curation.checks.registry import Check, Finding, register

PASS, WARN, FAIL = "pass", "warn", "fail"

# What each declared step should look like; steps missing here are not judged.
EXPECTED_KIND = {
    "before_acetic_acid": step_analysis.COLOUR,
    "after_acetic_acid": step_analysis.COLOUR,
    "green_filter": step_analysis.GREEN,
    "after_lugol": step_analysis.LUGOL,
}
# The step suggested for an image of each kind, where none is given. Colour alone does not tell
# saline from acetic acid: "after acetic acid" (the commoner colour step in the IARC banks) is
# suggested, with a confidence of at most COLOUR_SUGGESTION_CONFIDENCE.
SUGGESTED_STEP = {
    step_analysis.LUGOL: "after_lugol",
    step_analysis.GREEN: "green_filter",
    step_analysis.COLOUR: "after_acetic_acid",
}
COLOUR_SUGGESTION_CONFIDENCE = 0.5


def _percent(share: float) -> str:
    return f"{share * 100:.1f}"


def decide_below(value: float, warn: float, fail: float) -> tuple[str, float]:
    """(verdict, the limit that decided) for a measure that must not be low."""
    if value < fail:
        return FAIL, fail
    if value < warn:
        return WARN, warn
    return PASS, warn


def decide_above(value: float, warn: float, fail: float) -> tuple[str, float]:
    """(verdict, the limit that decided) for a measure that must not be high."""
    if value > fail:
        return FAIL, fail
    if value > warn:
        return WARN, warn
    return PASS, warn


_RANK = {PASS: 0, WARN: 1, FAIL: 2}


# ---------------------------------------------------------------------------- resolution


def decide_resolution(long_side: int, t: dict) -> tuple[str, float]:
    return decide_below(long_side, t["warn_below"], t["fail_below"])


def resolution(ctx: ImageContext) -> Finding:
    try:
        decoded = ctx.decoded
    except analysis.Undecodable as error:
        return Finding(
            verdict=FAIL,
            detail=_(
                "The file cannot be decoded as an image, so it can be neither checked nor shown."
            ),
            extra={"error": str(error)[:300]},
        )
    t = ctx.thresholds("resolution")
    long_side = max(decoded.width, decoded.height)
    verdict, limit = decide_resolution(long_side, t)
    size = {"width": decoded.width, "height": decoded.height, "minimum": int(limit)}
    if verdict == FAIL:
        detail = _(
            "%(width)s × %(height)s pixels: below the %(minimum)s pixels needed on the long side."
        )
    elif verdict == WARN:
        detail = _(
            "%(width)s × %(height)s pixels: below the %(minimum)s pixels recommended on the long "
            "side; fine detail may be lost."
        )
    else:
        detail = _("%(width)s × %(height)s pixels: large enough.")
    return Finding(
        verdict=verdict,
        detail=detail % size,
        value=long_side,
        threshold=limit,
        extra={"width": decoded.width, "height": decoded.height},
    )


# --------------------------------------------------------------------------------- focus


def decide_focus(value: float, t: dict) -> tuple[str, float]:
    return decide_below(value, t["warn_below"], t["fail_below"])


def focus(ctx: ImageContext) -> Finding:
    t = ctx.thresholds("focus")
    value = measures.focus(ctx.rgb, ctx.region, ctx.highlights)
    verdict, limit = decide_focus(value, t)
    numbers = {"value": f"{value:.1f}", "limit": f"{limit:.1f}"}
    if verdict == FAIL:
        detail = _("The cervix is blurred (sharpness %(value)s, below %(limit)s).")
    elif verdict == WARN:
        detail = _("The cervix looks slightly soft (sharpness %(value)s, below %(limit)s).")
    else:
        detail = _("The cervix is in focus (sharpness %(value)s).")
    return Finding(verdict=verdict, detail=detail % numbers, value=round(value, 3), threshold=limit)


# ------------------------------------------------------------------------------ exposure


def decide_exposure(under: float, over: float, t: dict) -> tuple[str, float, float, str]:
    """(verdict, value, limit, "under" or "over"): the worse of the two sides."""
    low = decide_above(under, t["under_warn_above"], t["under_fail_above"])
    high = decide_above(over, t["over_warn_above"], t["over_fail_above"])
    if _RANK[low[0]] > _RANK[high[0]] or (
        _RANK[low[0]] == _RANK[high[0]] and under / max(low[1], 1e-9) > over / max(high[1], 1e-9)
    ):
        return low[0], under, low[1], "under"
    return high[0], over, high[1], "over"


def exposure(ctx: ImageContext) -> Finding:
    t = ctx.thresholds("exposure")
    found = measures.exposure(ctx.hsv, ctx.region, ctx.highlights)
    verdict, value, limit, side = decide_exposure(found.under, found.over, t)
    shares = {
        "under": _percent(found.under),
        "over": _percent(found.over),
        "limit": _percent(limit),
    }
    if verdict == PASS:
        detail = _("Exposure is fine: %(under)s%% of the cervix too dark, %(over)s%% burnt out.")
    elif side == "under":
        detail = _(
            "%(under)s%% of the cervix is too dark to see (more than %(limit)s%%): under-exposed."
        )
    else:
        detail = _(
            "%(over)s%% of the cervix is burnt out to white (more than %(limit)s%%): over-exposed."
        )
    return Finding(
        verdict=verdict,
        detail=detail % shares,
        value=round(value, 4),
        threshold=limit,
        extra={"under": round(found.under, 4), "over": round(found.over, 4), "side": side},
    )


# --------------------------------------------------------------------------------- glare


def decide_glare(value: float, t: dict) -> tuple[str, float]:
    return decide_above(value, t["warn_above"], t["fail_above"])


def glare(ctx: ImageContext) -> Finding:
    t = ctx.thresholds("glare")
    value = measures.fraction(ctx.highlights, ctx.region)
    verdict, limit = decide_glare(value, t)
    shares = {"share": _percent(value), "limit": _percent(limit)}
    if verdict == PASS:
        detail = _("Specular highlights cover %(share)s%% of the cervix.")
    else:
        detail = _(
            "Specular highlights cover %(share)s%% of the cervix (more than %(limit)s%%): "
            "they hide the surface beneath."
        )
    mask = ctx.highlights & ctx.region
    return Finding(
        verdict=verdict,
        detail=detail % shares,
        value=round(value, 4),
        threshold=limit,
        overlay=overlay.mask_png(mask, overlay.GLARE_COLOUR) if mask.any() else None,
    )


# --------------------------------------------------------------------------------- blood


def decide_blood(value: float, t: dict) -> tuple[str, float]:
    return decide_above(value, t["warn_above"], t["fail_above"])


def blood(ctx: ImageContext) -> Finding:
    t = ctx.thresholds("blood")
    share, mask = measures.blood(ctx.hsv, ctx.region)
    verdict, limit = decide_blood(share, t)
    shares = {"share": _percent(share), "limit": _percent(limit)}
    if verdict == PASS:
        detail = _("Blood covers %(share)s%% of the cervix.")
    else:
        detail = _(
            "Blood covers %(share)s%% of the cervix (more than %(limit)s%%): it may hide lesions."
        )
    mask &= ctx.region
    return Finding(
        verdict=verdict,
        detail=detail % shares,
        value=round(share, 4),
        threshold=limit,
        overlay=overlay.mask_png(mask, overlay.BLOOD_COLOUR) if mask.any() else None,
    )


# -------------------------------------------------------------------------------- framing


def decide_framing(at_edge: float, area: float, t: dict) -> tuple[str, float, float, str]:
    """(verdict, value, limit, "edge" or "area"): the worse of the two."""
    cut = decide_above(at_edge, t["edge_warn_above"], t["edge_fail_above"])
    small = decide_below(area, t["area_warn_below"], t["area_fail_below"])
    if _RANK[small[0]] > _RANK[cut[0]]:
        return small[0], area, small[1], "area"
    return cut[0], at_edge, cut[1], "edge"


def framing(ctx: ImageContext) -> Finding:
    t = ctx.thresholds("framing")
    found = measures.framing(ctx.region)
    verdict, value, limit, side = decide_framing(found.at_edge, found.area, t)
    shares = {
        "edge": _percent(found.at_edge),
        "area": _percent(found.area),
        "limit": _percent(limit),
    }
    if verdict == PASS:
        detail = _(
            "The cervix is within the frame (edge contact %(edge)s%%) and fills %(area)s%% of it."
        )
    elif side == "edge":
        detail = _(
            "The cervix is cut off by the frame's edges (edge contact %(edge)s%%, more than "
            "%(limit)s%%)."
        )
    else:
        detail = _(
            "The cervix fills only %(area)s%% of the frame (less than %(limit)s%%): too far "
            "away to judge."
        )
    return Finding(
        verdict=verdict,
        detail=detail % shares,
        value=round(value, 4),
        threshold=limit,
        extra={"at_edge": round(found.at_edge, 4), "area": round(found.area, 4), "side": side},
    )


# ------------------------------------------------------------------------ step consistency


def judge_step(declared: str, seen: str) -> str:
    """The verdict for an image of the `declared` step that looks like `seen`. A green-filter
    image in full colour is a warning, not a mismatch: many real exports keep the colour frame
    of a green-filter step (the filter was not recorded in the file)."""
    expected = EXPECTED_KIND.get(declared)
    if expected is None or seen == expected:
        return PASS
    if expected == step_analysis.GREEN and seen == step_analysis.COLOUR:
        return WARN
    return FAIL


def _kind_label(kind: str) -> str:
    return {
        step_analysis.LUGOL: _("Lugol's iodine staining (mahogany brown and yellow)"),
        step_analysis.GREEN: _("a green-filter image (green or monochrome)"),
        step_analysis.COLOUR: _("a colour image (saline or acetic acid: pink, red and white)"),
    }[kind]


def classify(
    ctx: ImageContext, t: dict | None = None
) -> tuple[str, float, step_analysis.StepScores]:
    t = t if t is not None else ctx.thresholds("step_consistency")
    found = step_analysis.scores(ctx.hsv, ctx.step_area, ctx.highlights)
    seen, confidence = step_analysis.classify(found, t["lugol_min"], t["green_min"])
    return seen, confidence, found


def step_consistency(ctx: ImageContext) -> Finding:
    t = ctx.thresholds("step_consistency")
    declared = ctx.image.step
    seen, confidence, found = classify(ctx, t)
    extra = {"seen": seen, "confidence": round(confidence, 3), "scores": found.as_dict()}
    score = {step_analysis.LUGOL: found.lugol, step_analysis.GREEN: found.green}
    expected = EXPECTED_KIND.get(declared)
    verdict = judge_step(declared, seen)
    looks = {"seen": _kind_label(seen)}
    if expected is None:
        return Finding(
            verdict=PASS,
            detail=_(
                "Not judged: the check cannot tell what an image of this step should look like "
                "(it looks like %(seen)s)."
            )
            % looks,
            extra={**extra, "note": "step not judged"},
        )
    # The value and limit: the score of the kind the declared step needs, against its
    # threshold; for a colour step, the score of the kind it was taken for (Lugol's iodine where
    # it looks like colour: the score it stays below).
    kind = expected
    if expected == step_analysis.COLOUR:
        kind = seen if seen != step_analysis.COLOUR else step_analysis.LUGOL
    value = score.get(kind)
    limit = {step_analysis.LUGOL: t["lugol_min"], step_analysis.GREEN: t["green_min"]}.get(kind)
    if verdict == PASS:
        detail = _("The image looks like its step: %(seen)s.") % looks
    elif verdict == WARN:
        detail = _(
            "Labelled green filter, but the image is in full colour: the filter may not have "
            "been recorded in the file, or the step is another one."
        )
    else:
        detail = (
            _("The image does not look like its declared step: it looks like %(seen)s.") % looks
        )
    return Finding(
        verdict=verdict,
        detail=detail,
        value=round(value, 4) if value is not None else None,
        threshold=limit,
        extra=extra,
    )


def suggest_step(data: bytes, thresholds: dict | None = None) -> tuple[str, float] | None:
    """(step code, confidence 0..1) to suggest for an image (its file's bytes) whose step is not
    given: Lugol's iodine -> after_lugol, green filter -> green_filter, colour ->
    after_acetic_acid (with a confidence of at most 0.5: colour does not tell saline from acetic
    acid); None where the file cannot be decoded. A suggestion for the contributor to confirm or
    change, never a step stored silently. The image is seen exactly as step_consistency sees it
    (one ImageContext)."""
    from curation.checks.defaults import DEFAULTS

    ctx = ImageContext.for_file(data)
    try:
        _decoded = ctx.decoded  # decoded once here, shared by the classification below
    except analysis.Undecodable:
        return None
    seen, confidence, _found = classify(ctx, thresholds or DEFAULTS["step_consistency"])
    if seen == step_analysis.COLOUR:
        confidence = min(confidence, COLOUR_SUGGESTION_CONFIDENCE)
    return SUGGESTED_STEP[seen], round(confidence, 3)


# ------------------------------------------------------------------------ the registrations


def verdicts_from_measures(m: dict, defaults: dict) -> dict[str, str]:
    """Each check's verdict from the measures bench/calibrate_checks.py records for an image."""
    step_t = defaults["step_consistency"]
    seen, _confidence = step_analysis.classify(
        step_analysis.StepScores(m["lugol"], m["green"], m["grey"]),
        step_t["lugol_min"],
        step_t["green_min"],
    )
    return {
        "resolution": decide_resolution(max(m["width"], m["height"]), defaults["resolution"])[0],
        "focus": decide_focus(m["focus"], defaults["focus"])[0],
        "exposure": decide_exposure(m["under"], m["over"], defaults["exposure"])[0],
        "glare": decide_glare(m["glare"], defaults["glare"])[0],
        "blood": decide_blood(m["blood"], defaults["blood"])[0],
        "framing": decide_framing(m["at_edge"], m["area"], defaults["framing"])[0],
        "step_consistency": judge_step(m["step"], seen),
    }


# 2: colour and area measures on the colour image (COLOUR_SIDE), the step judged on the region and
# the centre together, thresholds recalibrated. 3: OpenCV kernels (HSV, grey, resampling,
# Laplacian, morphology), lugol_min recalibrated (docs/quality-checks.md, "Cost"). A new version's
# results are stored beside the old ones' (`run_checks --force` brings every case up to date).
VERSION = "3"

for _name, _run, _label in (
    ("resolution", resolution, gettext_lazy("Resolution")),
    ("focus", focus, gettext_lazy("Focus")),
    ("exposure", exposure, gettext_lazy("Exposure")),
    ("glare", glare, gettext_lazy("Glare")),
    ("blood", blood, gettext_lazy("Blood")),
    ("step_consistency", step_consistency, gettext_lazy("Step consistency")),
    ("framing", framing, gettext_lazy("Framing")),
):
    register(Check(name=_name, version=VERSION, level="image", run=_run, label=_label))
