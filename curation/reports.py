"""The quality report: every image's check results and duplicates, for scripts and curators.

`records(images)` gives one record per image, and one per case for the case-level results
(`"image": null`), in the shape `manage.py quality_report` writes (docs/quality-checks.md):

    {"image": 12, "case": 3, "site": "kisumu", "original_filename": "AAAW1.jpg",
     "original_sha256": "…", "step": "after_lugol",
     "checks": {"focus": {"value": 41.2, "threshold": 20.0, "verdict": "pass", "version": "1",
                          "detail": "…"}, …},
     "duplicates": [{"image": 7, "case": 2, "original_filename": "…", "original_sha256": "…",
                     "kind": "exact", "distance": 0}]}

A check shows its result at the version registered now, or else its latest result.
"""

import csv
import io
from collections import defaultdict
from collections.abc import Iterable

from curation.checks import registry
from curation.models import CheckResult
from imagebank.models import Case, Image
from imagebank.views.reads import spreadsheet_safe  # the read audit's CSV rule

CSV_COLUMNS = (
    "image",
    "case",
    "site",
    "original_filename",
    "original_sha256",
    "step",
    "check",
    "value",
    "threshold",
    "verdict",
    "version",
    "detail",
)
DUPLICATE_FIELDS = ("image", "case", "original_filename", "original_sha256", "kind", "distance")


def _chosen(results: list[CheckResult]) -> dict[str, CheckResult]:
    """Per check name: the result at the registered version, or the latest one."""
    current = {check.name: check.version for check in registry.checks()}
    chosen: dict[str, CheckResult] = {}
    for result in sorted(results, key=lambda r: r.checked_at):
        held = chosen.get(result.check_name)
        if held is None or held.version != current.get(result.check_name):
            chosen[result.check_name] = result
    return chosen


def _entry(result: CheckResult) -> dict:
    return {
        "value": result.value,
        "threshold": result.threshold,
        "verdict": result.verdict,
        "version": result.version,
        "detail": result.detail,
    }


def _duplicates(result: CheckResult | None) -> list[dict]:
    if result is None:
        return []
    return [
        {name: match.get(name) for name in DUPLICATE_FIELDS}
        for match in result.extra.get("matches", [])
    ]


def records(images: Iterable[Image]) -> list[dict]:
    images = list(images)
    image_ids = [image.pk for image in images]
    case_ids = sorted({image.case_id for image in images})
    by_image: dict[int, list[CheckResult]] = defaultdict(list)
    by_case: dict[int, list[CheckResult]] = defaultdict(list)
    for result in CheckResult.objects.filter(case_id__in=case_ids).order_by("pk"):
        if result.image_id is None:
            by_case[result.case_id].append(result)
        elif result.image_id in image_ids:
            by_image[result.image_id].append(result)

    out: list[dict] = []
    cases = {case.pk: case for case in Case.objects.filter(pk__in=case_ids).select_related("site")}
    for case_id in case_ids:
        site = cases[case_id].site.slug
        for image in (i for i in images if i.case_id == case_id):
            chosen = _chosen(by_image[image.pk])
            out.append(
                {
                    "image": image.pk,
                    "case": case_id,
                    "site": site,
                    "original_filename": image.original_filename,
                    "original_sha256": image.original_sha256,
                    "step": image.step,
                    "checks": {name: _entry(result) for name, result in sorted(chosen.items())},
                    "duplicates": _duplicates(chosen.get("duplicate")),
                }
            )
        case_level = _chosen(by_case[case_id])
        if case_level:
            out.append(
                {
                    "image": None,
                    "case": case_id,
                    "site": site,
                    "original_filename": "",
                    "original_sha256": "",
                    "step": "",
                    "checks": {name: _entry(r) for name, r in sorted(case_level.items())},
                    "duplicates": [],
                }
            )
    return out


def as_csv(report: list[dict]) -> str:
    """One row per image (or case) and check."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    for record in report:
        for name, entry in record["checks"].items():
            writer.writerow(
                [
                    "" if record["image"] is None else record["image"],
                    record["case"],
                    record["site"],
                    spreadsheet_safe(record["original_filename"]),
                    record["original_sha256"],
                    record["step"],
                    name,
                    "" if entry["value"] is None else entry["value"],
                    "" if entry["threshold"] is None else entry["threshold"],
                    entry["verdict"],
                    entry["version"],
                    spreadsheet_safe(entry["detail"]),
                ]
            )
    return buffer.getvalue()
