"""The automated checks' section of the case page: each image's preview with the verdict of the
latest version of every check (value and threshold on hover, focus or tap), the blood and glare
overlays toggled over the preview, and the case-level results first.

Registered with the core's case-page hook (imagebank.hooks.register_case_panel) in
CurationConfig.ready(); the core calls it only for a user who may see the case, and
curation.selectors.case_results filters again. The contributor sees it as soon as the checks have
run, so an unusable image can be replaced before a reviewer spends time on it.
"""

from dataclasses import dataclass, field

from django.http import HttpRequest
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.safestring import SafeString

from curation import selectors
from curation.forms import check_label
from curation.models import CheckResult, Verdict
from imagebank import vocabularies as vocab
from imagebank.lifecycle import CaseState
from imagebank.models import Case, ProcessingStatus

# Not colour alone: each verdict has its word and a sign besides its colour.
VERDICT_SIGNS = {Verdict.PASS: "✓", Verdict.WARN: "!", Verdict.FAIL: "✕", Verdict.ERROR: "?"}
# The case is between its submission and the review queue: its checks are queued or running.
CHECKING_STATES = frozenset({CaseState.SUBMITTED, CaseState.QUALITY_CHECKS})


@dataclass
class ResultRow:
    result: CheckResult
    label: str
    verdict_label: str
    sign: str
    thresholds: list[tuple[str, float]]
    overlay_url: str = ""


@dataclass
class ImageRow:
    image: object
    step_label: str
    preview_url: str
    results: list[ResultRow] = field(default_factory=list)

    @property
    def overlays(self) -> list[ResultRow]:
        return [row for row in self.results if row.overlay_url]


def _result_row(result: CheckResult) -> ResultRow:
    verdict = Verdict(result.verdict) if result.verdict in Verdict.values else Verdict.ERROR
    return ResultRow(
        result=result,
        label=check_label(result.check_name),
        verdict_label=str(verdict.label),
        sign=VERDICT_SIGNS[verdict],
        thresholds=sorted((result.thresholds or {}).items()),
        overlay_url=reverse("curation:check-overlay", args=[result.pk]) if result.overlay else "",
    )


def _panel_state(case: Case, results: list[CheckResult]) -> str:
    if case.state in CHECKING_STATES:
        return "running"
    if results:
        return "done"
    return "draft" if case.state == CaseState.DRAFT else "not_run"


def case_checks_panel(request: HttpRequest, case: Case) -> SafeString:
    """The section's HTML (imagebank.hooks.register_case_panel)."""
    results = selectors.case_results(request.user, case)
    rows = {
        image.pk: ImageRow(
            image=image,
            step_label=vocab.EXAMINATION_STEP.label(image.step),
            preview_url=reverse(
                "imagebank:image-file", kwargs={"pk": image.pk, "variant": "preview"}
            )
            if image.processing_status == ProcessingStatus.DONE and image.preview
            else "",
        )
        for image in sorted(case.images.all(), key=lambda image: image.display_order)
    }
    case_level = []
    for result in results:
        if result.image_id is None:
            case_level.append(_result_row(result))
        elif result.image_id in rows:
            rows[result.image_id].results.append(_result_row(result))
    counts = [
        (verdict.value, VERDICT_SIGNS[verdict], verdict.label, n)
        for verdict in Verdict
        if (n := sum(result.verdict == verdict for result in results))
    ]
    return render_to_string(
        "curation/case_checks.html",
        {
            "case": case,
            "state": _panel_state(case, results),
            "case_results": case_level,
            "images": list(rows.values()),
            "counts": counts,
            "has_results": bool(results),
        },
        request=request,
    )
