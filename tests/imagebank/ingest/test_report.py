"""The import report as it is stored: file names follow the file-name policy wherever they are."""

import json

from imagebank.filenames import withheld_name
from imagebank.ingest.report import CaseResult, IngestReport, Outcome

AAAW1 = withheld_name("AAAW1.jpg")


def stored(report: IngestReport) -> str:
    return json.dumps(report.to_dict(), ensure_ascii=False)


def test_a_withheld_name_is_replaced_in_files_messages_and_case_references():
    report = IngestReport()
    report.error(
        "AAAW1.jpg is listed but not in folder “Case 001”.", file="AAAW1.jpg", row=4, case="Case 1"
    )
    report.warning("Same content as AAAW1.jpg: kept once.", file="Case 001/AAAW1.JPG")
    report.cases.append(CaseResult(reference="AAAW1.jpg", outcome=Outcome.CREATED))
    data = report.to_dict()
    first, second = data["problems"]
    assert first["file"] == AAAW1 and first["message"].startswith(f"{AAAW1} is listed")
    assert "Case 001" in first["message"]  # case folders and rows stay
    assert (first["row"], first["case"]) == (4, "Case 1")
    assert second["file"] == f"Case 001/{withheld_name('AAAW1.JPG')}"
    assert second["message"] == f"Same content as {AAAW1}: kept once."
    assert data["cases"][0]["reference"] == AAAW1
    assert "AAAW" not in stored(report)


def test_workbooks_case_folders_and_neutral_names_are_kept():
    report = IngestReport()
    report.info("Column “X” read as “hpv”.", file="Cases Meta data.xlsx", row=2)
    report.warning("Folder “case 10” read as Case 010.", file="case 10", case="Case 010")
    report.error("lugol 2.jpg is damaged.", file="images/lugol 2.jpg")
    assert [p["file"] for p in report.to_dict()["problems"]] == [
        "Cases Meta data.xlsx",
        "case 10",
        "images/lugol 2.jpg",
    ]
    assert report.to_dict()["problems"][2]["message"] == "lugol 2.jpg is damaged."


def test_a_name_learnt_with_the_patient_id_is_withheld_wherever_it_appears():
    report = IngestReport()
    report.learn_names("image 12.jpg", local_patient_id="12")
    report.warning("Same content as image 12.jpg: kept once.", file="image 3.jpg")
    [problem] = report.to_dict()["problems"]
    assert problem["message"] == f"Same content as {withheld_name('image 12.jpg')}: kept once."
    assert problem["file"] == "image 3.jpg"


def test_a_name_only_quoted_differs_in_case_or_nobody_told_the_report_is_withheld_too():
    report = IngestReport()
    report.learn_names("AAAW1.jpg")
    report.warning("Listed as aaaw1.JPG, found as AAAW1.jpg: imported.", file="Cases.xlsx")
    report.error("“../MRN99812.dcm”: a path outside the archive.", file="scans.zip")
    warning, error = report.to_dict()["problems"]
    assert warning["message"] == f"Listed as {AAAW1}, found as {AAAW1}: imported."
    assert error["message"] == f"“../{withheld_name('MRN99812.dcm')}”: a path outside the archive."
    assert "MRN" not in stored(report) and "aaaw" not in stored(report).lower()


def test_sources_and_merged_reports_follow_the_policy():
    report = IngestReport(source="Jane_Doe.zip")
    other = IngestReport()
    other.error("No such file or folder.", file="/srv/exports/Jane_Doe.zip")
    other.problems[0].source = "Jane_Doe.zip"
    report.extend(other)
    data = report.to_dict()
    assert data["source"] == withheld_name("Jane_Doe.zip")
    assert data["problems"][0]["source"] == withheld_name("Jane_Doe.zip")
    assert data["problems"][0]["file"].endswith(f"/{withheld_name('Jane_Doe.zip')}")
    assert "Jane" not in stored(report) and "srv" not in stored(report)


def test_the_report_in_memory_keeps_the_names_for_the_code_that_reads_it():
    report = IngestReport()
    report.error("AAAW1.jpg is damaged.", file="AAAW1.jpg")
    assert report.errors[0].file == "AAAW1.jpg"  # rewritten only when serialised
    assert json.loads(report.to_json())["problems"][0]["file"] == AAAW1


def test_a_case_reference_is_withheld_only_when_it_spells_the_patient_id():
    report = IngestReport()
    report.learn_reference("H-1", local_patient_id="P-H1")
    report.learn_reference("P-H1 visit", local_patient_id="P-H1")
    report.error("Case not imported: see the errors above.", case="H-1")
    report.error("Case not imported: see the errors above.", case="P-H1 visit")
    kept, withheld = report.to_dict()["problems"]
    assert kept["case"] == "H-1"
    assert withheld["case"] == withheld_name("P-H1 visit")
