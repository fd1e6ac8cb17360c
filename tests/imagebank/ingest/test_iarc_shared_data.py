"""The real IARC sample (../shared/data/iarc) through the `ingest` command: every listed image that
exists, every case with its metadata, the sample's faults in the report, and an idle second run.

Skips where the folder is absent (a fresh clone); fails instead under REQUIRE_SERVICES=1 (CI)."""

import json

import pytest
from django.core.management import call_command
from openpyxl import load_workbook

from imagebank.models import Case, Image, Site
from tests.conftest import SHARED_DATA, require_service

IARC = SHARED_DATA / "iarc"
COLPOSCOPY, VIA = IARC / "colposcopy", IARC / "via"

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("local_storage")]


@pytest.fixture
def iarc_data():
    require_service(
        COLPOSCOPY.is_dir() and VIA.is_dir(),
        f"the IARC sample is not at {IARC} (it is kept outside the repository)",
    )


def listed(bank) -> list[tuple[int, str, str]]:
    """(case number, file, step wording) per row of the bank's images sheet, as IARC wrote it."""
    sheet = load_workbook(bank / "Cases - Images.xlsx", read_only=True).worksheets[0]
    rows = [row for row in sheet.iter_rows(min_row=2, values_only=True) if row[0] is not None]
    return [(int(row[0]), str(row[1]).strip(), str(row[-1]).strip()) for row in rows]


def import_both(tmp_path, name: str) -> dict:
    report = tmp_path / name
    call_command(
        "ingest", str(COLPOSCOPY), str(VIA), "--site", "iarc-sample", "--report", str(report)
    )
    return json.loads(report.read_text(encoding="utf-8"))


@pytest.fixture
def first_run(iarc_data, tmp_path):
    call_command("create_site", "iarc-sample", "--name", "IARC sample", "--country", "FR")
    return import_both(tmp_path, "first.json")


def test_every_listed_image_and_every_case_comes_in(first_run):
    colposcopy, via = listed(COLPOSCOPY), listed(VIA)
    assert (len(colposcopy), len(via)) == (108, 41)
    site = Site.objects.get(slug="iarc-sample")
    assert Case.objects.filter(site=site).count() == 25 + 20
    assert Image.objects.filter(case__site=site).count() == 108 + 41
    assert first_run["summary"]["cases_created"] == 45
    assert first_run["summary"]["images_left_out"] == 0

    stored = {
        (image.original_filename, image.case.subject_id): image
        for image in Image.objects.select_related("case")
    }
    assert len(stored) == 149
    by_name = {name: image for (name, _subject), image in stored.items()}
    # Each image has its step, its wording, and its place in the case as the sheet orders it.
    assert by_name["AAAW1.jpg"].step == "before_acetic_acid"
    assert by_name["AAAW1.jpg"].step_original_wording == "After normal saline"
    assert by_name["AAAW2.jpg"].step == "green_filter"
    assert by_name["AAAW4.jpg"].step == "after_lugol"
    assert by_name["AADG0.jpg"].step == "other"
    assert by_name["AADG0.jpg"].step_original_wording == "Speculum examination"
    assert by_name["AHT2.jpg"].step == "after_acetic_acid"
    case_001 = by_name["AAAW1.jpg"].case
    assert list(
        case_001.images.order_by("display_order").values_list("original_filename", flat=True)
    ) == ["AAAW1.jpg", "AAAW3.jpg", "AAAW2.jpg", "AAAW4.jpg"]  # the sheet's Sort column
    assert list(
        by_name["AJG0.jpg"]  # VIA "case 010", lowercase folder, no Sort column: row order
        .case.images.order_by("display_order")
        .values_list("original_filename", flat=True)
    ) == ["AJG0.jpg", "AJG1.jpg"]


def test_metadata_matches_the_spreadsheets(first_run):
    images = {image.original_filename: image.case for image in Image.objects.select_related("case")}
    case_001 = images["AAAW1.jpg"]
    assert case_001.hpv_result == "positive"
    assert case_001.transformation_zone == "type_1"
    assert case_001.normal_findings == [
        "squamous_mature",
        "columnar_ectopy_absent",
        "metaplastic_nabothian_cysts",
    ]
    assert (
        case_001.swede_aceto_uptake,
        case_001.swede_margins,
        case_001.swede_vessels,
        case_001.swede_lesion_size,
        case_001.swede_iodine_uptake,
        case_001.swede_total,
    ) == (
        "nil_or_transparent",
        "nil_or_diffuse",
        "fine_regular",
        "lt_5mm",
        "faint_or_patchy_yellow",
        1,
    )
    assert case_001.histopathology == "not_done"
    assert case_001.provisional_diagnosis == "normal"
    assert case_001.provisional_diagnosis_text == "Type 1 transformation zone; normal"
    assert case_001.management == "repeat_in_1_year"

    case_005 = images["AAER0.jpg"]
    assert case_005.lesion_clock_positions == list(range(1, 13))  # "All around"
    assert (case_005.lesion_quadrants, case_005.lesion_extent) == (4, "25_50")
    case_013 = images["AAGG0.jpg"]
    assert case_013.lesion_clock_positions == [4, 5, 6, 7]
    assert case_013.grade_1_findings == ["thin_acetowhite"]
    assert images["AAJF0.jpg"].lesion_clock_positions == [5, 6, 7, 8]  # "05-08 o'clock"
    assert images["AAIO0.jpg"].miscellaneous_findings == ["polyp_endocervical"]
    assert images["AAFY0.jpg"].normal_findings[-2:] == [
        "metaplastic_nabothian_cysts",
        "metaplastic_crypt_openings",
    ]

    case_008 = images["AAFZ0.jpg"]  # SwedeFinal 99, iodine uptake "Unknown"
    assert case_008.swede_not_assessable and case_008.swede_total is None
    assert case_008.swede_iodine_uptake == ""
    assert "Iodine uptake = 'Unknown'" in case_008.notes
    assert images["AAHV0.jpg"].swede_not_assessable

    via_001 = images["AFC0.jpg"]
    assert (via_001.scj_visibility, via_001.scj_location) == ("completely_visible", "ectocervix")
    assert (via_001.acetowhite_area, via_001.acetowhite_colour) == ("present", "thin")
    assert via_001.acetowhite_location == "within_tz"
    assert via_001.acetowhite_size == "more_than_75"
    assert (via_001.via_result, via_001.ablation_eligibility) == ("negative", "eligible")
    via_007 = images["AFE0.jpg"]
    assert (via_007.scj_visibility, via_007.ablation_eligibility) == ("not_visible", "not_eligible")
    assert images["AGY0.jpg"].scj_location == "ecto_and_endocervix"


def test_the_report_lists_the_problems_of_the_sample(first_run):
    problems = [
        (p["level"], p["case"], p["file"], p["row"], p["field"]) for p in first_run["problems"]
    ]
    assert ("warning", "Case 008", "Cases Meta data.xlsx", 10, "Iodine uptake") in problems
    assert ("warning", "Case 008", "Cases Meta data.xlsx", 10, "SwedeFinal") in problems
    assert ("warning", "Case 015", "Cases Meta data.xlsx", 17, "SwedeFinal") in problems
    infos = " ".join(p["message"] for p in first_run["problems"] if p["level"] == "info")
    assert "case 010" in infos and "case 015" in infos and "Acitowhite area color" in infos
    assert first_run["summary"]["errors"] == 0


def test_a_second_run_creates_nothing(first_run, tmp_path):
    before = (Case.objects.count(), Image.objects.count())
    again = import_both(tmp_path, "second.json")
    assert (Case.objects.count(), Image.objects.count()) == before
    summary = again["summary"]
    assert (summary["cases_created"], summary["images_added"]) == (0, 0)
    assert summary["cases_unchanged"] == 45
    assert summary["images_already_in_bank"] == 149
    assert {case["outcome"] for case in again["cases"]} == {"unchanged"}
