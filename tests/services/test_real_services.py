"""The suite's checks against real engines: PostgreSQL, a Celery worker over Redis, and an
S3-compatible server. Each skips with its reason when the engine is not configured, and fails
instead under REQUIRE_SERVICES=1 (CI)."""

import io
import os
import time
import urllib.error
import urllib.request

import pytest
from django.conf import settings
from django.db import connection

from config.celery import app as celery_app
from fixtures.synthetic_cervix import render_jpeg
from imagebank import storage
from imagebank.models import Image, ProcessingStatus
from imagebank.services import images as image_services
from tests.conftest import require_service
from tests.factories import make_case, make_contributor, make_site
from tests.services.faults import Worker


def _fetch(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 (loopback test server)
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


@pytest.mark.services
@pytest.mark.django_db
def test_suite_runs_on_postgresql_when_configured():
    require_service(bool(os.environ.get("DATABASE_URL")), "DATABASE_URL is not set")
    assert connection.vendor == "postgresql"
    with connection.cursor() as cursor:
        cursor.execute("select version()")
        assert "PostgreSQL" in cursor.fetchone()[0]


@pytest.fixture
def redis_worker(tmp_path, settings):
    """A real Celery worker process on Redis, sharing this test's database and storage."""
    require_service(bool(settings.REDIS_URL), "REDIS_URL is not set")
    require_service(connection.vendor == "postgresql", "a worker process needs PostgreSQL")
    env = {
        **os.environ,
        "DATABASE_URL": os.environ["DATABASE_URL"].rsplit("/", 1)[0]
        + "/"
        + connection.settings_dict["NAME"],
        "MEDIA_ROOT": str(settings.MEDIA_ROOT),
        "DATA_DIR": str(tmp_path / "worker"),
    }
    worker = Worker(env, tmp_path / "worker.log", pool="solo")
    celery_app.conf.task_always_eager = False
    try:
        yield worker.process
    finally:
        worker.stop()
        celery_app.conf.task_always_eager = True
    print(worker.log()[-4000:])


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_upload_is_processed_by_a_real_worker_over_redis(redis_worker):
    site = make_site()
    contributor = make_contributor(site)
    case = make_case(site=site, actor=contributor)
    image = image_services.add_image(
        case=case,
        actor=contributor,
        fileobj=io.BytesIO(render_jpeg("after_acetic_acid", seed=3)),
        filename="acetic.jpg",
        step="after_acetic_acid",
    )  # autocommit: on_commit sends the task to Redis at once
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        image.refresh_from_db()
        if image.processing_status != ProcessingStatus.PENDING:
            break
        assert redis_worker.poll() is None, "the worker process died"
        time.sleep(0.5)
    assert image.processing_status == ProcessingStatus.DONE, image.processing_error
    assert image.width == 640 and image.height == 480
    assert storage.read_bytes(image.preview.name)[:2] == b"\xff\xd8"


@pytest.mark.services
@pytest.mark.django_db
def test_files_live_on_the_s3_server_and_come_back_through_a_signed_url(
    client, django_capture_on_commit_callbacks
):
    require_service(settings.USE_S3, "AWS_STORAGE_BUCKET_NAME is not set")
    site = make_site()
    contributor = make_contributor(site)
    case = make_case(site=site, actor=contributor)
    data = render_jpeg("after_lugol", seed=5)
    with django_capture_on_commit_callbacks(execute=True):
        image = image_services.add_image(
            case=case,
            actor=contributor,
            fileobj=io.BytesIO(data),
            filename="lugol.jpg",
            step="after_lugol",
        )
    image = Image.objects.get(pk=image.pk)
    assert image.processing_status == ProcessingStatus.DONE

    # The object is in the bucket, and it is private: its plain URL is refused.
    plain_url = (
        f"{settings.STORAGES['default']['OPTIONS']['endpoint_url']}/"
        f"{settings.AWS_STORAGE_BUCKET_NAME}/{image.file.name}"
    )
    status, _ = _fetch(plain_url)
    assert status in (401, 403)

    # The permission-checked view redirects to a short-lived signed URL that serves the bytes.
    client.force_login(contributor)
    response = client.get(f"/files/images/{image.pk}/original/")
    assert response.status_code == 302
    assert "X-Amz-Signature" in response["Location"]
    status, body = _fetch(response["Location"])
    assert status == 200 and body == data

    # Someone else's session gets no URL at all.
    client.logout()
    client.force_login(make_contributor(make_site()))
    assert client.get(f"/files/images/{image.pk}/original/").status_code == 404


@pytest.mark.services
def test_objects_stream_from_s3_in_chunks_and_ranges_without_a_temporary_copy(monkeypatch):
    """A streamed download reads an object as its GET body arrives (storage.stream_chunks), whole
    or by range: never through django-storages' File, which copies the object to a temporary
    file first."""
    require_service(settings.USE_S3, "AWS_STORAGE_BUCKET_NAME is not set")
    from django.core.files.storage import default_storage

    data = bytes(range(256)) * (storage.CHUNK // 256 * 2 + 7)  # two chunks and a bit
    stored = storage.store_bytes(data, "bin", "tests-stream")

    def no_file(*args, **kwargs):
        raise AssertionError("streamed through a storage File (a temporary copy)")

    monkeypatch.setattr(default_storage, "open", no_file)
    chunks = list(storage.stream_chunks(stored.key))
    assert b"".join(chunks) == data
    assert max(len(chunk) for chunk in chunks) <= storage.CHUNK
    assert (
        b"".join(storage.stream_chunks(stored.key, 1000, 1000 + storage.CHUNK + 3))
        == (data[1000 : 1000 + storage.CHUNK + 3])
    )
    assert b"".join(storage.stream_chunks(stored.key, len(data) - 5)) == data[-5:]
    assert list(storage.stream_chunks(stored.key, 10, 10)) == []
