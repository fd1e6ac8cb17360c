"""Case packages end to end: a folder or ZIP with a manifest, through ingest_paths into the bank."""

import io
import json
import zipfile
from pathlib import Path

import pytest

from fixtures.synthetic_cervix import render_jpeg
from imagebank.ingest import case_package, sources
from imagebank.ingest.manifest import FORMAT_NAME
from imagebank.ingest.package_template import template_zip_bytes
from imagebank.ingest.report import Outcome
from imagebank.models import Case, Image
from tests.factories import make_contributor

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("local_storage")]


@pytest.fixture
def actor(site):
    return make_contributor(site)


def jpeg(seed: int) -> bytes:
    return render_jpeg("after_acetic_acid", seed=seed, size=(160, 120))


def write_package(folder: Path, cases: list[dict], files: dict[str, bytes]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    manifest = {"format": FORMAT_NAME, "version": 1, "cases": cases}
    (folder / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    for name, data in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(data)
    return folder


def test_the_template_imports_as_it_is_and_again_creates_nothing(tmp_path, site, actor):
    archive = tmp_path / "template.zip"
    archive.write_bytes(template_zip_bytes())
    report = sources.ingest_paths([archive], site=site, actor=actor)
    assert report.problems == []
    assert report.format == case_package.FORMAT
    assert report.summary()["cases_created"] == 2 and report.summary()["images_added"] == 3
    case = Case.objects.get(pk=report.cases[0].case_id)
    assert (case.hpv_result, case.transformation_zone) == ("positive", "type_1")
    assert case.grade_1_findings == ["thin_acetowhite", "fine_mosaic"]
    assert list(case.images.values_list("step", "display_order")) == [
        ("before_acetic_acid", 1),
        ("after_acetic_acid", 2),
    ]
    again = sources.ingest_paths([archive], site=site, actor=actor)
    assert again.summary()["cases_unchanged"] == 2 and Case.objects.count() == 2


def test_the_templates_csv_example_imports_the_same_cases(tmp_path, site, actor):
    zipfile.ZipFile(io.BytesIO(template_zip_bytes())).extractall(tmp_path)
    folder = tmp_path / "case-package-template"
    (folder / "manifest.json").unlink()
    (folder / "manifest-example.csv").rename(folder / "manifest.csv")
    report = sources.ingest_paths([folder], site=site, actor=actor)
    assert report.problems == []
    assert report.summary()["images_added"] == 3
    assert Case.objects.get(pk=report.cases[1].case_id).via_result == "negative"


def test_missing_unlisted_and_outside_files_are_reported_and_the_rest_imported(
    tmp_path, site, actor
):
    outside = tmp_path / "secret.jpg"
    outside.write_bytes(jpeg(9))
    images = [
        {"file": "K-1/a.jpg", "step": "Native view", "order": 2},
        {"file": "K-1/gone.jpg", "step": "after_lugol"},
        {"file": "K-1/b.jpg", "step": "Schiller, dimmed", "order": 1},
        {"file": "link.jpg", "step": "after_lugol"},
    ]
    metadata = {"hpv_result": "Positive ", "swede_total": 99}
    case = {"case_id": "K-1", "local_patient_id": "P1", "metadata": metadata, "images": images}
    files = {"K-1/a.jpg": jpeg(1), "K-1/b.jpg": jpeg(2), "extra/c.jpg": jpeg(3)}
    folder = write_package(tmp_path / "pkg", [case], files)
    (folder / "link.jpg").symlink_to(outside)

    report = sources.ingest_paths([folder], site=site, actor=actor)

    [result] = report.cases
    assert result.outcome == Outcome.CREATED and result.images_added == 2
    errors = {(p.file, p.row, p.field) for p in report.errors}
    assert errors == {
        ("K-1/gone.jpg", 2, "cases[0].images[1].file"),
        ("link.jpg", 4, "cases[0].images[3].file"),
    }
    warnings = {(p.file, p.field) for p in report.warnings}
    assert ("extra/c.jpg", "") in warnings  # present, not listed
    assert ("manifest.json", "cases[0].images[2].step") in warnings  # unknown step
    assert ("manifest.json", "cases[0].metadata.hpv_result") in warnings  # spelling variant
    assert ("manifest.json", "cases[0].metadata.swede_total") in warnings  # sentinel
    stored = Case.objects.get(pk=result.case_id)
    assert stored.swede_not_assessable and stored.swede_total is None
    assert list(stored.images.values_list("step", "step_original_wording")) == [
        ("other", "Schiller, dimmed"),
        ("before_acetic_acid", "Native view"),
    ]
    assert not Image.objects.filter(original_filename="secret.jpg").exists()


def test_a_case_with_invalid_metadata_is_rejected_and_the_others_imported(tmp_path, site, actor):
    cases = [
        {
            "case_id": "bad",
            "local_patient_id": "P1",
            "metadata": {"cytology": "very bad", "mood": "ok"},
            "images": [{"file": "1.jpg", "step": "after_acetic_acid"}],
        },
        {
            "case_id": "good",
            "local_patient_id": "P2",
            "images": [{"file": "2.jpg", "step": "after_acetic_acid"}],
        },
    ]
    folder = write_package(tmp_path / "pkg", cases, {"1.jpg": jpeg(1), "2.jpg": jpeg(2)})
    report = sources.ingest_paths([folder], site=site, actor=actor)
    assert [(c.reference, c.outcome) for c in report.cases] == [
        ("bad", Outcome.REJECTED),
        ("good", Outcome.CREATED),
    ]
    fields = {p.field for p in report.errors if p.case == "bad"}
    assert {"cases[0].metadata.cytology", "cases[0].metadata.mood"} <= fields
    assert Image.objects.count() == 1


def test_two_manifests_or_a_broken_one_import_nothing(tmp_path, site, actor):
    folder = write_package(tmp_path / "pkg", [], {"1.jpg": jpeg(1)})
    (folder / "manifest.csv").write_text("case_id,local_patient_id,file\nK,P,1.jpg\n")
    report = sources.ingest_paths([folder], site=site, actor=actor)
    assert len(report.errors) == 1 and report.cases == []
    (folder / "manifest.json").unlink()
    (folder / "manifest.csv").write_bytes(
        "case_id,local_patient_id,file\nK,Pé,1.jpg\n".encode("cp1252")
    )
    report = sources.ingest_paths([folder], site=site, actor=actor)
    [error] = report.errors
    assert error.file == "manifest.csv" and "UTF-8" in error.message
    assert Case.objects.count() == 0


def test_csv_package_problems_name_spreadsheet_rows(tmp_path, site, actor):
    folder = tmp_path / "pkg"
    folder.mkdir()
    (folder / "1.jpg").write_bytes(jpeg(1))
    (folder / "manifest.csv").write_text(
        "case_id,local_patient_id,file,step\nK,P,1.jpg,after_acetic_acid\nK,P,2.jpg,VILI\n",
        encoding="utf-8-sig",
    )
    report = sources.ingest_paths([folder], site=site, actor=actor)
    [error] = report.errors
    assert (error.file, error.row, error.case) == ("2.jpg", 3, "K")
    assert report.summary()["images_added"] == 1


def test_can_read_only_a_folder_with_a_manifest(tmp_path):
    assert not case_package.can_read(tmp_path)
    (tmp_path / "manifest.json").write_text("{}")
    assert case_package.can_read(tmp_path)
    assert not case_package.can_read(tmp_path / "manifest.json")
