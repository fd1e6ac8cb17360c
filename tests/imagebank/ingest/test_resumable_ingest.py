"""Queued imports that lose their worker midway: resumed from where they stopped (the cases
written are recognised), or failed with the report of the cases written so far, never stuck."""

import io

import botocore.exceptions
import kombu.exceptions
import pytest
from celery.exceptions import SoftTimeLimitExceeded
from django.core.files.storage import FileSystemStorage, default_storage
from django.db import OperationalError

from imagebank.ingest import runs
from imagebank.ingest.runs import execute_queued_ingest, queue_ingest, run_ingest
from imagebank.models import Case, Image, IngestRun
from imagebank.tasks import run_queued_ingest
from tests.factories import make_contributor, make_site
from tests.imagebank.ingest.test_iarc import bank, zipped_bank

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("local_storage")]


class WorkerKilled(BaseException):
    """Stands for kill -9: nothing after it runs, no handler sees it (BaseException)."""


@pytest.fixture
def site_and_user():
    site = make_site()
    return site, make_contributor(site)


@pytest.fixture
def two_case_zip(tmp_path) -> bytes:
    """A colposcopy-bank export of two cases, zipped as the import page receives it."""
    return zipped_bank(bank(tmp_path))


@pytest.fixture
def sent(monkeypatch):
    messages = []
    monkeypatch.setattr(run_queued_ingest, "delay", lambda *args: messages.append(args))
    return messages


@pytest.fixture
def queued(site_and_user, two_case_zip, sent, settings):
    settings.INGEST_HEARTBEAT_SECONDS = 0  # a heartbeat before every case
    site, user = site_and_user
    return queue_ingest(
        site=site, actor=user, fileobj=io.BytesIO(two_case_zip), filename="colposcopy.zip"
    )


def stop_at_case(monkeypatch, number: int, error: BaseException) -> None:
    """Make the import stop as it begins its `number`th case (its heartbeat just given)."""
    real = runs._Heartbeat.__call__
    calls = {"count": 0}

    def heartbeat(self, report):
        calls["count"] += 1
        real(self, report)
        if calls["count"] == number:
            monkeypatch.setattr(runs._Heartbeat, "__call__", real)
            raise error

    monkeypatch.setattr(runs._Heartbeat, "__call__", heartbeat)


def outcomes(run: IngestRun) -> dict[str, str]:
    return {case["reference"]: case["outcome"] for case in run.report["cases"]}


def test_the_same_message_given_back_after_its_worker_died_resumes_the_import(queued, monkeypatch):
    upload = queued.upload_key
    stop_at_case(monkeypatch, 2, WorkerKilled())
    with pytest.raises(WorkerKilled):
        execute_queued_ingest(queued.pk, task_id="message-1")
    queued.refresh_from_db()
    assert queued.status == IngestRun.Status.RUNNING and Case.objects.count() == 1
    # The heartbeat kept the report of the case written before the worker died.
    assert outcomes(queued) == {"Case 001": "created"}

    # The broker hands the same message to another worker (reject_on_worker_lost).
    assert execute_queued_ingest(queued.pk, task_id="message-1") == IngestRun.Status.DONE
    queued.refresh_from_db()
    assert outcomes(queued) == {"Case 001": "unchanged", "Case 002": "created"}
    assert Case.objects.count() == 2 and Image.objects.count() == 4
    assert queued.attempts == 2 and queued.upload_key == ""
    assert not default_storage.exists(upload)


def test_another_message_leaves_a_run_alone_until_its_lease_expires(queued, monkeypatch, settings):
    stop_at_case(monkeypatch, 2, WorkerKilled())
    with pytest.raises(WorkerKilled):
        execute_queued_ingest(queued.pk, task_id="message-1")
    assert execute_queued_ingest(queued.pk, task_id="message-2") == "skipped"
    settings.INGEST_LEASE_SECONDS = 0
    assert execute_queued_ingest(queued.pk, task_id="message-2") == IngestRun.Status.DONE
    assert Case.objects.count() == 2


def test_a_database_outage_midway_keeps_the_run_for_the_retry_which_resumes_it(queued, monkeypatch):
    stop_at_case(monkeypatch, 2, OperationalError("server closed the connection unexpectedly"))
    with pytest.raises(OperationalError):
        execute_queued_ingest(queued.pk, task_id="message-1")
    queued.refresh_from_db()
    assert queued.status == IngestRun.Status.RUNNING
    assert default_storage.exists(queued.upload_key), "the upload is kept for the retry"

    # DurableTask's retry: the same task id, not a new delivery.
    result = execute_queued_ingest(queued.pk, task_id="message-1", first_delivery=False)
    assert result == IngestRun.Status.DONE
    queued.refresh_from_db()
    assert queued.attempts == 1 and Case.objects.count() == 2


def test_a_storage_outage_midway_is_an_outage_too(queued, monkeypatch):
    stop_at_case(
        monkeypatch, 2, botocore.exceptions.EndpointConnectionError(endpoint_url="http://s3")
    )
    with pytest.raises(botocore.exceptions.EndpointConnectionError):
        execute_queued_ingest(queued.pk, task_id="message-1")
    queued.refresh_from_db()
    assert queued.status == IngestRun.Status.RUNNING
    assert outcomes(queued) == {"Case 001": "created"}


def test_the_end_of_the_tasks_time_queues_the_run_to_continue_in_a_fresh_task(
    queued, monkeypatch, sent, django_capture_on_commit_callbacks
):
    stop_at_case(monkeypatch, 2, SoftTimeLimitExceeded())
    sent.clear()
    with django_capture_on_commit_callbacks(execute=True):
        result = execute_queued_ingest(queued.pk, task_id="message-1")
    assert result == IngestRun.Status.QUEUED
    queued.refresh_from_db()
    assert queued.status == IngestRun.Status.QUEUED and queued.claimed_by == ""
    assert sent == [(queued.pk,)]
    # The slice wrote a case: it does not use up an attempt.
    assert queued.attempts == 0
    assert execute_queued_ingest(queued.pk, task_id="message-2") == IngestRun.Status.DONE
    assert Case.objects.count() == 2


def test_a_slice_that_wrote_nothing_uses_up_an_attempt(queued, monkeypatch):
    stop_at_case(monkeypatch, 1, SoftTimeLimitExceeded())
    execute_queued_ingest(queued.pk, task_id="message-1")
    queued.refresh_from_db()
    assert queued.status == IngestRun.Status.QUEUED and queued.attempts == 1


def test_a_run_that_used_up_its_attempts_is_failed_at_its_next_delivery(queued, settings):
    settings.INGEST_MAX_ATTEMPTS = 2
    IngestRun.objects.filter(pk=queued.pk).update(attempts=2)
    assert execute_queued_ingest(queued.pk, task_id="message-9") == "skipped"
    queued.refresh_from_db()
    assert queued.status == IngestRun.Status.FAILED and "2 times" in queued.failure
    assert Case.objects.count() == 0


def test_an_unexpected_error_midway_fails_the_run_with_the_cases_written_so_far(
    queued, monkeypatch
):
    stop_at_case(monkeypatch, 2, ValueError("a bug"))
    assert execute_queued_ingest(queued.pk, task_id="message-1") == IngestRun.Status.FAILED
    queued.refresh_from_db()
    assert "unexpected error" in queued.failure
    assert outcomes(queued) == {"Case 001": "created"}
    assert queued.upload_key == ""


def test_a_file_sent_while_the_broker_is_out_is_queued_for_the_reconciler(
    site_and_user, two_case_zip, monkeypatch, django_capture_on_commit_callbacks
):
    def refuse(*args):
        raise kombu.exceptions.OperationalError("[Errno 111] Connection refused")

    monkeypatch.setattr(run_queued_ingest, "delay", refuse)
    site, user = site_and_user
    with django_capture_on_commit_callbacks(execute=True):
        run = queue_ingest(
            site=site, actor=user, fileobj=io.BytesIO(two_case_zip), filename="c.zip"
        )
    run.refresh_from_db()
    assert run.status == IngestRun.Status.QUEUED and run.heartbeat_at is None
    assert default_storage.exists(run.upload_key)


def test_a_file_sent_while_storage_is_out_leaves_nothing_behind(
    site_and_user, two_case_zip, monkeypatch
):
    def refuse(*args, **kwargs):
        raise botocore.exceptions.EndpointConnectionError(endpoint_url="http://s3")

    monkeypatch.setattr(FileSystemStorage, "save", refuse)
    site, user = site_and_user
    with pytest.raises(botocore.exceptions.EndpointConnectionError):
        queue_ingest(site=site, actor=user, fileobj=io.BytesIO(two_case_zip), filename="c.zip")
    assert IngestRun.objects.count() == 0


def test_a_file_sent_while_the_database_is_out_is_not_kept(
    site_and_user, two_case_zip, monkeypatch, settings, tmp_path
):
    def refuse(**fields):
        raise OperationalError("the database is out")

    monkeypatch.setattr(IngestRun.objects, "create", refuse)
    site, user = site_and_user
    with pytest.raises(OperationalError):
        queue_ingest(site=site, actor=user, fileobj=io.BytesIO(two_case_zip), filename="c.zip")
    assert not default_storage.exists("ingest-uploads") or not any(
        default_storage.listdir("ingest-uploads")[1]
    )


def test_a_command_line_import_cut_by_an_outage_fails_with_the_service_named(
    site_and_user, tmp_path, monkeypatch, settings
):
    settings.INGEST_HEARTBEAT_SECONDS = 0
    stop_at_case(
        monkeypatch, 2, botocore.exceptions.EndpointConnectionError(endpoint_url="http://s3")
    )
    site, user = site_and_user
    folder = bank(tmp_path)
    with pytest.raises(botocore.exceptions.EndpointConnectionError):
        run_ingest(site=site, actor=user, paths=[folder])
    run = IngestRun.objects.get()
    assert run.status == IngestRun.Status.FAILED and "file storage" in run.failure
    assert outcomes(run) == {"Case 001": "created"}


@pytest.mark.django_db(transaction=True)
def test_the_run_is_written_on_a_fresh_connection_when_the_old_one_was_dropped(
    site_and_user, monkeypatch
):
    from django.db import connection
    from django.db.models import QuerySet

    site, user = site_and_user
    run = IngestRun.objects.create(site=site, started_by=user, source_name="a.zip")
    real_update, closed, calls = QuerySet.update, [], {"count": 0}

    def update(queryset, **fields):
        calls["count"] += 1
        if calls["count"] == 1:
            raise OperationalError("server closed the connection unexpectedly")
        return real_update(queryset, **fields)

    monkeypatch.setattr(QuerySet, "update", update)
    monkeypatch.setattr(connection, "close", lambda: closed.append(True))
    monkeypatch.setattr(runs.time, "sleep", lambda seconds: None)
    assert runs._write_fresh(run.pk, status=IngestRun.Status.FAILED, failure="x") == 1
    assert closed == [True]
    assert IngestRun.objects.get(pk=run.pk).status == IngestRun.Status.FAILED
