"""The real IARC sample (../shared/data/iarc) through the `ingest` command: every listed image that
exists, every case with its metadata coded (normal and abnormal cases, both banks), the few values
that cannot map reported with their reason, and an idle second run.

Skips where the folder is absent (a fresh clone); fails instead under REQUIRE_SERVICES=1 (CI)."""

import json
from collections import Counter

import pytest
from django.core.management import call_command
from openpyxl import load_workbook

from imagebank.filenames import withheld_name
from imagebank.models import Case, Image, Site
from tests.conftest import SHARED_DATA, require_service

IARC = SHARED_DATA / "iarc"
COLPOSCOPY, VIA = IARC / "colposcopy", IARC / "via"
# The sample as its README describes it: cases and listed images per bank.
COLPOSCOPY_CASES, COLPOSCOPY_IMAGES = 48, 219
VIA_CASES, VIA_IMAGES = 75, 167

# Each histology wording of the sample, graded by hand from LAST / WHO 2020 (not by the bank's
# vocabulary), so the grades the import stores are checked against the terminology itself.
GRADE_OF_WORDING = {
    "Not done": "not_done",
    "Normal": "normal",
    "LSIL-HPV changes": "lsil",
    "LSIL-CIN1": "lsil",
    "HSIL-CIN2": "hsil_cin2",
    "HSIL-CIN3": "hsil_cin3",
    "Adenocarcinoma in situ": "hsil_cin3",
    "Microinvasive carcinoma": "cancer",
    "Microinvasive squamous cell carcinoma": "cancer",
    "Invasive squamous cell carcinoma": "cancer",
    "Squamous cell carcinoma": "cancer",
    "Adenocarcinoma": "cancer",
}

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


def histology_wordings(bank, workbook: str, header_rows: int) -> dict[str, str]:
    """{CaseID: histology wording} from the bank's metadata sheet."""
    sheet = load_workbook(bank / workbook, read_only=True).worksheets[0]
    rows = list(sheet.iter_rows(values_only=True))
    header = [str(cell or "").strip() for cell in rows[header_rows - 1]]
    column = next(i for i, h in enumerate(header) if h.startswith("Histo"))
    return {
        str(row[1]).strip(): str(row[column]).strip()
        for row in rows[header_rows:]
        if row[0] is not None
    }


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


def by_name() -> dict[str, Image]:
    """Images by the name they had in the export (the bank keeps only its stand-in: IARC names
    files after the CaseID)."""
    names = [name for bank in (COLPOSCOPY, VIA) for _case, name, _step in listed(bank)]
    images = {image.original_filename: image for image in Image.objects.select_related("case")}
    return {name: images[withheld_name(name)] for name in names if withheld_name(name) in images}


def case_of(images: dict[str, Image], case_id: str) -> Case:
    """The case whose files are named after `case_id` (IARC's "AABG1.jpg" is CaseID AABG's)."""
    name = next(n for n in images if n.startswith(case_id) and n[len(case_id)].isdigit())
    return images[name].case


def test_the_shared_banks_come_in_whole_and_coded(first_run):
    """One import of both banks, checked from every side (an import takes a while)."""
    images = by_name()
    check_every_listed_image_and_every_case_comes_in(first_run, images)
    check_each_case_keeps_its_reference_at_the_source(images)
    check_normal_cases_metadata_matches_the_spreadsheets(images)
    check_abnormal_cases_carry_their_grade_impression_and_findings(images)
    check_every_case_has_its_histology_graded_as_the_terminology_grades_it(images)
    check_the_report_codes_every_value_or_says_why_not(first_run)


def check_every_listed_image_and_every_case_comes_in(first_run, images):
    colposcopy, via = listed(COLPOSCOPY), listed(VIA)
    assert (len(colposcopy), len(via)) == (COLPOSCOPY_IMAGES, VIA_IMAGES)
    site = Site.objects.get(slug="iarc-sample")
    assert Case.objects.filter(site=site).count() == COLPOSCOPY_CASES + VIA_CASES
    assert Image.objects.filter(case__site=site).count() == COLPOSCOPY_IMAGES + VIA_IMAGES
    summary = first_run["summary"]
    assert summary["cases_created"] == COLPOSCOPY_CASES + VIA_CASES
    assert (summary["images_left_out"], summary["errors"]) == (0, 0)

    assert len(images) == COLPOSCOPY_IMAGES + VIA_IMAGES
    # Each image has its step, its wording, and its place in the case as the sheet orders it.
    assert images["AAAW1.jpg"].step == "before_acetic_acid"
    assert images["AAAW1.jpg"].step_original_wording == "After normal saline"
    assert images["AAAW2.jpg"].step == "green_filter"
    assert images["AAAW4.jpg"].step == "after_lugol"
    assert images["AADG0.jpg"].step == "other"
    assert images["AADG0.jpg"].step_original_wording == "Speculum examination"
    assert images["AHT2.jpg"].step == "after_acetic_acid"
    assert not any(image.step_is_guess for image in images.values())  # the sheet says each step
    case_001 = images["AAAW1.jpg"].case
    assert list(case_001.images.order_by("display_order").values_list("pk", flat=True)) == [
        images[name].pk for name in ("AAAW1.jpg", "AAAW3.jpg", "AAAW2.jpg", "AAAW4.jpg")
    ]  # the sheet's Sort column
    # The VIA bank's "case 010": lowercase folder, no Sort column, so row order.
    assert list(images["AJG0.jpg"].case.images.values_list("pk", flat=True)) == [
        images["AJG0.jpg"].pk,
        images["AJG1.jpg"].pk,
    ]
    # Every step wording of both sheets maps to a step: none left as an unknown "other".
    steps = Counter((image.step_original_wording, image.step) for image in images.values())
    assert not [wording for (wording, step), _n in steps.items() if step == "other" and not wording]


def check_each_case_keeps_its_reference_at_the_source(images):
    assert images["AAAW1.jpg"].case.source_reference == "Case 001"
    assert case_of(images, "AABG").source_reference == "Case 127"
    assert images["AFC0.jpg"].case.source_reference == "Case 001"  # the VIA bank's own Case 001


def check_normal_cases_metadata_matches_the_spreadsheets(images):
    case_001 = images["AAAW1.jpg"].case
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
    assert (case_001.histopathology, case_001.histopathology_grade) == ("not_done", "not_done")
    assert case_001.provisional_diagnosis == "normal"
    assert case_001.provisional_diagnosis_text == "Type 1 transformation zone; normal"
    assert case_001.management == "repeat_in_1_year"

    case_005 = images["AAER0.jpg"].case
    assert case_005.lesion_clock_positions == list(range(1, 13))  # "All around"
    assert (case_005.lesion_quadrants, case_005.lesion_extent) == (4, "25_50")
    assert images["AAGG0.jpg"].case.lesion_clock_positions == [4, 5, 6, 7]
    assert images["AAGG0.jpg"].case.grade_1_findings == ["thin_acetowhite"]
    assert images["AAIO0.jpg"].case.miscellaneous_findings == ["polyp_endocervical"]

    case_008 = images["AAFZ0.jpg"].case  # SwedeFinal 99, iodine uptake "Unknown"
    assert case_008.swede_not_assessable and case_008.swede_total is None
    assert case_008.swede_iodine_uptake == "not_assessed"  # "Unknown" is a value


def check_abnormal_cases_carry_their_grade_impression_and_findings(images):
    hsil = case_of(images, "AABG")  # Case 127
    assert (hsil.histopathology, hsil.histopathology_grade) == ("cin2", "hsil_cin2")
    assert (hsil.provisional_diagnosis, hsil.transformation_zone) == ("hsil", "type_3")
    assert hsil.swede_aceto_uptake == "distinct_stearin"

    vagina = case_of(images, "AACB")  # HSIL of the cervix extending to the vagina
    assert (vagina.provisional_diagnosis, vagina.histopathology_grade) == ("hsil", "hsil_cin3")
    assert vagina.provisional_diagnosis_text.endswith("of the cervix extending to the vagina")

    cancer = case_of(images, "AADV")  # Case 147
    assert (cancer.histopathology, cancer.histopathology_grade) == ("scc", "cancer")
    assert cancer.provisional_diagnosis == "invasive_cancer"
    assert cancer.histopathology_text == "Invasive squamous cell carcinoma"

    ais = case_of(images, "AAAF")  # suspicion of adenocarcinoma; AIS on histology
    assert (ais.histopathology, ais.histopathology_grade) == ("ais", "hsil_cin3")
    assert ais.provisional_diagnosis == "invasive_cancer"

    condyloma = case_of(images, "AAHW")
    assert (condyloma.provisional_diagnosis, condyloma.histopathology) == ("lsil", "lsil_hpv")

    recurrence = case_of(images, "AAIY")  # "Recurrence after LLETZ": no impression in it
    assert recurrence.provisional_diagnosis == ""
    assert recurrence.provisional_diagnosis_text == "Recurrence after LLETZ"
    assert recurrence.management == "excision"  # "Repeat LLETZ"

    assert Case.objects.filter(via_result="suspicious_for_cancer").count() == 7
    assert Case.objects.filter(acetowhite_margin="sharp_raised").count() == 8


def check_every_case_has_its_histology_graded_as_the_terminology_grades_it(images):
    for bank, workbook, header_rows in (
        (COLPOSCOPY, "Cases Meta data.xlsx", 2),
        (VIA, "meta_data.xlsx", 1),
    ):
        for case_id, wording in histology_wordings(bank, workbook, header_rows).items():
            case = case_of(images, case_id)
            assert case.histopathology_grade == GRADE_OF_WORDING[wording], case_id
    grades = Counter(Case.objects.values_list("histopathology_grade", flat=True))
    assert "" not in grades  # every case has one: the label every benchmark needs
    cin2_plus = Case.objects.filter(histopathology_grade__in=["hsil_cin2", "hsil_cin3", "cancer"])
    assert cin2_plus.count() == grades["hsil_cin2"] + grades["hsil_cin3"] + grades["cancer"] > 20


def check_the_report_codes_every_value_or_says_why_not(first_run):
    warnings = [p for p in first_run["problems"] if p["level"] == "warning"]
    # All that is left: one impression that names none, and three where the TZ type written in
    # the provisional diagnosis disagrees with the TZ column (the column is kept).
    assert sorted((p["case"], p["field"]) for p in warnings) == [
        ("Case 021", "Provisional diagnosis"),
        ("Case 138", "Provisional diagnosis"),
        ("Case 192", "Provisional diagnosis"),
        ("Case 197", "Provisional diagnosis"),
    ]
    recurrence = next(p for p in warnings if p["case"] == "Case 197")
    assert "Recurrence after LLETZ" in recurrence["message"] and "IARC" in recurrence["message"]
    assert all("the column is kept" in p["message"] for p in warnings if p["case"] != "Case 197")
    notes = [p for p in first_run["problems"] if p["level"] == "info"]
    assert any("Endocervical" in p["message"] and "place" in p["message"] for p in notes)
    infos = " ".join(p["message"] for p in notes)
    assert "case 010" in infos and "case 015" in infos and "Acitowhite area color" in infos
    assert first_run["summary"]["errors"] == 0
    # Nothing else was left in the notes: every other value has its code.
    assert list(Case.objects.exclude(notes="").values_list("notes", flat=True)) == [
        "Imported values kept as written: Location of the lesion by clock position = 'Endocervical'"
    ]


def test_a_second_run_creates_nothing(first_run, tmp_path):
    before = (Case.objects.count(), Image.objects.count())
    again = import_both(tmp_path, "second.json")
    assert (Case.objects.count(), Image.objects.count()) == before
    summary = again["summary"]
    assert (summary["cases_created"], summary["images_added"]) == (0, 0)
    assert summary["cases_unchanged"] == COLPOSCOPY_CASES + VIA_CASES
    assert summary["images_already_in_bank"] == COLPOSCOPY_IMAGES + VIA_IMAGES
    assert {case["outcome"] for case in again["cases"]} == {"unchanged"}
