"""Running the automated checks on a case and keeping their results (docs/quality-checks.md).

`run_case_checks` is what the core's quality-check hook calls (registered in CurationConfig.ready)
when a submitted case reaches its checks, on the `curation` queue; `run_checks` runs it again by
hand. Each image's file is read and decoded once for all its checks (curation.checks.context).

- One result per image (or case), check and version: a check already done at its current
  version is not run again (a redelivered task after a killed worker finishes only what is
  missing), unless `force` (thresholds changed).
- A check that crashes on an image records an `error` verdict with the reason, and the other
  checks still run; an outage (storage, database) is raised, for the task to retry.
"""

import logging
from dataclasses import dataclass, field

from django.utils.translation import gettext as _

from curation.checks import registry
from curation.checks.context import CaseContext, ImageContext
from curation.checks.registry import Finding
from curation.models import CheckResult, Verdict
from imagebank import outages, storage
from imagebank.models import Case, Image, ProcessingStatus

logger = logging.getLogger(__name__)


@dataclass
class ChecksOutcome:
    """What one run did: results written and skipped (already there), and checks that crashed."""

    written: int = 0
    skipped: int = 0
    errors: list[str] = field(default_factory=list)


def _crashed(check: registry.Check, error: Exception) -> Finding:
    logger.exception("check %s crashed", check.name)
    return Finding(
        verdict=Verdict.ERROR,
        detail=_("The check could not run on this image (%(error)s); look at it yourself.")
        % {"error": type(error).__name__},
        extra={"error": f"{type(error).__name__}: {error}"[:300]},
    )


def _run_one(check: registry.Check, context) -> tuple[Finding, bool]:
    """The check's finding, and whether it crashed. Outages are raised."""
    try:
        return check.run(context), False
    except Exception as error:
        if outages.is_transient(error):
            raise
        return _crashed(check, error), True


def _store(case: Case, image: Image | None, check: registry.Check, finding: Finding, thresholds):
    overlay = ""
    if finding.overlay:
        overlay = storage.store_bytes(finding.overlay, "png", prefix="overlays").key
    CheckResult.objects.update_or_create(
        case=case,
        image=image,
        check_name=check.name,
        version=check.version,
        defaults={
            "value": finding.value,
            "threshold": finding.threshold,
            "thresholds": thresholds,
            "verdict": finding.verdict,
            "detail": str(finding.detail)[:500],
            "overlay": overlay,
            "extra": finding.extra,
        },
    )


def _done(case: Case) -> set[tuple[int | None, str, str]]:
    return set(
        CheckResult.objects.filter(case=case).values_list("image_id", "check_name", "version")
    )


def run_case_checks(case: Case, *, force: bool = False) -> ChecksOutcome:
    """Run every registered check on the case's processed images and on the case."""
    outcome = ChecksOutcome()
    done = set() if force else _done(case)
    images = list(
        Image.objects.filter(case=case, processing_status=ProcessingStatus.DONE)
        .select_related("case__site")
        .order_by("display_order")
    )
    for image in images:
        due = [
            check
            for check in registry.checks("image")
            if (image.pk, check.name, check.version) not in done
        ]
        outcome.skipped += len(registry.checks("image")) - len(due)
        if not due:
            continue
        context = ImageContext(image=image, data=storage.read_bytes(image.file.name))
        for check in due:
            finding, crashed = _run_one(check, context)
            if crashed:
                outcome.errors.append(f"{check.name}@{image.pk}")
            _store(case, image, check, finding, context.thresholds(check.name))
            outcome.written += 1

    case_context = CaseContext(case=case, images=images)
    for check in registry.checks("case"):
        if (None, check.name, check.version) in done:
            outcome.skipped += 1
            continue
        finding, crashed = _run_one(check, case_context)
        if crashed:
            outcome.errors.append(check.name)
        _store(case, None, check, finding, case_context.thresholds(check.name))
        outcome.written += 1
    return outcome


def quality_check_hook(case: Case) -> None:
    """The core's quality-check hook (imagebank.hooks.register_quality_check)."""
    outcome = run_case_checks(case)
    logger.info(
        "checks of case %s: %s written, %s already done, crashed: %s",
        case.pk,
        outcome.written,
        outcome.skipped,
        ", ".join(outcome.errors) or "none",
    )
