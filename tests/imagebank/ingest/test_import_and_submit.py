"""Bulk imports enter the review flow: `ingest --submit`, the import page's box and the API's
`submit` submit every imported case, which then goes through its checks to review."""

import io

import pytest
from django.core.management import call_command
from django.urls import reverse

from imagebank.ingest.runs import execute_queued_ingest, queue_ingest, run_ingest
from imagebank.lifecycle import CaseState
from imagebank.models import Case, IngestRun
from tests.factories import make_contributor, make_site
from tests.imagebank.ingest.test_iarc import bank, meta_row, zipped_bank

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("local_storage")]


@pytest.fixture
def site_and_user():
    site = make_site()
    # The demo bank's cases have no TZ type or VIA result: require only what they carry.
    site.submission_requirements = ["core_steps"]
    site.save()
    return site, make_contributor(site)


def three_step_bank(tmp_path):
    return bank(
        tmp_path,
        meta=[meta_row(1, "AAAW"), meta_row(2, "AADE")],
        images=[
            [1, "AAAW0.jpg", 1, "After normal saline"],
            [1, "AAAW1.jpg", 2, "After acetic acid"],
            [1, "AAAW2.jpg", 3, "After Lugol’s iodine"],
            [2, "AADE0.jpg", 1, "After acetic acid"],
        ],
        folders={"Case 001": ["AAAW0.jpg", "AAAW1.jpg", "AAAW2.jpg"], "Case 002": ["AADE0.jpg"]},
    )


def test_ingest_submit_sends_each_complete_case_to_its_checks_and_review(
    tmp_path, site_and_user, django_capture_on_commit_callbacks
):
    site, user = site_and_user
    folder = three_step_bank(tmp_path)
    out = io.StringIO()
    with django_capture_on_commit_callbacks(execute=True):
        call_command(
            "ingest", str(folder), "--site", site.slug, "--user", user.email, "--submit", stdout=out
        )
    complete = Case.objects.get(source_reference="Case 001")
    incomplete = Case.objects.get(source_reference="Case 002")
    assert complete.state == CaseState.IN_REVIEW
    # Case 002 lacks two core steps: it stays a draft, and the report says why.
    assert incomplete.state == CaseState.DRAFT
    run = IngestRun.objects.get()
    assert run.submit and run.summary["cases_submitted"] == 1
    submitted = {c["reference"]: c["submitted"] for c in run.report["cases"]}
    assert submitted == {"Case 001": True, "Case 002": False}
    [warning] = [p for p in run.report["problems"] if "Not submitted" in p["message"]]
    assert warning["level"] == "warning" and warning["case"] == "Case 002"
    assert "1 submitted for review" in out.getvalue()


def test_without_submit_the_cases_stay_drafts(tmp_path, site_and_user):
    site, user = site_and_user
    run = run_ingest(site=site, actor=user, paths=[three_step_bank(tmp_path)])
    assert not run.submit and run.summary["cases_submitted"] == 0
    assert set(Case.objects.values_list("state", flat=True)) == {CaseState.DRAFT}


def test_a_second_import_with_submit_submits_the_drafts_of_the_first(tmp_path, site_and_user):
    site, user = site_and_user
    folder = three_step_bank(tmp_path)
    run_ingest(site=site, actor=user, paths=[folder])
    run = run_ingest(site=site, actor=user, paths=[folder], submit=True)
    assert run.summary["cases_unchanged"] == 2 and run.summary["cases_submitted"] == 1
    again = run_ingest(site=site, actor=user, paths=[folder], submit=True)
    assert again.summary["cases_submitted"] == 0  # already submitted: left as it is


def test_a_queued_import_from_the_page_can_submit(tmp_path, site_and_user, client):
    site, user = site_and_user
    folder = three_step_bank(tmp_path)
    archive = io.BytesIO(zipped_bank(folder))
    archive.name = "colposcopy.zip"
    client.force_login(user)
    response = client.post(
        reverse("imagebank:import-list"), {"site": site.pk, "file": archive, "submit": "on"}
    )
    assert response.status_code == 302
    run = IngestRun.objects.get()
    assert run.submit
    execute_queued_ingest(run.pk, task_id="t")
    assert Case.objects.get(source_reference="Case 001").state == CaseState.SUBMITTED


def test_the_api_takes_submit(tmp_path, site_and_user):
    from rest_framework.test import APIClient

    site, user = site_and_user
    folder = three_step_bank(tmp_path)
    archive = io.BytesIO(zipped_bank(folder))
    archive.name = "colposcopy.zip"
    api = APIClient()
    api.force_authenticate(user)
    response = api.post("/api/ingest/", {"site": site.pk, "file": archive, "submit": "true"})
    assert response.status_code == 201, response.content
    assert response.json()["report"]["summary"]["cases_submitted"] == 1


def test_queue_ingest_keeps_the_choice(site_and_user):
    from fixtures.synthetic_cervix import render_jpeg

    site, user = site_and_user
    run = queue_ingest(
        site=site,
        actor=user,
        fileobj=io.BytesIO(render_jpeg("after_lugol", seed=1)),
        filename="x.jpg",
        submit=True,
    )
    assert IngestRun.objects.get(pk=run.pk).submit
