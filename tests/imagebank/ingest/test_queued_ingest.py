"""Imports sent from the import page: kept privately, run by a worker, idempotent, cleaned up."""

import io

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.storage import default_storage

from fixtures.synthetic_cervix import render_jpeg
from imagebank.ingest.runs import execute_queued_ingest, queue_ingest
from imagebank.models import Case, IngestRun
from tests.factories import make_contributor, make_site

pytestmark = pytest.mark.django_db


def jpeg() -> io.BytesIO:
    return io.BytesIO(render_jpeg("after_lugol", seed=5, size=(160, 120)))


def test_a_queued_file_is_imported_by_the_worker_and_then_deleted(
    django_capture_on_commit_callbacks,
):
    site = make_site()
    user = make_contributor(site)
    with django_capture_on_commit_callbacks(execute=True):
        run = queue_ingest(site=site, actor=user, fileobj=jpeg(), filename="../../lugol.jpg")
    upload_key = run.upload_key
    run.refresh_from_db()
    assert run.status == IngestRun.Status.DONE and run.source_name == "lugol.jpg"
    assert run.summary["cases_created"] == 1 and run.summary["images_added"] == 1
    assert Case.objects.get().created_by == user
    assert run.upload_key == "" and not default_storage.exists(upload_key)
    assert upload_key.startswith("ingest-uploads/") and ".." not in upload_key


def test_a_second_delivery_of_the_task_does_nothing(django_capture_on_commit_callbacks):
    site = make_site()
    with django_capture_on_commit_callbacks(execute=True):
        run = queue_ingest(
            site=site, actor=make_contributor(site), fileobj=jpeg(), filename="x.jpg"
        )
    assert execute_queued_ingest(run.pk) == "skipped"
    assert Case.objects.count() == 1


def test_only_contributors_of_the_site_may_queue_an_import():
    site, other = make_site(), make_site()
    with pytest.raises(PermissionDenied):
        queue_ingest(site=site, actor=make_contributor(other), fileobj=jpeg(), filename="x.jpg")
    assert IngestRun.objects.count() == 0


def test_an_oversized_upload_is_refused_before_anything_is_kept(settings):
    settings.INGEST_MAX_UPLOAD_BYTES = 100
    site = make_site()
    with pytest.raises(ValidationError) as error:
        queue_ingest(site=site, actor=make_contributor(site), fileobj=jpeg(), filename="big.jpg")
    assert "big.jpg" in str(error.value)
    assert IngestRun.objects.count() == 0
    assert not default_storage.exists("ingest-uploads")


def test_a_run_whose_upload_has_vanished_fails_with_a_reason():
    site = make_site()
    run = queue_ingest(site=site, actor=make_contributor(site), fileobj=jpeg(), filename="x.jpg")
    default_storage.delete(run.upload_key)
    assert execute_queued_ingest(run.pk) == IngestRun.Status.FAILED
    run.refresh_from_db()
    assert run.failure and run.finished_at is not None and run.upload_key == ""
