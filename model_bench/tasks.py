"""Celery tasks of model_bench: thin wrappers that take primary keys, lock the row, check its
state, and import the service they call inside the task function (routes in queues.py).
"""

from celery import shared_task


@shared_task(
    bind=True,
    acks_late=True,
    max_retries=5,
    # Under the benchmark worker's warm-shutdown grace (docker-compose: 30 minutes) and the
    # broker's visibility timeout, as every task (tests/test_worker_settings.py). A job that
    # needs longer (full size on a CPU) runs with `run_benchmark --in-process` or on a GPU
    # worker (docs/benchmarks.md).
    time_limit=28 * 60,
    soft_time_limit=27 * 60,
)
def run_benchmark_job(self, job_id: int) -> str:
    """Train and evaluate one queued benchmark job (model_bench.services.execution.run_job).
    A second delivery of the message finds the job running or finished and does nothing; an
    outage puts the job back in the queue and is retried; the reconciler takes up a job whose
    worker died."""
    from celery.exceptions import SoftTimeLimitExceeded

    from model_bench.models import JobState
    from model_bench.services import execution, jobs

    try:
        return execution.run_job(job_id)
    except SoftTimeLimitExceeded:
        reason = "The job ran past its time limit (27 minutes)."
        jobs.transition(job_id, JobState.RUNNING, JobState.FAILED, reason=reason, error=reason)
        return "failed"
    except Exception as error:  # an outage: the job is queued again; try a little later
        raise self.retry(exc=error, countdown=60 * 2**self.request.retries) from error


def _score(task, submission_id: int, minutes: int) -> str:
    """Score one submission (model_bench.services.submissions.score): a second delivery finds it
    finished and does nothing; an outage leaves it received and is retried; the reconciler takes
    up one whose message was lost or whose worker died."""
    from celery.exceptions import SoftTimeLimitExceeded

    from model_bench.models import SubmissionState
    from model_bench.services import submissions

    try:
        return submissions.score(submission_id)
    except SoftTimeLimitExceeded:
        reason = f"Scoring ran past its time limit ({minutes} minutes)."
        submissions.transition(submission_id, SubmissionState.SCORING, SubmissionState.FAILED,
                               note=reason, failure=reason)  # fmt: skip
        return "failed"
    except Exception as error:  # an outage: try a little later
        raise task.retry(exc=error, countdown=min(600, 30 * 2**task.request.retries)) from error


@shared_task(bind=True, acks_late=True, max_retries=8, time_limit=10 * 60, soft_time_limit=9 * 60)
def score_submission(self, submission_id: int) -> str:
    """Validate and score a received predictions CSV or ZIP of masks, on the scoring queue."""
    return _score(self, submission_id, 9)


@shared_task(bind=True, acks_late=True, max_retries=8, time_limit=28 * 60, soft_time_limit=27 * 60)
def run_submitted_model(self, submission_id: int) -> str:
    """Check a submitted ONNX model, run it on the test images in a child process with time and
    memory limits, and score its output. On the benchmark queue: its workers have onnxruntime."""
    return _score(self, submission_id, 27)
