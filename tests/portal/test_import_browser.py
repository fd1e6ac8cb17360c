"""Imports in a real browser: a contributor sends a case package, a DICOM file and a single JPEG
from the Imports page, reads each report, follows it to the case and sees the previews the worker
made; a hostile archive gets a clear error in its report. Screenshots go to /tmp/shots/."""

import io
import json
import re
import zipfile
from pathlib import Path

import pytest
from PIL import Image as PILImage
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.encaps import encapsulate
from pydicom.uid import JPEGBaseline8Bit, generate_uid

from fixtures.synthetic_cervix import render_jpeg
from imagebank.filenames import stored_name
from imagebank.models import Case, IngestRun
from tests.factories import PASSWORD, make_contributor, make_site
from tests.portal import test_browser
from tests.portal.test_browser import PHONE, assert_fits_phone, screenshot

# The same browser fixture as the other browser tests: skips (or fails under REQUIRE_SERVICES=1)
# when Chromium is not installed, and fails a test whose pages fetch anything from outside.
browser_page = test_browser.browser_page

VL_PHOTOGRAPHIC_IMAGE = "1.2.840.10008.5.1.4.1.1.77.1.4"
DESKTOP = {"width": 1280, "height": 900}


def case_package(path: Path) -> Path:
    """A ZIP with a manifest.json and two synthetic JPEGs: one case, two steps."""
    manifest = {
        "format": "cervical-image-bank/case-package",
        "version": 1,
        "cases": [
            {
                "case_id": "K-001",
                "local_patient_id": "P-1",
                "metadata": {"age_at_exam": 34},
                "images": [
                    {"file": "1.jpg", "step": "before_acetic_acid", "order": 1},
                    {"file": "2.jpg", "step": "after_acetic_acid", "order": 2},
                ],
            }
        ],
    }
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("manifest.json", json.dumps(manifest, indent=2))
        archive.writestr("1.jpg", render_jpeg("before_acetic_acid", seed=21, size=(320, 240)))
        archive.writestr("2.jpg", render_jpeg("after_acetic_acid", seed=21, size=(320, 240)))
    return path


def dicom_file(path: Path) -> Path:
    """A VL Photographic Image wrapping a baseline JPEG, with identifying attributes to remove."""
    jpeg = render_jpeg("after_lugol", seed=22, size=(320, 240))
    width, height = PILImage.open(io.BytesIO(jpeg)).size
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = VL_PHOTOGRAPHIC_IMAGE
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = JPEGBaseline8Bit
    dataset = Dataset()
    dataset.file_meta = meta
    dataset.SOPClassUID = VL_PHOTOGRAPHIC_IMAGE
    dataset.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    dataset.StudyInstanceUID = generate_uid()
    dataset.SeriesInstanceUID = generate_uid()
    dataset.PatientName = "Wanjiru^Grace"
    dataset.PatientID = "KCH-DCM-0042"
    dataset.PatientAge = "041Y"
    dataset.StudyDate = "20240311"
    dataset.Modality = "XC"
    dataset.Rows, dataset.Columns = height, width
    dataset.SamplesPerPixel = 3
    dataset.PhotometricInterpretation = "YBR_FULL_422"
    dataset.PlanarConfiguration = 0
    dataset.BitsAllocated = 8
    dataset.BitsStored = 8
    dataset.HighBit = 7
    dataset.PixelRepresentation = 0
    dataset.PixelData = encapsulate([jpeg])
    dataset["PixelData"].VR = "OB"
    dataset.save_as(path, enforce_file_format=True)
    return path


def hostile_zip(path: Path) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("manifest.json", "{}")
        archive.writestr("../evil.jpg", render_jpeg("after_lugol", seed=23, size=(64, 48)))
    return path


def send(page, base_url: str, path: Path) -> IngestRun:
    """Send one file from the Imports page and land on its run page, finished."""
    page.goto(f"{base_url}/imports/")
    page.set_input_files("#id_file", str(path))
    page.get_by_role("button", name="Send and import").click()
    page.wait_for_url(re.compile(r"/imports/\d+/$"))
    # Tasks are eager in tests, so the import is done when the page answers; a real worker would
    # leave the page to refresh itself until it is.
    page.wait_for_selector('[data-run-status="done"]')
    return IngestRun.objects.get(pk=int(page.url.rstrip("/").rsplit("/", 1)[-1]))


def open_created_case(page, run: IngestRun, images: int) -> Case:
    """Follow the report's link to the case and wait for the worker's previews to load."""
    assert run.summary["cases_created"] == 1, run.report
    row = page.locator("table.import-cases tbody tr").first
    assert "Created" in row.inner_text()
    row.get_by_role("link", name=re.compile(r"Case \d+")).click()
    page.wait_for_url(re.compile(r"/cases/\d+/$"))
    case = Case.objects.get(pk=int(page.url.rstrip("/").rsplit("/", 1)[-1]))
    assert run.report["cases"][0]["case_id"] == case.pk
    page.wait_for_function(
        "(n) => { const imgs = document.querySelectorAll('figure.shot img');"
        " return imgs.length === n && Array.from(imgs).every("
        "(img) => img.complete && img.naturalWidth > 0); }",
        arg=images,
    )
    return case


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_contributor_imports_a_package_a_dicom_file_and_an_image(
    live_server, browser_page, tmp_path
):
    page = browser_page
    site = make_site("kisumu", name="Kisumu County Hospital")
    contributor = make_contributor(site, email="nurse@kisumu.example", full_name="Achieng Otieno")

    page.goto(f"{live_server.url}/accounts/login/")
    page.fill('input[name="login"]', contributor.email)
    page.fill('input[name="password"]', PASSWORD)
    page.click('button[type="submit"]')
    page.wait_for_url(re.compile(r"/dashboard/$"))

    # Imports, from the navigation; the only site is chosen already.
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Imports").click()
    page.wait_for_url(re.compile(r"/imports/$"))
    assert page.locator("#id_site").input_value() == str(site.pk)
    assert page.get_by_role("link", name=re.compile("case-package template")).is_visible()
    screenshot(page, "imports")
    page.set_viewport_size(PHONE)
    screenshot(page, "imports-390")
    assert_fits_phone(page)
    page.set_viewport_size(DESKTOP)

    # (a) A case package: one case with its two images and the manifest's age.
    run = send(page, live_server.url, case_package(tmp_path / "kisumu-package.zip"))
    assert page.locator(".import-summary").is_visible()
    assert "K-001" in page.locator("table.import-cases").inner_text()
    screenshot(page, "import-package")
    page.set_viewport_size(PHONE)
    screenshot(page, "import-package-390")
    assert_fits_phone(page)
    page.set_viewport_size(DESKTOP)
    case = open_created_case(page, run, images=2)
    assert case.age_at_exam == 34
    assert [shot.get_attribute("data-step") for shot in page.locator("figure.shot").all()] == [
        "before_acetic_acid",
        "after_acetic_acid",
    ]
    screenshot(page, "import-package-case")

    # (b) A DICOM file: one case, its image shown from the de-identified object.
    run = send(page, live_server.url, dicom_file(tmp_path / "colposcope.dcm"))
    case = open_created_case(page, run, images=1)
    assert "Wanjiru" not in page.content() and "KCH-DCM-0042" not in page.content()
    screenshot(page, "import-dicom-case")

    # (c) A single JPEG: one case whose image comes without a step. The step classifier
    # suggests Lugol's iodine from its pixels: a guess, waiting on the case page to be confirmed.
    image = tmp_path / "lugol.jpg"
    image.write_bytes(render_jpeg("after_lugol", seed=24, size=(320, 240)))
    run = send(page, live_server.url, image)
    case = open_created_case(page, run, images=1)
    assert page.locator("figure.shot").first.get_attribute("data-step") == "after_lugol"
    assert case.images.get().step_is_guess

    # The list shows all three, newest first, with their status in words.
    page.goto(f"{live_server.url}/imports/")
    names = page.locator("table.stack tbody .import-name").all_inner_texts()
    # "kisumu" is no neutral word: the file-name policy shows the package by its stand-in.
    assert names == ["lugol.jpg", "colposcope.dcm", stored_name("kisumu-package.zip")]
    assert page.locator("table.stack tbody").inner_text().count("Done") == 3
    screenshot(page, "imports-list")
    page.set_viewport_size(PHONE)
    screenshot(page, "imports-list-390")
    assert_fits_phone(page)
    page.set_viewport_size(DESKTOP)

    # A hostile archive: a clear error in the report, nothing stored, no server error.
    cases_before = Case.objects.count()
    run = send(page, live_server.url, hostile_zip(tmp_path / "evil.zip"))
    problems = page.locator("table.import-problems")
    # The report names the file, by the stand-in the file-name policy gives it.
    assert "Error" in problems.inner_text() and stored_name("evil.jpg") in problems.inner_text()
    page.get_by_role("link", name=re.compile(r"^Errors")).click()
    page.wait_for_url(re.compile(r"\?level=error"))
    assert page.locator("table.import-problems tbody tr.problem-error").count() >= 1
    assert page.locator("table.import-problems tbody tr:not(.problem-error)").count() == 0
    assert Case.objects.count() == cases_before
    assert run.summary["errors"] >= 1
    screenshot(page, "import-hostile")
    page.set_viewport_size(PHONE)
    screenshot(page, "import-hostile-390")
    assert_fits_phone(page)


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_run_page_follows_an_import_and_the_form_refuses_a_file_too_large(
    live_server, browser_page, tmp_path, settings
):
    page = browser_page
    site = make_site("kisumu", name="Kisumu County Hospital")
    contributor = make_contributor(site, email="nurse@kisumu.example")
    run = IngestRun.objects.create(
        site=site,
        started_by=contributor,
        source_name="slow-bank.zip",
        status=IngestRun.Status.QUEUED,
        upload_key="ingest-uploads/waiting/slow-bank.zip",
    )
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill('input[name="login"]', contributor.email)
    page.fill('input[name="password"]', PASSWORD)
    page.click('button[type="submit"]')
    page.wait_for_url(re.compile(r"/dashboard/$"))

    # Waiting for a worker: the page says so in words and looks again by itself.
    page.goto(f"{live_server.url}/imports/{run.pk}/")
    status = page.get_by_role("status")
    assert "Waiting for a worker" in status.inner_text()
    assert "refreshes itself" in status.inner_text()
    screenshot(page, "import-waiting")
    IngestRun.objects.filter(pk=run.pk).update(
        status=IngestRun.Status.DONE,
        upload_key="",
        report={"source": "slow-bank.zip", "format": "iarc", "summary": {}, "cases": []},
    )
    page.wait_for_selector('[data-run-status="done"]', timeout=15_000)
    assert "IARC image-bank folder" in page.content()

    # A file over the limit is refused before it is sent, which matters on a slow connection.
    settings.INGEST_MAX_UPLOAD_BYTES = 1000
    big = tmp_path / "big.jpg"
    big.write_bytes(render_jpeg("after_lugol", seed=25, size=(320, 240)))
    page.goto(f"{live_server.url}/imports/")
    page.set_input_files("#id_file", str(big))
    assert page.locator("[data-size-error]").is_visible()
    posts: list[str] = []
    page.on("request", lambda request: posts.append(request.url) if request.method == "POST" else 0)
    page.get_by_role("button", name="Send and import").click()
    # The script stopped the submission and took the reader back to the file.
    assert page.evaluate("() => document.activeElement.id") == "id_file"
    assert page.locator("#id_file").get_attribute("aria-invalid") == "true"
    assert posts == [] and page.url.endswith("/imports/")
    assert IngestRun.objects.count() == 1
