"""`run_checks` and `quality_report`: the commands curators and scripts use."""

import csv
import io
import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from curation.checks import registry
from curation.checks.registry import Check, Finding
from curation.models import CheckResult
from imagebank.lifecycle import CaseState
from imagebank.models import Case
from tests.factories import add_core_images, make_case, make_contributor, make_site

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("local_storage")]


@pytest.fixture(autouse=True)
def two_checks(monkeypatch):
    def duplicate(ctx) -> Finding:
        match = {
            "image": 999,
            "case": 998,
            "site": "elsewhere",
            "original_filename": "AAAW1.jpg",
            "original_sha256": "a" * 64,
            "kind": "near",
            "distance": 4,
        }
        return Finding(
            "warn", "Looks like image 999.", value=4, threshold=8, extra={"matches": [match]}
        )

    checks = [
        Check(
            "focus", "1", "image", lambda ctx: Finding("pass", "Sharp.", value=40.0, threshold=20)
        ),
        Check("duplicate", "1", "image", duplicate),
        Check("sequence_complete", "1", "case", lambda ctx: Finding("pass", "All there.", value=0)),
    ]
    monkeypatch.setattr(registry, "_checks", {check.name: check for check in checks})


def submitted_case(site, **values) -> Case:
    contributor = make_contributor(site)
    case = make_case(site=site, actor=contributor, **values)
    add_core_images(case, contributor)
    Case.objects.filter(pk=case.pk).update(state=CaseState.IN_REVIEW, submitted_at=timezone.now())
    return case


def test_run_checks_on_one_case_a_site_or_all_and_again_with_force():
    site, other = make_site(), make_site()
    one, two = submitted_case(site), submitted_case(other)
    draft = make_case(site=site)
    out = io.StringIO()
    call_command("run_checks", "--case", str(one.pk), stdout=out)
    assert "1 cases: 7 results written, 0 already done" in out.getvalue()
    call_command("run_checks", "--site", other.slug, stdout=io.StringIO())
    assert CheckResult.objects.filter(case=two).count() == 7
    out = io.StringIO()
    call_command("run_checks", "--all", stdout=out)
    assert "2 cases: 0 results written, 14 already done" in out.getvalue()
    assert not CheckResult.objects.filter(case=draft).exists()
    out = io.StringIO()
    call_command("run_checks", "--all", "--force", stdout=out)
    assert "14 results written" in out.getvalue()
    assert CheckResult.objects.count() == 14


def test_run_checks_refuses_an_unknown_case_or_site_and_needs_a_choice():
    with pytest.raises(CommandError, match="No case 12345"):
        call_command("run_checks", "--case", "12345")
    with pytest.raises(CommandError, match="nowhere"):
        call_command("run_checks", "--site", "nowhere")
    with pytest.raises(CommandError):
        call_command("run_checks")


def test_the_json_report_has_a_record_per_image_and_one_per_case(tmp_path):
    site = make_site()
    case = submitted_case(site)
    call_command("run_checks", "--case", str(case.pk), stdout=io.StringIO())
    out = io.StringIO()
    call_command("quality_report", "--site", site.slug, stdout=out)
    report = json.loads(out.getvalue())
    assert len(report) == 4
    first = report[0]
    image = case.images.order_by("display_order").first()
    assert first == {
        "image": image.pk,
        "case": case.pk,
        "site": site.slug,
        "original_filename": image.original_filename,
        "original_sha256": image.original_sha256,
        "step": image.step,
        "checks": {
            "duplicate": {
                "value": 4.0,
                "threshold": 8.0,
                "verdict": "warn",
                "version": "1",
                "detail": "Looks like image 999.",
            },
            "focus": {
                "value": 40.0,
                "threshold": 20.0,
                "verdict": "pass",
                "version": "1",
                "detail": "Sharp.",
            },
        },
        "duplicates": [
            {
                "image": 999,
                "case": 998,
                "original_filename": "AAAW1.jpg",
                "original_sha256": "a" * 64,
                "kind": "near",
                "distance": 4,
            }
        ],
    }
    assert report[-1]["image"] is None and set(report[-1]["checks"]) == {"sequence_complete"}


def test_the_csv_report_has_a_row_per_image_and_check(tmp_path):
    site = make_site()
    case = submitted_case(site)
    call_command("run_checks", "--case", str(case.pk), stdout=io.StringIO())
    target = tmp_path / "report.csv"
    call_command(
        "quality_report",
        "--case",
        str(case.pk),
        "--format",
        "csv",
        "--out",
        str(target),
        stderr=io.StringIO(),
    )
    rows = list(csv.DictReader(target.open(encoding="utf-8")))
    assert len(rows) == 3 * 2 + 1
    assert {row["check"] for row in rows} == {"focus", "duplicate", "sequence_complete"}
    case_row = next(row for row in rows if row["check"] == "sequence_complete")
    assert case_row["image"] == "" and case_row["verdict"] == "pass"
