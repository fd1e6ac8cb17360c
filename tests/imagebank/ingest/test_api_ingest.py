"""POST /api/ingest/ and /api/ingest/known/: imports through the API, with their reports."""

import hashlib

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from fixtures.synthetic_cervix import render_jpeg
from imagebank.filenames import withheld_name
from imagebank.models import Case, IngestRun
from tests.factories import make_contributor, make_site

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("local_storage")]

JPEG = render_jpeg("after_lugol", seed=11, size=(160, 120))


def client_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def send(client, site, data=JPEG, name="lugol.jpg"):
    upload = SimpleUploadedFile(name, data, content_type="application/octet-stream")
    return client.post("/api/ingest/", {"site": site.pk, "file": upload}, format="multipart")


def test_an_import_answers_with_its_report_and_a_rerun_creates_nothing():
    site = make_site()
    client = client_for(make_contributor(site))
    first = send(client, site)
    assert first.status_code == 201, first.content
    assert first.json()["report"]["summary"]["cases_created"] == 1
    again = send(client, site)
    assert again.json()["report"]["summary"]["images_already_in_bank"] == 1
    assert Case.objects.count() == 1
    listed = client.get("/api/ingest/").json()["results"]
    assert [run["id"] for run in listed] == [again.json()["id"], first.json()["id"]]


def test_a_file_that_is_no_kind_the_import_takes_is_a_400_naming_it_and_makes_no_run():
    site = make_site()
    client = client_for(make_contributor(site))
    for name, data in (
        ("notes.txt", b"Case 002: after acetic acid"),  # a name the import does not take
        ("scan.jpg", b"plain text"),  # a name it takes, but not that content
    ):
        response = send(client, site, data, name)
        assert response.status_code == 400, name
        assert name in " ".join(response.json()["file"])
        assert "ZIP" in " ".join(response.json()["file"])  # it says what is taken
    assert not IngestRun.objects.exists()
    assert not Case.objects.exists()


def test_a_bad_file_is_reported_by_name_and_stores_nothing():
    site = make_site()
    truncated = JPEG[: len(JPEG) // 2]  # a JPEG at the door, unreadable inside
    response = send(client_for(make_contributor(site)), site, truncated, "scan.jpg")
    assert response.status_code == 201
    report = response.json()["report"]
    assert report["summary"]["cases_created"] == 0
    errors = [p for p in report["problems"] if p["level"] == "error"]
    # A lone image is named after its patient (its stem is the local ID): its name is withheld.
    shown = withheld_name("scan.jpg")
    assert errors and all(shown in (p["file"], p["case"]) for p in errors)
    assert any(p["file"] == shown and "truncated" in p["message"] for p in errors)
    assert not Case.objects.exists()


def test_nobody_imports_into_or_reads_the_imports_of_another_site():
    site, other = make_site(), make_site()
    owner, stranger = make_contributor(site), make_contributor(other)
    run = send(client_for(owner), site).json()
    assert send(client_for(stranger), site).status_code == 404
    assert client_for(stranger).get(f"/api/ingest/{run['id']}/").status_code == 404
    assert APIClient().get(f"/api/ingest/{run['id']}/").status_code == 401


def test_known_hashes_let_a_client_skip_what_is_in_the_bank():
    site = make_site()
    client = client_for(make_contributor(site))
    send(client, site)
    sent = hashlib.sha256(JPEG).hexdigest()
    other = hashlib.sha256(b"other").hexdigest()
    response = client.post(
        "/api/ingest/known/", {"site": site.pk, "sha256": [sent, other, "junk"]}, format="json"
    )
    assert response.status_code == 200
    assert response.json() == {"known": [sent]}


def test_a_case_package_and_a_dicom_file_go_in_through_the_api():
    from imagebank.ingest.package_template import template_zip_bytes
    from imagebank.models import Image
    from tests.imagebank.ingest.dicom_samples import jpeg_dicom

    site = make_site()
    client = client_for(make_contributor(site))
    package = send(client, site, template_zip_bytes(), "case-package-template.zip").json()
    assert package["report"]["format"] == "case_package"
    assert package["report"]["summary"]["cases_created"] == 2
    scan = send(client, site, jpeg_dicom(PatientAge="052Y"), "scan.dcm").json()
    assert scan["report"]["format"] == "dicom"
    assert scan["report"]["summary"]["images_added"] == 1
    assert Image.objects.get(source_format="dicom").case.age_at_exam == 52
