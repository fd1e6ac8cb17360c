"""Case-level checks: the whole examination, not one image."""

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from curation.checks.context import CaseContext
from curation.checks.registry import Check, Finding, register
from imagebank import submission
from imagebank import vocabularies as vocab

# A site that requires no steps before submission is still told when the three core steps of a
# colposcopic examination are not all there (a warning): the bank's releases expect them.
_SITE_STEP_REQUIREMENTS = {
    "core_steps": submission.CORE_STEPS,
    "acetic_acid_steps": submission.ACETIC_ACID_STEPS,
}


def required_steps(site) -> tuple[tuple[str, ...], bool]:
    """The steps a case of this site must have, and whether the site requires them (True) or
    the bank only expects them (False)."""
    for code, steps in _SITE_STEP_REQUIREMENTS.items():
        if code in (site.submission_requirements or []):
            return steps, True
    return submission.CORE_STEPS, False


def sequence_complete(ctx: CaseContext) -> Finding:
    steps, required = required_steps(ctx.case.site)
    present = {image.step for image in ctx.images}
    missing = [step for step in steps if step not in present]
    extra = {"required": list(steps), "missing": missing, "required_by_site": required}
    if not missing:
        return Finding(
            verdict="pass",
            detail=_("Every step the sequence needs is there."),
            value=0,
            threshold=0,
            extra=extra,
        )
    names = "; ".join(str(vocab.EXAMINATION_STEP.label(step)) for step in missing)
    return Finding(
        verdict="fail" if required else "warn",
        detail=_("No image of these steps: %(steps)s.") % {"steps": names},
        value=len(missing),
        threshold=0,
        extra=extra,
    )


register(
    Check(
        name="sequence_complete",
        version="1",
        level="case",
        run=sequence_complete,
        label=gettext_lazy("Sequence complete"),
    )
)
