"""What an import means never depends on what was sent before: case references kept, files the
client declares instead of sending, and images already in the bank under another case."""

import json

import pytest

from fixtures.synthetic_cervix import render_jpeg
from imagebank.client.cli import sha256_of
from imagebank.filenames import withheld_name
from imagebank.ingest.report import Outcome
from imagebank.ingest.sources import ingest_paths
from imagebank.lifecycle import CaseState
from imagebank.models import Case, Image
from imagebank.services.cases import create_case, transition_case
from imagebank.services.images import add_image
from tests.factories import make_contributor, make_site
from tests.imagebank.ingest.test_iarc import bank, zipped_bank

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("local_storage")]


@pytest.fixture
def contributor():
    site = make_site()
    return site, make_contributor(site)


def outcomes(report) -> dict[str, str]:
    return {case.reference: case.outcome for case in report.cases}


def stored(report) -> str:
    return json.dumps(report.to_dict())


def declare_and_remove(folder, *relative_paths: str) -> None:
    """What the `imagebank` client does for files the bank holds: leave them out, declare them."""
    files = {path: sha256_of(folder / path) for path in relative_paths}
    for path in relative_paths:
        (folder / path).unlink()
    (folder / ".imagebank-known.json").write_text(json.dumps({"version": 1, "files": files}))


# --- the contributor's own case reference ----------------------------------------------------


def test_an_imported_case_keeps_its_reference_at_the_source(tmp_path, contributor):
    site, actor = contributor
    report = ingest_paths([bank(tmp_path)], site=site, actor=actor)
    references = {
        Case.objects.get(pk=case.case_id).source_reference for case in report.cases if case.case_id
    }
    assert references == {"Case 001", "Case 002"}


def test_a_reference_that_spells_the_patient_id_is_not_kept(tmp_path, contributor):
    site, actor = contributor
    package = tmp_path / "package"
    package.mkdir()
    (package / "a.jpg").write_bytes(render_jpeg("after_acetic_acid", seed=3, size=(160, 120)))
    manifest = {
        "format": "cervical-image-bank/case-package",
        "version": 1,
        "cases": [
            {
                "case_id": "visit of PX-99812",
                "local_patient_id": "PX-99812",
                "images": [{"file": "a.jpg", "step": "after_acetic_acid"}],
            }
        ],
    }
    (package / "manifest.json").write_text(json.dumps(manifest))

    report = ingest_paths([package], site=site, actor=actor)

    case = Case.objects.get()
    assert case.source_reference == ""
    assert any("patient's ID" in p.message for p in report.warnings)
    assert "99812" not in stored(report)


# --- files declared instead of sent ----------------------------------------------------------


def test_declared_files_are_found_by_hash_and_the_import_means_the_same(tmp_path, contributor):
    site, actor = contributor
    folder = bank(tmp_path)
    first = ingest_paths([folder], site=site, actor=actor)
    assert first.summary()["cases_created"] == 2

    # Every image of Case 001 and one of Case 002 declared: Case 001's folder does not travel.
    declare_and_remove(folder, "Case 001/AAAW1.jpg", "Case 001/AAAW3.jpg", "Case 002/AADE0.jpg")
    (folder / "Case 001").rmdir()
    again = ingest_paths([folder], site=site, actor=actor)

    assert outcomes(again) == {"Case 001": Outcome.UNCHANGED, "Case 002": Outcome.UNCHANGED}
    assert again.summary()["images_already_in_bank"] == 4
    assert again.errors == []


def test_a_declared_file_the_bank_does_not_hold_is_an_error_naming_it(tmp_path, contributor):
    site, actor = contributor
    folder = bank(tmp_path)
    declare_and_remove(folder, "Case 002/AADE0.jpg")  # never sent, yet declared as known

    report = ingest_paths([folder], site=site, actor=actor)

    [error] = [p for p in report.errors if "send this file again" in p.message]
    assert (error.case, error.file) == ("Case 002", "AADE0.jpg")
    assert report.summary()["images_left_out"] == 1
    assert Case.objects.get(source_reference="Case 002").images.count() == 1


@pytest.mark.parametrize(
    "declaration",
    [
        "not json",
        json.dumps({"version": 2, "files": {}}),
        json.dumps({"version": 1, "files": {"../outside.jpg": "0" * 64}}),
        json.dumps({"version": 1, "files": {"Case 001/AAAW1.jpg": "not-a-hash"}}),
        json.dumps({"version": 1, "files": ["Case 001/AAAW1.jpg"]}),
    ],
)
def test_a_bad_declaration_is_reported_and_ignored(tmp_path, contributor, declaration):
    site, actor = contributor
    folder = bank(tmp_path)
    (folder / ".imagebank-known.json").write_text(declaration)

    report = ingest_paths([folder], site=site, actor=actor)

    assert [p.file for p in report.errors] == [".imagebank-known.json"]
    assert report.summary()["images_added"] == 4  # the files that were sent are imported


def test_a_declaration_inside_an_uploaded_zip_is_read(tmp_path, contributor):
    site, actor = contributor
    folder = bank(tmp_path)
    ingest_paths([folder], site=site, actor=actor)
    declare_and_remove(folder, "Case 002/AADE1.jpg")
    archive = tmp_path / "colposcopy.zip"
    archive.write_bytes(zipped_bank(folder))

    report = ingest_paths([archive], site=site, actor=actor)

    assert outcomes(report) == {"Case 001": Outcome.UNCHANGED, "Case 002": Outcome.UNCHANGED}


# --- images already in the bank under another case ------------------------------------------


def _web_form_case(site, actor, folder, local_patient_id: str, **values) -> Case:
    case = create_case(site=site, actor=actor, local_patient_id=local_patient_id, **values)
    for name in ("AADE0.jpg", "AADE1.jpg"):
        with (folder / "Case 002" / name).open("rb") as handle:
            add_image(case=case, actor=actor, fileobj=handle, filename=name, step="other")
    return case


def test_the_same_patients_case_sent_through_the_web_form_becomes_the_source_case(
    tmp_path, contributor
):
    site, actor = contributor
    folder = bank(tmp_path)
    earlier = _web_form_case(site, actor, folder, "AADE", hpv_result="negative")

    report = ingest_paths([folder], site=site, actor=actor)

    assert outcomes(report) == {"Case 001": Outcome.CREATED, "Case 002": Outcome.UPDATED}
    earlier.refresh_from_db()
    assert earlier.source_reference == "Case 002"
    assert earlier.hpv_result == "negative"  # what the contributor wrote is never overwritten
    assert earlier.swede_total == 2 and earlier.histopathology == "not_done"  # filled
    assert earlier.images.count() == 2
    assert earlier.events.filter(kind="edited").exists()
    again = ingest_paths([folder], site=site, actor=actor)
    assert outcomes(again) == {"Case 001": Outcome.UNCHANGED, "Case 002": Outcome.UNCHANGED}


def test_another_patients_images_are_a_conflict_on_every_run(tmp_path, contributor):
    site, actor = contributor
    folder = bank(tmp_path)
    other = _web_form_case(site, actor, folder, "SOMEONE-ELSE")

    for _run in range(2):
        report = ingest_paths([folder], site=site, actor=actor)
        assert outcomes(report)["Case 002"] == Outcome.REJECTED
        [conflict] = [p for p in report.errors if "another case" in p.message]
        assert conflict.case == "Case 002" and str(other.pk) in conflict.message
    assert not Case.objects.filter(source_reference="Case 002").exists()
    assert Image.objects.filter(case=other).count() == 2


def test_a_submitted_case_is_not_linked_behind_the_reviewers_back(tmp_path, contributor):
    site, actor = contributor
    folder = bank(tmp_path)
    earlier = _web_form_case(site, actor, folder, "AADE")
    transition_case(case=earlier, to_state=CaseState.SUBMITTED, actor=actor)

    report = ingest_paths([folder], site=site, actor=actor)

    assert outcomes(report)["Case 002"] == Outcome.REJECTED
    earlier.refresh_from_db()
    assert earlier.source_reference == "" and earlier.hpv_result == ""


# --- reports that name every missing file ---------------------------------------------------


def test_a_missing_case_folder_names_each_of_its_files(tmp_path, contributor):
    site, actor = contributor
    folder = bank(tmp_path, folders={"Case 001": ["AAAW1.jpg", "AAAW3.jpg"]})

    report = ingest_paths([folder], site=site, actor=actor)

    missing = {(p.file, p.row) for p in report.errors if "is missing" in p.message}
    assert missing == {("AADE0.jpg", 4), ("AADE1.jpg", 5)}
    # Stored, the names follow the file-name policy (they spell the CaseID); rows still say which.
    shown = {
        (p["file"], p["row"]) for p in report.to_dict()["problems"] if "missing" in p["message"]
    }
    assert (withheld_name("AADE0.jpg"), 4) in shown


def test_a_listed_file_missing_from_its_folder_is_named_with_its_row(tmp_path, contributor):
    site, actor = contributor
    folder = bank(tmp_path, folders={"Case 001": ["AAAW1.jpg"], "Case 002": ["AADE0.jpg"]})

    report = ingest_paths([folder], site=site, actor=actor)

    missing = {(p.case, p.file, p.row) for p in report.errors if "not in folder" in p.message}
    assert missing == {("Case 001", "AAAW3.jpg", 3), ("Case 002", "AADE1.jpg", 5)}
    assert all("Cases - Images.xlsx" in p.message for p in report.errors if "not in" in p.message)
