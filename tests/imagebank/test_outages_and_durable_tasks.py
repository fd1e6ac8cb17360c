"""Which errors are outages, and how every task treats them: retried with backoff while the
service is out, recorded for the operations page when it stays out, never sent twice by a
request that finds the broker out."""

import io

import botocore.exceptions
import kombu.exceptions
import pytest
import redis.exceptions
from django.db import OperationalError

from config.celery import app as celery_app
from fixtures.synthetic_cervix import render_jpeg
from imagebank import durable, outages, storage
from imagebank.models import Image, ProcessingStatus, TaskFailure
from imagebank.services import images as image_services
from imagebank.tasks import process_image
from tests.factories import make_case, make_contributor, make_site

pytestmark = pytest.mark.usefixtures("local_storage")


def storage_down() -> Exception:
    return botocore.exceptions.EndpointConnectionError(endpoint_url="http://s3.invalid")


def client_error(code: str, status: int) -> Exception:
    return botocore.exceptions.ClientError(
        {"Error": {"Code": code}, "ResponseMetadata": {"HTTPStatusCode": status}}, "GetObject"
    )


# --- the classification -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("error", "service"),
    [
        (OperationalError("server closed the connection unexpectedly"), outages.DATABASE),
        (kombu.exceptions.OperationalError("Error 111 connecting"), outages.BROKER),
        (redis.exceptions.ConnectionError("Connection refused"), outages.CACHE),
        (redis.exceptions.TimeoutError("Timeout reading from socket"), outages.CACHE),
        (storage_down(), outages.STORAGE),
        (botocore.exceptions.ConnectTimeoutError(endpoint_url="http://s3"), outages.STORAGE),
        (botocore.exceptions.ReadTimeoutError(endpoint_url="http://s3"), outages.STORAGE),
        (client_error("SlowDown", 503), outages.STORAGE),
        (client_error("InternalError", 500), outages.STORAGE),
        (client_error("NoSuchKey", 404), None),
        (client_error("AccessDenied", 403), None),
        (ValueError("not an image"), None),
        (FileNotFoundError("gone"), None),
    ],
)
def test_each_error_is_put_down_to_its_service_or_to_none(error, service):
    assert outages.service_out(error) == service
    assert outages.is_transient(error) is (service is not None)


def test_an_outage_wrapped_in_another_error_is_still_recognised():
    try:
        try:
            raise storage_down()
        except botocore.exceptions.BotoCoreError as cause:
            raise RuntimeError("could not save") from cause
    except RuntimeError as wrapped:
        assert outages.service_out(wrapped) == outages.STORAGE


def test_backoff_doubles_up_to_its_cap_with_some_jitter():
    assert 2 <= durable.backoff_seconds(0) <= 2.5
    assert 16 <= durable.backoff_seconds(3) <= 20
    assert durable.RETRY_CAP_SECONDS <= durable.backoff_seconds(20) <= 1.25 * 300


# --- tasks: retried while the service is out, recorded when it stays out ------------------------


@pytest.fixture
def pending_image(db):
    site = make_site()
    contributor = make_contributor(site)
    case = make_case(site=site, actor=contributor)
    # A web upload: its previews are the task's work (on_commit callbacks do not run here).
    return image_services.add_image(
        case=case,
        actor=contributor,
        fileobj=io.BytesIO(render_jpeg("after_acetic_acid", seed=4)),
        filename="a.jpg",
        step="after_acetic_acid",
    )


def failing_reads(monkeypatch, times: int):
    """storage.read_bytes fails as if S3 were down, the first `times` calls."""
    calls = {"count": 0}
    real = storage.read_bytes

    def read_bytes(key):
        calls["count"] += 1
        if calls["count"] <= times:
            raise storage_down()
        return real(key)

    monkeypatch.setattr(storage, "read_bytes", read_bytes)
    monkeypatch.setattr(durable, "backoff_seconds", lambda retries: 0)
    # As a worker runs it: a retry is a new run of the task, not an error raised to the caller.
    monkeypatch.setitem(celery_app.conf, "task_eager_propagates", False)
    return calls


def test_a_storage_outage_is_retried_and_the_image_processed_once_storage_is_back(
    pending_image, monkeypatch
):
    calls = failing_reads(monkeypatch, times=2)
    process_image.apply(args=[pending_image.pk])
    pending_image.refresh_from_db()
    assert calls["count"] == 3
    assert pending_image.processing_status == ProcessingStatus.DONE
    # The retries were one delivery: one start counted, not three.
    assert pending_image.processing_attempts == 1
    assert not TaskFailure.objects.exists()


def test_an_outage_that_outlasts_the_retries_leaves_the_image_pending_and_is_recorded(
    pending_image, monkeypatch
):
    failing_reads(monkeypatch, times=1000)
    result = process_image.apply(args=[pending_image.pk])
    assert isinstance(result.result, botocore.exceptions.EndpointConnectionError)
    pending_image.refresh_from_db()
    # Not failed: the file is fine, storage was out. The reconciler sends it again later.
    assert pending_image.processing_status == ProcessingStatus.PENDING
    failure = TaskFailure.objects.get()
    assert failure.task == "imagebank.tasks.process_image"
    assert failure.object_id == str(pending_image.pk)
    assert failure.error_type == "EndpointConnectionError" and failure.service == "storage"


def test_a_file_error_is_permanent_and_recorded_on_the_image_without_retrying(
    pending_image, monkeypatch
):
    calls = {"count": 0}

    def read_bytes(key):
        calls["count"] += 1
        raise FileNotFoundError(key)

    monkeypatch.setattr(storage, "read_bytes", read_bytes)
    process_image.apply(args=[pending_image.pk])
    pending_image.refresh_from_db()
    assert calls["count"] == 1
    assert pending_image.processing_status == ProcessingStatus.FAILED
    assert "cannot be read" in pending_image.processing_error


def test_an_image_whose_task_keeps_dying_is_failed_at_its_next_start(pending_image, settings):
    settings.IMAGE_MAX_ATTEMPTS = 3
    Image.objects.filter(pk=pending_image.pk).update(processing_attempts=3)
    assert process_image.apply(args=[pending_image.pk]).result == ProcessingStatus.FAILED
    pending_image.refresh_from_db()
    assert pending_image.processing_status == ProcessingStatus.FAILED
    assert "3 times" in pending_image.processing_error


def test_a_task_called_directly_is_not_retried(pending_image, monkeypatch):
    failing_reads(monkeypatch, times=1)
    with pytest.raises(botocore.exceptions.EndpointConnectionError):
        process_image(pending_image.pk)


def test_a_failure_that_cannot_be_recorded_is_only_logged(monkeypatch, caplog):
    def refuse(**fields):
        raise OperationalError("the database is down too")

    monkeypatch.setattr(TaskFailure.objects, "create", refuse)
    durable.record_failure("imagebank.tasks.process_image", [7], storage_down())
    assert "could not record the failure" in caplog.text


# --- sending: the broker out never fails the request that asks ----------------------------------


class BrokerDown:
    name = "imagebank.tasks.example"

    def delay(self, *args):
        raise kombu.exceptions.OperationalError("[Errno 111] Connection refused")


class Broken:
    name = "imagebank.tasks.example"

    def delay(self, *args):
        raise TypeError("a bug, not an outage")


def test_a_task_that_cannot_be_sent_is_marked_unsent_and_logged_once(caplog):
    marked = []
    assert durable.send_task(BrokerDown(), 5, on_unsent=lambda: marked.append(5)) is False
    assert marked == [5]
    [record] = [r for r in caplog.records if "not sent" in r.getMessage()]
    assert "broker" in record.getMessage() and "reconciler" in record.getMessage()


def test_an_error_that_is_not_an_outage_is_raised_by_send_task():
    with pytest.raises(TypeError):
        durable.send_task(Broken(), 5)


@pytest.mark.django_db
def test_an_upload_while_the_broker_is_out_is_stored_pending_for_the_reconciler(
    monkeypatch, django_capture_on_commit_callbacks
):
    def refuse(*args, **kwargs):
        raise kombu.exceptions.OperationalError("[Errno 111] Connection refused")

    monkeypatch.setattr(process_image, "delay", refuse)
    site = make_site()
    contributor = make_contributor(site)
    case = make_case(site=site, actor=contributor)
    with django_capture_on_commit_callbacks(execute=True):
        image = image_services.add_image(
            case=case,
            actor=contributor,
            fileobj=io.BytesIO(render_jpeg("after_lugol", seed=8)),
            filename="l.jpg",
            step="after_lugol",
        )
    image.refresh_from_db()
    assert image.processing_status == ProcessingStatus.PENDING
    assert image.processing_queued_at is None  # "to be sent": the reconciler's next pass
