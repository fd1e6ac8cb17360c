"""A benchmark job's life: its configuration checked when queued, cancellation (at once when
queued, at the next batch when running), a second delivery skipped while its worker lives, a dead
worker's job taken up again by the reconciler then failed once its attempts are spent, a bad task
failing with its reason, and an outage putting the job back in the queue."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import OperationalError
from django.utils import timezone

from imagebank import reconcile
from model_bench.models import BenchmarkJob, JobState
from model_bench.services import datasets, execution, jobs
from model_bench.services.benchmark_tasks import create_task
from tests.factories import make_user_with_role
from tests.roles import Role

pytestmark = pytest.mark.django_db


@pytest.fixture
def task(bench_release, curator):
    return create_task(slug="cin2", version=bench_release, kind="image-classification",
                       label="histology_cin2", actor=curator, image_size=32)  # fmt: skip


def queued(task, model="baseline", **config):
    return jobs.queue_job(task, model, config={"resamples": 100, **config}, send=False)


@pytest.mark.parametrize(
    "config, message",
    [
        ({"epochs": 0}, "between"),
        ({"epochs": "5"}, "number"),
        ({"learning_rate": 1}, "Unknown setting"),
        ({"weights": [0.5, 0.5]}, "six"),
        ({"weights": [0.2, 0.25, 0.15, 0.2, 0.11, 0.1]}, "summing to 1"),
    ],
)
def test_a_bad_configuration_is_refused_by_name(task, config, message):
    with pytest.raises(ValidationError, match=message):
        jobs.queue_job(task, "unetpp-repvgg-vote", config=config, send=False)
    assert not BenchmarkJob.objects.exists()


def test_only_curators_queue_and_cancel(task):
    researcher = make_user_with_role(Role.RESEARCHER)
    with pytest.raises(PermissionError):
        jobs.queue_job(task, "baseline", actor=researcher, send=False)
    job = queued(task)
    with pytest.raises(PermissionError):
        jobs.cancel_job(job, actor=researcher)


def test_cancelling_a_queued_job_is_immediate_and_its_message_then_does_nothing(task, curator):
    job = jobs.cancel_job(queued(task), actor=curator)
    assert job.state == JobState.CANCELLED and job.finished_at is not None
    assert execution.run_job(job.pk) == "skipped"
    with pytest.raises(ValidationError):
        jobs.cancel_job(job, actor=curator)


def test_a_running_job_stops_at_its_next_batch_when_cancelled(task, curator, monkeypatch):
    job = queued(task, "repvgg", epochs=3)
    real_load = datasets.load

    def load_then_cancel(*args, **kwargs):
        data = real_load(*args, **kwargs)
        jobs.cancel_job(BenchmarkJob.objects.get(pk=job.pk), actor=curator)  # while running
        return data

    monkeypatch.setattr(datasets, "load", load_then_cancel)
    assert execution.run_job(job.pk) == "cancelled"
    job.refresh_from_db()
    assert job.state == JobState.CANCELLED and not job.artefacts.exists()
    assert [e.to_state for e in job.events.all()] == ["queued", "running", "cancelled"]


def test_a_second_delivery_is_skipped_while_the_worker_lives(task):
    job = queued(task)
    BenchmarkJob.objects.filter(pk=job.pk).update(
        state=JobState.RUNNING, heartbeat_at=timezone.now(), attempts=1
    )
    assert execution.run_job(job.pk) == "skipped"
    assert BenchmarkJob.objects.get(pk=job.pk).attempts == 1


def test_a_dead_workers_job_is_queued_again_then_failed_once_its_attempts_are_spent(
    task, settings, monkeypatch
):
    sent = []
    monkeypatch.setattr("imagebank.durable.send_task", lambda task, *args, **kw: sent.append(args))
    settings.BENCHMARK_MAX_ATTEMPTS = 2
    job = queued(task)
    long_ago = timezone.now() - timedelta(seconds=settings.BENCHMARK_LEASE_SECONDS + 5)
    BenchmarkJob.objects.filter(pk=job.pk).update(
        state=JobState.RUNNING, heartbeat_at=long_ago, attempts=1
    )
    outcome = reconcile.reconcile_all()["benchmark_jobs"]
    assert outcome["resumed"] == 1 and sent == [(job.pk,)]
    job.refresh_from_db()
    assert job.state == JobState.QUEUED
    assert job.log_lines.filter(message__contains="no sign of life").exists()

    BenchmarkJob.objects.filter(pk=job.pk).update(
        state=JobState.RUNNING, heartbeat_at=long_ago, attempts=2
    )
    assert reconcile.reconcile_all()["benchmark_jobs"]["failed"] == 1
    job.refresh_from_db()
    assert job.state == JobState.FAILED and "attempts" in job.error
    assert job.events.last().to_state == JobState.FAILED


def test_a_redelivered_message_of_a_dead_worker_restarts_the_job(task, settings):
    job = queued(task)
    long_ago = timezone.now() - timedelta(seconds=settings.BENCHMARK_LEASE_SECONDS + 5)
    BenchmarkJob.objects.filter(pk=job.pk).update(
        state=JobState.RUNNING, heartbeat_at=long_ago, attempts=1
    )
    assert execution.run_job(job.pk) == "succeeded"
    job.refresh_from_db()
    assert job.attempts == 2 and job.state == JobState.SUCCEEDED
    assert job.events.filter(reason__contains="restarted").exists()


def test_a_task_without_the_masks_it_needs_fails_with_the_reason(bench_release, curator):
    task = create_task(slug="scj", version=bench_release, kind="segmentation", label="scj",
                       actor=curator, image_size=32)  # fmt: skip
    job = jobs.queue_job(task, "unetpp", config={"epochs": 1}, send=False)
    assert execution.run_job(job.pk) == "failed"
    job.refresh_from_db()
    assert job.state == JobState.FAILED and "no training images" in job.error
    assert job.finished_at is not None


def test_an_outage_puts_the_job_back_in_the_queue_without_spending_an_attempt(task, monkeypatch):
    job = queued(task)

    def database_down(*args, **kwargs):
        raise OperationalError("could not connect to server: Connection refused")

    monkeypatch.setattr(datasets, "load", database_down)
    with pytest.raises(OperationalError):
        execution.run_job(job.pk)
    job.refresh_from_db()
    assert job.state == JobState.QUEUED and job.attempts == 0
    monkeypatch.undo()
    assert execution.run_job(job.pk) == "succeeded"
