"""The import pages through Django's test client: who may see and send what, the run page with its
report and level filter, the JSON download and the case-package template."""

import io
import json
import re
import zipfile

import pytest
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from fixtures.synthetic_cervix import render_jpeg
from imagebank.filenames import stored_name
from imagebank.models import Case, IngestRun
from tests.factories import make_contributor, make_site, make_user_with_role
from tests.roles import Role

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("local_storage")]

LIST_URL = reverse("imagebank:import-list")
TEMPLATE_URL = reverse("imagebank:import-template")

REPORT = {
    "source": "bank.zip",
    "format": "case package",
    "summary": {
        "cases_created": 1,
        "cases_unchanged": 0,
        "cases_rejected": 1,
        "images_added": 2,
        "images_already_in_bank": 0,
        "images_left_out": 1,
        "errors": 2,
        "warnings": 1,
    },
    "cases": [
        {
            "reference": "K-001",
            "outcome": "created",
            "case_id": None,
            "images_added": 2,
            "images_already_in_bank": 0,
            "images_left_out": 1,
        },
        {
            "reference": "K-002",
            "outcome": "rejected",
            "case_id": None,
            "images_added": 0,
            "images_already_in_bank": 0,
            "images_left_out": 0,
        },
    ],
    "problems": [
        {
            "level": "error",
            "message": "3.jpg is not a readable image.",
            "file": "3.jpg",
            "row": None,
            "field": "",
            "case": "K-001",
        },
        {
            "level": "error",
            "message": "age_at_exam: 140 is not between 10 and 100.",
            "file": "manifest.csv",
            "row": 3,
            "field": "age_at_exam",
            "case": "K-002",
        },
        {
            "level": "warning",
            "message": "The step “acetic 1 min” is not in the vocabulary: stored as “other”.",
            "file": "1.jpg",
            "row": 2,
            "field": "step",
            "case": "K-001",
        },
        {
            "level": "info",
            "message": "Already in the bank: not stored again.",
            "file": "2.jpg",
            "row": None,
            "field": "",
            "case": "K-001",
        },
    ],
}


def jpeg_file(name: str = "lugol.jpg", seed: int = 11) -> SimpleUploadedFile:
    data = render_jpeg("after_lugol", seed=seed, size=(160, 120))
    return SimpleUploadedFile(name, data, content_type="image/jpeg")


def detail_url(run: IngestRun) -> str:
    return reverse("imagebank:import-detail", args=[run.pk])


def report_url(run: IngestRun) -> str:
    return reverse("imagebank:import-report", args=[run.pk])


def finished_run(site, user, **overrides) -> IngestRun:
    """A run as a worker leaves it, with a report of every level (no reader needed)."""
    report = json.loads(json.dumps(REPORT))
    values = {
        "site": site,
        "started_by": user,
        "source_name": "bank.zip",
        "status": IngestRun.Status.DONE,
        "report": report,
    }
    values.update(overrides)
    return IngestRun.objects.create(**values)


def curator_with_mfa():
    curator = make_user_with_role(Role.CURATOR)
    TOTP.activate(curator, generate_totp_secret())
    return curator


@pytest.fixture
def site():
    return make_site("kisumu", name="Kisumu County Hospital")


@pytest.fixture
def other_site():
    return make_site("mombasa", name="Mombasa Screening Camp")


@pytest.fixture
def contributor(site):
    return make_contributor(site, email="nurse@kisumu.example")


@pytest.fixture
def send(client, django_capture_on_commit_callbacks):
    """POST a file to the import page and let the queued task run (tasks are eager in tests;
    the test's transaction holds back on_commit, so run the callbacks as a commit would)."""

    def post(site, upload, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(LIST_URL, {"site": site.pk, "file": upload}, **kwargs)

    return post


# --- who may come in -----------------------------------------------------------------------------


def test_visitors_are_sent_to_sign_in(client, site, contributor):
    run = finished_run(site, contributor)
    for url in (LIST_URL, detail_url(run), report_url(run), TEMPLATE_URL):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith(reverse("account_login")), url
    response = client.post(LIST_URL, {"site": site.pk, "file": jpeg_file()})
    assert response.status_code == 302
    assert not IngestRun.objects.exclude(pk=run.pk).exists()


@pytest.mark.parametrize("role", [Role.REVIEWER, Role.RESEARCHER])
def test_reviewers_and_researchers_have_no_imports(client, site, contributor, role):
    run = finished_run(site, contributor)
    client.force_login(make_user_with_role(role))
    assert client.get(LIST_URL).status_code == 403
    assert client.get(detail_url(run)).status_code == 403
    assert client.get(report_url(run)).status_code == 403
    assert client.post(LIST_URL, {"site": site.pk, "file": jpeg_file()}).status_code == 403
    dashboard = client.get(reverse("portal:dashboard")).content.decode()
    assert LIST_URL not in dashboard  # no Imports link in the navigation


def test_a_contributor_finds_imports_in_the_navigation_and_a_form_for_their_site(
    client, site, contributor
):
    client.force_login(contributor)
    dashboard = client.get(reverse("portal:dashboard")).content.decode()
    assert f'href="{LIST_URL}"' in dashboard
    response = client.get(LIST_URL)
    assert response.status_code == 200
    html = response.content.decode()
    form = response.context["form"]
    assert list(form.fields["site"].queryset) == [site]
    assert form["site"].value() == site.pk  # the only site is chosen already
    assert f'<option value="{site.pk}" selected>' in html
    assert 'enctype="multipart/form-data"' in html
    for accepted in (".zip", ".dcm", ".jpg", ".jpeg", ".png", ".tif", ".tiff"):
        assert accepted in form.fields["file"].widget.attrs["accept"]
    assert TEMPLATE_URL in html
    assert "docs/formats/case-package.md" in html
    assert '<label for="id_file"' in html and '<label for="id_site"' in html


def test_a_contributor_of_two_sites_chooses_one(client, site, other_site, contributor):
    from imagebank.services.sites import add_site_member

    add_site_member(site=other_site, user=contributor)
    client.force_login(contributor)
    response = client.get(LIST_URL)
    form = response.context["form"]
    assert set(form.fields["site"].queryset) == {site, other_site}
    assert form["site"].value() is None
    assert "Choose a site" in response.content.decode()


def test_nobody_sends_to_a_site_they_do_not_contribute_to(client, site, other_site, contributor):
    client.force_login(contributor)
    response = client.post(LIST_URL, {"site": other_site.pk, "file": jpeg_file()})
    assert response.status_code == 400
    assert response.context["form"].errors["site"]
    assert not IngestRun.objects.exists()
    assert not Case.objects.exists()


def test_a_file_is_required_and_an_oversized_one_is_refused_by_name(
    client, site, contributor, settings
):
    client.force_login(contributor)
    response = client.post(LIST_URL, {"site": site.pk})
    assert response.status_code == 400
    assert response.context["form"].errors["file"]
    settings.INGEST_MAX_UPLOAD_BYTES = 100
    settings.MAX_UPLOAD_BYTES = 100
    response = client.post(LIST_URL, {"site": site.pk, "file": jpeg_file("big.jpg")})
    assert response.status_code == 400
    assert any("big.jpg" in error for error in response.context["form"].errors["file"])
    assert not IngestRun.objects.exists()


def test_the_runs_of_another_site_are_not_found(client, site, other_site, contributor):
    run = finished_run(site, contributor)
    client.force_login(make_contributor(other_site))
    assert client.get(detail_url(run)).status_code == 404
    assert client.get(report_url(run)).status_code == 404
    listed = client.get(LIST_URL)
    assert listed.status_code == 200
    assert list(listed.context["page"].object_list) == []
    assert "bank.zip" not in listed.content.decode()


def test_a_curator_reads_every_import_but_sends_none_without_a_site(client, site, contributor):
    run = finished_run(site, contributor)
    client.force_login(curator_with_mfa())
    response = client.get(LIST_URL)
    assert response.status_code == 200
    assert response.context["form"] is None
    assert list(response.context["page"].object_list) == [run]
    assert client.get(detail_url(run)).status_code == 200
    assert client.post(LIST_URL, {"site": site.pk, "file": jpeg_file()}).status_code == 403
    assert IngestRun.objects.count() == 1


# --- sending a file and reading the report ------------------------------------------------------


def test_sending_a_jpeg_imports_it_and_the_run_page_shows_the_report(
    client, send, site, contributor
):
    client.force_login(contributor)
    response = send(site, jpeg_file("lugol.jpg"))
    run = IngestRun.objects.get()
    assert response.status_code == 302
    assert response["Location"] == detail_url(run)
    run.refresh_from_db()
    assert run.status == IngestRun.Status.DONE, run.failure
    assert run.started_by == contributor and run.site == site
    assert run.source_name == "lugol.jpg"
    assert run.upload_key == ""
    case = Case.objects.get()
    assert run.report["cases"][0]["case_id"] == case.pk

    page = client.get(detail_url(run))
    assert page.status_code == 200
    html = page.content.decode()
    assert "Done" in html  # the status in words, not only a colour
    assert reverse("imagebank:case-detail", args=[case.pk]) in html
    assert "lugol.jpg" in html
    assert report_url(run) in html
    summary = {row["key"]: row["count"] for row in page.context["summary"]}
    assert summary["cases_created"] == 1 and summary["images_added"] == 1
    assert 'http-equiv="refresh"' not in html  # finished: nothing to follow

    listed = client.get(LIST_URL)
    assert list(listed.context["page"].object_list) == [run]
    assert detail_url(run) in listed.content.decode()


def test_sending_the_same_file_again_creates_nothing(client, send, site, contributor):
    client.force_login(contributor)
    send(site, jpeg_file("lugol.jpg"))
    send(site, jpeg_file("lugol.jpg"))
    assert Case.objects.count() == 1
    again = IngestRun.objects.first()  # newest first
    assert again.summary["cases_created"] == 0
    assert again.summary["images_already_in_bank"] == 1


def test_a_hostile_archive_is_reported_as_an_error_and_stores_nothing(
    client, send, site, contributor
):
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as bundle:
        bundle.writestr("manifest.json", "{}")
        bundle.writestr("../evil.jpg", render_jpeg("after_lugol", seed=1, size=(64, 48)))
    client.force_login(contributor)
    upload = SimpleUploadedFile("evil.zip", archive.getvalue(), content_type="application/zip")
    assert send(site, upload).status_code == 302
    run = IngestRun.objects.get()
    response = client.get(detail_url(run))
    assert response.status_code == 200
    assert run.status == IngestRun.Status.DONE, run.failure
    errors = [p for p in run.report["problems"] if p["level"] == "error"]
    # Named as the file-name policy keeps them ("evil" is no neutral word): withheld.
    assert errors and errors[0]["file"] == stored_name("evil.zip")
    assert stored_name("evil.jpg") in errors[0]["message"]
    assert not Case.objects.exists()
    html = response.content.decode()
    assert stored_name("evil.jpg") in html and "evil" not in html and "Error" in html


def test_the_problems_are_a_table_filtered_by_level_without_javascript(client, site, contributor):
    run = finished_run(site, contributor)
    client.force_login(contributor)
    everything = client.get(detail_url(run))
    html = everything.content.decode()
    for header in ("Level", "Case", "File", "Row", "Field", "Message"):
        assert re.search(rf'<th scope="col"[^>]*>{header}</th>', html), header
    assert [row["level"] for row in everything.context["problems_page"]] == [
        "error",
        "error",
        "warning",
        "info",
    ]
    assert "?level=error" in html and "?level=warning" in html and "?level=all" in html
    counts = {link["key"]: link["count"] for link in everything.context["level_links"]}
    assert counts == {"all": 4, "error": 2, "warning": 1, "info": 1}

    errors = client.get(detail_url(run), {"level": "error"})
    rows = list(errors.context["problems_page"])
    assert [row["level"] for row in rows] == ["error", "error"]
    assert "age_at_exam" in errors.content.decode()
    assert "acetic 1 min" not in errors.content.decode()
    current = [link["key"] for link in errors.context["level_links"] if link["current"]]
    assert current == ["error"]

    warnings = client.get(detail_url(run), {"level": "warning"})
    assert [row["field"] for row in warnings.context["problems_page"]] == ["step"]
    assert "acetic 1 min" in warnings.content.decode()

    nonsense = client.get(detail_url(run), {"level": "<script>"})
    assert nonsense.status_code == 200
    assert len(nonsense.context["problems_page"].object_list) == 4


def test_the_report_downloads_as_json(client, site, contributor):
    run = finished_run(site, contributor)
    client.force_login(contributor)
    response = client.get(report_url(run))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response["Content-Disposition"] == (
        f'attachment; filename="import-{run.pk}-report.json"'
    )
    assert json.loads(response.content) == REPORT
    waiting = finished_run(
        site, contributor, status=IngestRun.Status.QUEUED, upload_key="x", report={}
    )
    assert client.get(report_url(waiting)).status_code == 404


def test_an_unfinished_run_says_it_refreshes_itself(client, site, contributor):
    run = finished_run(
        site, contributor, status=IngestRun.Status.QUEUED, upload_key="ingest-uploads/x", report={}
    )
    client.force_login(contributor)
    html = client.get(detail_url(run)).content.decode()
    assert "Waiting for a worker" in html
    assert "refreshes itself every 5 seconds" in html
    assert '<noscript><meta http-equiv="refresh" content="5"></noscript>' in html
    assert "imagebank/js/import.js" in html
    assert report_url(run) not in html

    run.status, run.upload_key = IngestRun.Status.RUNNING, ""
    run.save()
    assert "Importing" in client.get(detail_url(run)).content.decode()


def test_a_failed_run_gives_the_reason(client, site, contributor):
    run = finished_run(
        site, contributor, status=IngestRun.Status.FAILED, failure="The disk is full.", report={}
    )
    client.force_login(contributor)
    html = client.get(detail_url(run)).content.decode()
    assert "The import failed." in html and "The disk is full." in html
    assert 'http-equiv="refresh"' not in html
    assert report_url(run) not in html


def test_imports_are_listed_newest_first_a_page_at_a_time(client, site, contributor):
    runs = [finished_run(site, contributor, source_name=f"file-{n}.zip") for n in range(27)]
    client.force_login(contributor)
    first = client.get(LIST_URL)
    listed = list(first.context["page"].object_list)
    assert len(listed) == 25
    assert listed[0] == runs[-1]
    assert "?page=2" in first.content.decode()
    second = client.get(LIST_URL, {"page": 2})
    assert list(second.context["page"].object_list) == [runs[1], runs[0]]


def test_the_list_shows_each_summary_without_loading_whole_reports(client, site, contributor):
    client.force_login(contributor)
    finished_run(site, contributor, source_name="file-0.zip")
    with CaptureQueriesContext(connection) as one_run:
        client.get(LIST_URL)
    for n in range(1, 5):
        finished_run(site, contributor, source_name=f"file-{n}.zip")
    with CaptureQueriesContext(connection) as five_runs:
        response = client.get(LIST_URL)
    assert len(five_runs) == len(one_run)  # no query per row
    run = response.context["page"].object_list[0]
    assert "report" in run.get_deferred_fields()
    assert run.summary_data["cases_created"] == 1
    row = re.search(r"file-4\.zip.*?</tr>", response.content.decode(), re.S).group(0)
    assert [int(n) for n in re.findall(r'class="num">(\d+)</td>', row)] == [1, 2, 2, 1]


def test_any_signed_in_user_downloads_the_case_package_template(client):
    client.force_login(make_user_with_role(Role.RESEARCHER))
    response = client.get(TEMPLATE_URL)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    assert response["Content-Disposition"].startswith("attachment;")
    with zipfile.ZipFile(io.BytesIO(response.content)) as bundle:
        names = bundle.namelist()
    assert any(name.rsplit("/", 1)[-1].startswith("manifest.") for name in names), names
