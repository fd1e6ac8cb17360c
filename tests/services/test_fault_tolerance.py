"""Fault tests on the real services: kill the worker (kill -9, solo and prefork) in the middle of
image processing and of a queued import, drop its database connection mid-import, stop or freeze
the S3 server and Redis during uploads. After the services return and the reconciler runs, every
image is processed, every import finished with its report, nothing is half-stored, and no web
request waited longer than the broker timeout.

The broker is a redis-server of the test's own (to kill and freeze without touching the
machine's); S3 is the suite's server behind a proxy that the test stops or freezes; PostgreSQL is
the suite's, whose backends the test terminates. "In the middle" is made exact, not timed: the
import is held on a row lock the test takes, image processing on a frozen S3.
"""

import copy
import io
import os
import shutil
import signal
import time
from urllib.parse import urlsplit

import psycopg
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection

from config.celery import app as celery_app
from fixtures.synthetic_cervix import render_jpeg
from imagebank import reconcile
from imagebank.ingest.runs import queue_ingest
from imagebank.ingest.sources import ingest_paths
from imagebank.models import Case, Image, IngestRun, ProcessingStatus, TaskFailure
from tests.conftest import require_service
from tests.factories import make_case, make_contributor, make_site
from tests.imagebank.ingest.test_iarc import bank, meta_row, zipped_bank
from tests.services.faults import FaultyProxy, PrivateRedis, Worker, wait_until

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

WORKER_APPLICATION = "imagebank-fault-worker"
WORKER_QUEUES = "ingest,default,curation"
# What a web request may wait on a broker that is down or frozen: the socket timeout, twice (the
# one reconnection a publish tries), and a second for the upload's own work.
REQUEST_BUDGET_MARGIN = 1.5


class Stack:
    """The services of one fault test, and the workers it starts."""

    def __init__(self, tmp_path, settings, redis: PrivateRedis, s3: FaultyProxy):
        self.tmp_path, self.settings, self.redis, self.s3 = tmp_path, settings, redis, s3
        self.workers: list[Worker] = []
        database = connection.settings_dict
        self.database = {
            "host": database["HOST"] or "127.0.0.1",
            "port": database["PORT"] or 5432,
            "user": database["USER"],
            "dbname": database["NAME"],
        }

    def worker_env(self) -> dict[str, str]:
        d = self.database
        return {
            **os.environ,
            "DATABASE_URL": f"postgres://{d['user']}@{d['host']}:{d['port']}/{d['dbname']}"
            f"?application_name={WORKER_APPLICATION}",
            "REDIS_URL": self.redis.url,
            "AWS_S3_ENDPOINT_URL": self.s3.url,
            "MEDIA_ROOT": str(self.settings.MEDIA_ROOT),
            "DATA_DIR": str(self.tmp_path / "worker"),
            # A frozen S3 holds the worker in its read for the whole test, not 30 s.
            "STORAGE_READ_TIMEOUT_SECONDS": "120",
            "INGEST_HEARTBEAT_SECONDS": "0",
        }

    def start_worker(self, pool: str = "solo") -> Worker:
        worker = Worker(
            self.worker_env(), self.tmp_path / "worker.log", pool=pool, queues=WORKER_QUEUES
        )
        self.workers.append(worker)
        if pool == "prefork":
            wait_until(worker.children, 60, "the prefork pool")
        return worker

    def sql(self, query: str, *params) -> list[tuple]:
        with psycopg.connect(**self.database, autocommit=True) as conn:
            return conn.execute(query, params).fetchall()

    def lock_case(self, case_id: int) -> psycopg.Connection:
        """Hold the case's row lock from another connection until `.rollback()`."""
        conn = psycopg.connect(**self.database)
        conn.execute("SELECT 1 FROM imagebank_case WHERE id = %s FOR UPDATE", (case_id,))
        return conn

    def worker_waiting_on_a_lock(self) -> int | None:
        rows = self.sql(
            "SELECT pid FROM pg_stat_activity WHERE application_name = %s "
            "AND wait_event_type = 'Lock'",
            WORKER_APPLICATION,
        )
        return rows[0][0] if rows else None

    def close(self) -> None:
        for worker in self.workers:
            worker.stop()
        log = "\n".join(w.log()[-3000:] for w in self.workers[-1:])
        print(log)


def forget_broker_connections() -> None:
    """Make this process's Celery app connect anew, to the broker its conf names now."""
    celery_app.close()
    celery_app.amqp._producer_pool = None  # close() resets it only when the app's pool was used


@pytest.fixture
def stack(tmp_path, settings):
    require_service(bool(settings.REDIS_URL), "REDIS_URL is not set")
    require_service(connection.vendor == "postgresql", "the fault tests need PostgreSQL")
    require_service(settings.USE_S3, "AWS_STORAGE_BUCKET_NAME is not set")
    require_service(bool(shutil.which("redis-server")), "redis-server is not installed")

    endpoint = urlsplit(settings.STORAGES["default"]["OPTIONS"]["endpoint_url"])
    s3 = FaultyProxy(endpoint.hostname, endpoint.port or 80)
    redis = PrivateRedis(tmp_path)
    redis.start()

    storages = copy.deepcopy(settings.STORAGES)
    storages["default"]["OPTIONS"]["endpoint_url"] = s3.url
    settings.STORAGES = storages  # this process too reaches S3 through the proxy
    previous = {key: celery_app.conf[key] for key in ("broker_url", "task_always_eager")}
    celery_app.conf.broker_url = redis.url
    celery_app.conf.task_always_eager = False
    forget_broker_connections()  # the producer pool, connected to the suite's Redis
    services = Stack(tmp_path, settings, redis, s3)
    try:
        yield services
    finally:
        services.close()
        celery_app.conf.update(previous)
        forget_broker_connections()
        s3.close()
        redis.close()


@pytest.fixture
def contributor_case():
    site = make_site()
    contributor = make_contributor(site)
    return contributor, make_case(site=site, actor=contributor)


def upload(client, case, seed: int) -> tuple[object, float]:
    """POST an image to the case through the API; the answer and how long it took."""
    file = SimpleUploadedFile(
        f"img{seed}.jpg", render_jpeg("after_acetic_acid", seed=seed), content_type="image/jpeg"
    )
    started = time.monotonic()
    response = client.post(
        f"/api/cases/{case.pk}/images/", {"file": file, "step": "after_acetic_acid"}
    )
    return response, time.monotonic() - started


def status_of(image_id: int) -> str:
    return Image.objects.values_list("processing_status", flat=True).get(pk=image_id)


def wait_processed(image_id: int, timeout: float = 90) -> None:
    wait_until(lambda: status_of(image_id) != ProcessingStatus.PENDING, timeout, "the image")
    image = Image.objects.get(pk=image_id)
    assert image.processing_status == ProcessingStatus.DONE, image.processing_error


# --- killed in the middle of image processing ---------------------------------------------------


def test_a_solo_worker_killed_mid_processing_loses_no_image(stack, contributor_case, client):
    contributor, case = contributor_case
    client.force_login(contributor)
    response, _ = upload(client, case, seed=1)
    assert response.status_code == 201
    image_id = response.json()["id"]

    stack.s3.freeze()  # the worker will hang reading the file, past counting its start
    worker = stack.start_worker("solo")
    wait_until(
        lambda: Image.objects.get(pk=image_id).processing_attempts == 1, 60, "the task's start"
    )
    time.sleep(0.5)
    worker.kill()
    stack.s3.thaw()
    assert status_of(image_id) == ProcessingStatus.PENDING  # its message died with the worker

    stack.settings.IMAGE_REQUEUE_AFTER_SECONDS = 0
    assert reconcile.reconcile_all()["images"]["requeued"] == 1
    stack.start_worker("solo")
    wait_processed(image_id)
    assert Image.objects.get(pk=image_id).processing_attempts == 2


def test_a_prefork_child_killed_mid_processing_gives_its_message_back(
    stack, contributor_case, client
):
    contributor, case = contributor_case
    client.force_login(contributor)
    response, _ = upload(client, case, seed=2)
    image_id = response.json()["id"]

    stack.s3.freeze()
    worker = stack.start_worker("prefork")
    wait_until(
        lambda: Image.objects.get(pk=image_id).processing_attempts == 1, 60, "the task's start"
    )
    time.sleep(0.5)
    [child] = worker.children()
    os.kill(child, signal.SIGKILL)
    # reject_on_worker_lost: the message goes back to the queue and a new child takes it.
    wait_until(
        lambda: Image.objects.get(pk=image_id).processing_attempts == 2, 60, "the redelivery"
    )
    stack.s3.thaw()
    wait_processed(image_id)
    assert worker.alive()


def test_storage_down_while_processing_is_retried_until_it_is_back(stack, contributor_case, client):
    contributor, case = contributor_case
    client.force_login(contributor)
    response, _ = upload(client, case, seed=3)
    image_id = response.json()["id"]

    stack.s3.stop()
    stack.start_worker("solo")
    wait_until(lambda: Image.objects.get(pk=image_id).processing_attempts == 1, 60, "the start")
    time.sleep(3)  # a retry or two with backoff, on EndpointConnectionError
    assert status_of(image_id) == ProcessingStatus.PENDING
    stack.s3.start()
    wait_processed(image_id, timeout=120)
    assert Image.objects.get(pk=image_id).processing_attempts == 1  # retries, one delivery
    assert not TaskFailure.objects.exists()
    assert "retry" in stack.workers[-1].log()


# --- outages during uploads: answers within the broker timeout, nothing half-stored -------------


def test_uploads_while_redis_is_down_or_frozen_answer_in_time_and_are_processed_later(
    stack, contributor_case, client, settings
):
    contributor, case = contributor_case
    client.force_login(contributor)
    budget = 2 * settings.BROKER_TIMEOUT_SECONDS + REQUEST_BUDGET_MARGIN
    stack.start_worker("solo")

    stack.redis.kill()
    down = [upload(client, case, seed=10 + n) for n in range(3)]
    stack.redis.start()
    stack.redis.freeze()
    frozen = [upload(client, case, seed=20 + n) for n in range(2)]
    stack.redis.thaw()

    for response, elapsed in [*down, *frozen]:
        assert response.status_code == 201, response.content
        assert elapsed < budget, f"an upload waited {elapsed:.1f} s on the broker"
    print(
        "upload times with Redis down: "
        + ", ".join(f"{e:.2f}" for _, e in down)
        + " s; frozen: "
        + ", ".join(f"{e:.2f}" for _, e in frozen)
        + f" s (budget {budget:.1f} s)"
    )
    ids = [response.json()["id"] for response, _ in [*down, *frozen]]
    assert Image.objects.filter(pk__in=ids, processing_queued_at__isnull=True).count() == 5

    assert reconcile.reconcile_all()["images"]["requeued"] == 5
    for image_id in ids:
        wait_processed(image_id, timeout=120)


def test_an_upload_while_s3_is_down_answers_503_and_stores_nothing(
    stack, contributor_case, client, settings
):
    contributor, case = contributor_case
    client.force_login(contributor)
    stack.s3.stop()
    response, elapsed = upload(client, case, seed=30)
    assert response.status_code == 503
    assert response["Retry-After"]
    assert response.json()["service"] == "storage"
    assert not Image.objects.filter(case=case).exists()
    assert elapsed < 2 * settings.STORAGE_CONNECT_TIMEOUT_SECONDS + 3
    print(f"upload with S3 down answered 503 in {elapsed:.2f} s")

    stack.s3.start()
    stack.start_worker("solo")
    response, _ = upload(client, case, seed=30)
    assert response.status_code == 201  # the same file is not "already in this case"
    wait_processed(response.json()["id"])


# --- killed, or its database connection dropped, in the middle of a queued import ---------------


@pytest.fixture
def import_held_at_its_second_case(stack, tmp_path):
    """A two-case export whose second case is already in the bank as a draft with one of its two
    images: the import writes case 1, then waits for case 2's row lock, which the test holds."""
    site = make_site()
    contributor = make_contributor(site)
    (tmp_path / "full").mkdir()
    (tmp_path / "partial").mkdir()
    full = bank(tmp_path / "full")
    partial = bank(
        tmp_path / "partial",
        meta=[meta_row(2, "AADE")],
        images=[[2, "AADE0.jpg", 2, "After acetic acid"]],
        folders={"Case 002": ["AADE0.jpg"]},
    )
    shutil.copy(full / "Case 002" / "AADE0.jpg", partial / "Case 002" / "AADE0.jpg")
    ingest_paths([partial], site=site, actor=contributor)
    [second] = Case.objects.filter(site=site)

    archive = zipped_bank(full)

    def start(pool: str):
        worker = stack.start_worker(pool)
        lock = stack.lock_case(second.pk)
        run = queue_ingest(
            site=site, actor=contributor, fileobj=io.BytesIO(archive), filename="c.zip"
        )
        backend = wait_until(stack.worker_waiting_on_a_lock, 90, "the import to reach case 2")
        assert Case.objects.filter(site=site).count() == 2
        assert IngestRun.objects.get(pk=run.pk).status == IngestRun.Status.RUNNING
        return worker, lock, run, backend

    return site, start


def wait_finished(run: IngestRun, timeout: float = 120) -> IngestRun:
    # Finished means the run's last write too: the worker records DONE, then deletes the upload
    # and clears its key, so a read between the two would see a key still set.
    wait_until(
        lambda: IngestRun.objects.filter(
            pk=run.pk,
            status__in=(IngestRun.Status.DONE, IngestRun.Status.FAILED),
            upload_key="",
        ).exists(),
        timeout,
        "the import to finish",
    )
    return IngestRun.objects.get(pk=run.pk)


def assert_imported_once(site, run: IngestRun) -> None:
    outcomes = {case["reference"]: case["outcome"] for case in run.report["cases"]}
    assert run.status == IngestRun.Status.DONE, run.failure
    # Case 1 was written before the fault and recognised after it; case 2 got its new image.
    assert outcomes == {"Case 001": "unchanged", "Case 002": "updated"}
    assert Case.objects.filter(site=site).count() == 2
    assert Image.objects.filter(case__site=site).count() == 4
    assert run.upload_key == ""


def test_a_solo_worker_killed_mid_import_is_resumed_by_the_reconciler(
    stack, import_held_at_its_second_case
):
    site, start = import_held_at_its_second_case
    worker, lock, run, _ = start("solo")
    worker.kill()
    lock.rollback()
    lock.close()
    assert IngestRun.objects.get(pk=run.pk).status == IngestRun.Status.RUNNING  # stuck, for now

    stack.settings.INGEST_LEASE_SECONDS = 0  # the dead worker's lease has run out
    assert reconcile.reconcile_all()["ingest_runs"]["resumed"] == 1
    stack.start_worker("solo")
    run = wait_finished(run)
    assert_imported_once(site, run)
    assert run.attempts == 2


def test_a_prefork_child_killed_mid_import_resumes_at_once(stack, import_held_at_its_second_case):
    site, start = import_held_at_its_second_case
    worker, lock, run, _ = start("prefork")
    [child] = worker.children()
    os.kill(child, signal.SIGKILL)
    # The message comes back (same task id): the new child takes the run over and waits again.
    wait_until(
        lambda: IngestRun.objects.get(pk=run.pk).attempts == 2 and stack.worker_waiting_on_a_lock(),
        90,
        "the redelivered import",
    )
    lock.rollback()
    lock.close()
    assert_imported_once(site, wait_finished(run))


def test_a_dropped_database_connection_mid_import_is_retried_and_resumed(
    stack, import_held_at_its_second_case
):
    site, start = import_held_at_its_second_case
    worker, lock, run, backend = start("solo")
    stack.sql("SELECT pg_terminate_backend(%s)", backend)
    lock.rollback()
    lock.close()
    run = wait_finished(run)
    assert_imported_once(site, run)
    assert run.attempts == 1  # a retry of the same delivery, on a fresh connection
    assert worker.alive()


# --- killed in the middle of a case's checks ----------------------------------------------------


def test_a_worker_killed_mid_checks_leaves_one_result_per_check_and_image(stack, settings):
    from curation.checks import registry
    from curation.models import CheckResult
    from imagebank.lifecycle import CaseState
    from imagebank.services.cases import submit_case
    from tests.factories import add_core_images

    site = make_site()
    contributor = make_contributor(site)
    case = make_case(site=site, actor=contributor)
    images = add_core_images(case, contributor)
    first_check = registry.checks("image")[0]
    # Another transaction inserts, without committing, the result the worker will write first
    # for the second image: the worker's insert waits on it, past the first image's results.
    holder = psycopg.connect(**stack.database)
    holder.execute(
        "INSERT INTO curation_checkresult (case_id, image_id, check_name, version, verdict, "
        "detail, thresholds, extra, overlay, checked_at) "
        "VALUES (%s, %s, %s, %s, 'pass', '', '{}', '{}', '', now())",
        (case.pk, images[1].pk, first_check.name, first_check.version),
    )
    worker = stack.start_worker("solo")
    submit_case(case=case, actor=contributor)  # sends the checks to the curation queue
    wait_until(stack.worker_waiting_on_a_lock, 90, "the checks to reach the second image")
    assert CheckResult.objects.filter(image=images[0]).count() == len(registry.checks("image"))
    worker.kill()
    holder.rollback()
    holder.close()
    assert Case.objects.get(pk=case.pk).state == CaseState.QUALITY_CHECKS  # stuck, for now

    settings.CHECKS_REQUEUE_AFTER_SECONDS = 0
    assert reconcile.reconcile_all()["quality_checks"]["requeued"] == 1
    stack.start_worker("solo")
    wait_until(lambda: Case.objects.get(pk=case.pk).state == CaseState.IN_REVIEW, 120, "the review")
    per_image = len(registry.checks("image"))
    per_case = len(registry.checks("case"))
    assert CheckResult.objects.filter(case=case).count() == 3 * per_image + per_case
    keys = CheckResult.objects.filter(case=case).values_list("image", "check_name", "version")
    assert len(set(keys)) == len(keys)  # no duplicates
