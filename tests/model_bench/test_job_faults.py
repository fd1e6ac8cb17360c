"""A benchmark worker killed (kill -9) in the middle of training leaves its job `running` only
until the lease runs out: the reconciler queues it again, and the next worker trains it to the
end, once. On the real services (the fault tests' own Redis, the suite's PostgreSQL and S3)."""

import pytest

from imagebank import reconcile
from model_bench.models import BenchmarkJob, JobState
from model_bench.services import jobs
from model_bench.services.benchmark_tasks import create_task
from tests.model_bench.conftest import make_bench_release
from tests.services.faults import Worker, wait_until
from tests.services.test_fault_tolerance import stack  # noqa: F401 - the fixture

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


def benchmark_worker(stack) -> Worker:  # noqa: F811
    env = {**stack.worker_env(), "BENCHMARK_HEARTBEAT_SECONDS": "0"}
    worker = Worker(env, stack.tmp_path / "benchmark-worker.log", queues="benchmark")
    stack.workers.append(worker)
    return worker


def test_a_worker_killed_mid_training_leaves_the_job_to_be_run_again(
    stack,  # noqa: F811
    settings,
    published_releases_live,
    curator,  # noqa: F811
):
    version = make_bench_release(curator)
    task = create_task(slug="cin2", version=version, kind="image-classification",
                       label="histology_cin2", actor=curator, image_size=32)  # fmt: skip
    worker = benchmark_worker(stack)
    job = jobs.queue_job(task, "repvgg", seed=1, config={"epochs": 40, "resamples": 100})

    def training():
        row = BenchmarkJob.objects.get(pk=job.pk)
        return row.state == JobState.RUNNING and row.progress > 0.1

    wait_until(training, 180, "the job to be training")
    worker.kill()
    job.refresh_from_db()
    assert job.state == JobState.RUNNING and job.attempts == 1  # stuck, for now
    assert not job.artefacts.exists()

    settings.BENCHMARK_LEASE_SECONDS = 0  # the dead worker's lease has run out
    assert reconcile.reconcile_all()["benchmark_jobs"]["resumed"] == 1
    assert BenchmarkJob.objects.get(pk=job.pk).state == JobState.QUEUED
    settings.BENCHMARK_LEASE_SECONDS = 900
    benchmark_worker(stack)
    wait_until(lambda: BenchmarkJob.objects.get(pk=job.pk).is_finished, 300, "the job")
    job.refresh_from_db()
    assert job.state == JobState.SUCCEEDED, job.error
    assert job.attempts == 2
    assert job.artefacts.filter(name="repvgg.onnx").count() == 1
    states = [e.to_state for e in job.events.all()]
    assert states == ["queued", "running", "queued", "running", "succeeded"]
