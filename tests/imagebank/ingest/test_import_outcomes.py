"""What an import came to, told the same way on the import list, the import page and the API;
and the import door, which takes only the kinds of file it offers."""

import io
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from rest_framework.test import APIClient

from fixtures.synthetic_cervix import render_jpeg
from imagebank.ingest.accepted import check_import_file
from imagebank.ingest.run_outcome import run_outcome
from imagebank.models import Case, IngestRun
from tests.factories import make_contributor, make_site

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("local_storage")]

LIST_URL = reverse("imagebank:import-list")
JPEG = render_jpeg("after_lugol", seed=11, size=(96, 72))


def summary(**counts) -> dict[str, int]:
    keys = (
        "cases_created",
        "cases_updated",
        "cases_unchanged",
        "cases_rejected",
        "images_added",
        "images_already_in_bank",
        "images_left_out",
        "errors",
        "warnings",
    )
    return {key: counts.get(key, 0) for key in keys}


# The report summaries of real runs, and the badge each must carry.
OUTCOMES = {
    "everything in": (summary(cases_created=2, images_added=6, warnings=1), "done", "Done"),
    "some left out": (
        summary(cases_created=1, cases_rejected=1, images_added=2, errors=2),
        "done_with_errors",
        "Done with errors",
    ),
    "new images for a case": (
        summary(cases_updated=1, images_added=1, images_already_in_bank=3),
        "done",
        "Done",
    ),
    "everything rejected": (
        summary(cases_rejected=3, errors=3),
        "nothing_imported",
        "Nothing imported",
    ),
    "an unreadable file": (summary(errors=1), "nothing_imported", "Nothing imported"),
    "all already in the bank": (
        summary(cases_unchanged=2, images_already_in_bank=5),
        "nothing_new",
        "Nothing new: already in the bank",
    ),
}


@pytest.mark.parametrize("kind", OUTCOMES)
def test_the_outcome_follows_the_summary(kind):
    counts, code, label = OUTCOMES[kind]
    outcome = run_outcome("done", counts)
    assert (outcome.code, str(outcome.label)) == (code, label)


def test_an_unfinished_or_failed_run_keeps_its_status():
    assert run_outcome("queued", {}).code == "queued"
    assert run_outcome("running", None).code == "running"
    assert run_outcome("failed", summary(cases_created=1)).code == "failed"


@pytest.fixture
def site():
    return make_site("kisumu", name="Kisumu County Hospital")


@pytest.fixture
def contributor(site):
    return make_contributor(site, email="nurse@kisumu.example")


def run_with(site, user, counts) -> IngestRun:
    return IngestRun.objects.create(
        site=site,
        started_by=user,
        source_name="bank.zip",
        status=IngestRun.Status.DONE,
        report={"summary": counts, "cases": [], "problems": []},
    )


@pytest.mark.parametrize("kind", OUTCOMES)
def test_the_list_and_the_page_show_the_same_badge(client, site, contributor, kind):
    counts, code, label = OUTCOMES[kind]
    run = run_with(site, contributor, counts)
    client.force_login(contributor)
    badge = f'<span class="badge badge-run-{code}" data-run-outcome="{code}">{label}</span>'
    assert badge in client.get(LIST_URL).content.decode()
    page = client.get(reverse("imagebank:import-detail", args=[run.pk])).content.decode()
    assert f'class="badge badge-run-{code}"' in page and f"{label}</span>" in page
    if code != "done":
        assert 'badge-run-done"' not in page and ">Done</span>" not in page


def test_a_rerun_that_brings_nothing_new_says_so(
    client, site, contributor, django_capture_on_commit_callbacks
):
    client.force_login(contributor)
    for _ in range(2):
        with django_capture_on_commit_callbacks(execute=True):
            client.post(
                LIST_URL,
                {"site": site.pk, "file": SimpleUploadedFile("lugol.jpg", JPEG, "image/jpeg")},
            )
    again = IngestRun.objects.first()
    page = client.get(reverse("imagebank:import-detail", args=[again.pk])).content.decode()
    assert "Nothing new: already in the bank" in page
    assert "Everything in this file is already in the bank" in page


def test_the_api_gives_the_outcome_beside_the_status(site, contributor):
    client = APIClient()
    client.force_authenticate(contributor)
    upload = SimpleUploadedFile("lugol.jpg", JPEG, content_type="image/jpeg")
    first = client.post("/api/ingest/", {"site": site.pk, "file": upload}, format="multipart")
    assert first.status_code == 201
    assert (first.json()["status"], first.json()["outcome"]) == ("done", "done")
    upload = SimpleUploadedFile("lugol.jpg", JPEG, content_type="image/jpeg")
    again = client.post("/api/ingest/", {"site": site.pk, "file": upload}, format="multipart")
    assert again.json()["status"] == "done"  # the contract is unchanged
    assert again.json()["outcome"] == "nothing_new"
    assert again.json()["outcome_label"] == "Nothing new: already in the bank"


# --- the door ----------------------------------------------------------------------------------


def zip_bytes() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as bundle:
        bundle.writestr("case/1.jpg", JPEG)
    return buffer.getvalue()


DICOM = b"\0" * 128 + b"DICM" + b"\x02\x00" * 40
TAKEN = {
    "a ZIP": ("bank.zip", zip_bytes()),
    "a DICOM file": ("scan.dcm", DICOM),
    "a DICOM file without an extension": ("IM000001", DICOM),
    "a JPEG": ("lugol.JPG", JPEG),
    "a PNG named .jpg": ("photo.jpg", b"\x89PNG\r\n\x1a\n" + b"\0" * 40),
    "a TIFF": ("scan.tif", b"II*\x00" + b"\0" * 40),
}
REFUSED = {
    "a text file": ("notes.txt", b"Case 002 after acetic acid"),
    "a PDF": ("referral.pdf", b"%PDF-1.4\n%%EOF"),
    "a spreadsheet alone": ("Cases.xlsx", zip_bytes()),
    "text named .jpg": ("scan.jpg", b"plain text"),
    "text named .zip": ("bank.zip", b"not an archive"),
    "a JPEG named .dcm": ("scan.dcm", JPEG),
    "an empty file": ("empty.png", b""),
    "no extension, not DICOM": ("README", b"hello"),
}


@pytest.mark.parametrize("kind", TAKEN)
def test_the_door_takes_what_the_page_offers(kind):
    name, data = TAKEN[kind]
    stream = io.BytesIO(data)
    check_import_file(stream, name)
    assert stream.tell() == 0  # left at its start for the importer


@pytest.mark.parametrize("kind", REFUSED)
def test_the_page_refuses_anything_else_by_name_before_any_run(client, site, contributor, kind):
    name, data = REFUSED[kind]
    client.force_login(contributor)
    response = client.post(
        LIST_URL, {"site": site.pk, "file": SimpleUploadedFile(name, data, "text/plain")}
    )
    assert response.status_code == 400
    errors = " ".join(response.context["form"].errors["file"])
    assert name in errors
    assert "ZIP" in errors and "DICOM" in errors and "JPEG, PNG or TIFF" in errors
    assert not IngestRun.objects.exists()
    assert not Case.objects.exists()
    assert name in response.content.decode()  # shown on the page, next to the field
