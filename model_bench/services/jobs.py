"""Benchmark jobs: queueing, the transitions, progress and log, cancellation, and the reconciler
pass that takes up jobs whose worker died.

A job's row says what must happen (queued), who is doing it (running, with a heartbeat) and how
it ended. Every transition is a conditional update on the state read (model_bench.lifecycle),
written with its JobEvent in the same transaction. The run itself is in
model_bench.services.execution.
"""

import socket
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Min, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from imagebank.reconcile import Backlog, Outcome
from model_bench import lifecycle
from model_bench.models import (
    FINISHED_STATES,
    BenchmarkJob,
    BenchmarkTask,
    JobEvent,
    JobLogLine,
    JobState,
)
from model_bench.reference_models import MODELS, model_kind
from model_bench.services.benchmark_tasks import can_manage_tasks

# Log lines kept per job: a runaway log must not fill the database.
MAX_LOG_LINES = 5000
# Configuration keys a job accepts, with their bounds (anything else is refused by name).
CONFIG_BOUNDS = {
    "epochs": (1, 1000),
    "batch_size": (1, 1024),
    "lr": (1e-7, 1.0),
    "weight_decay": (0.0, 1.0),
    "patience": (0, 1000),
    "resamples": (100, 100_000),
}
CONFIG_KEYS = frozenset({*CONFIG_BOUNDS, "options", "weights", "backbone", "device"})


def clean_config(model: str, config: dict | None) -> dict:
    """The job's configuration: the model's defaults updated by `config`, checked."""
    reference = MODELS[model]
    merged = {"epochs": 5, "batch_size": 16, "lr": 1e-3, **reference.defaults}
    for key, value in (config or {}).items():
        if key not in CONFIG_KEYS:
            raise ValidationError({"config": _("Unknown setting “%(key)s”.") % {"key": key}})
        if key in CONFIG_BOUNDS:
            low, high = CONFIG_BOUNDS[key]
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ValidationError({"config": _("“%(key)s” must be a number.") % {"key": key}})
            if not low <= value <= high:
                raise ValidationError(
                    {
                        "config": _("“%(key)s” must be between %(low)s and %(high)s.")
                        % {"key": key, "low": low, "high": high}
                    }  # fmt: skip
                )
        if key == "options" and isinstance(value, dict):
            value = {**merged.get("options", {}), **value}
        merged[key] = value
    weights = merged.get("weights")
    if weights is not None and (
        not isinstance(weights, list | tuple)
        or len(weights) != 6
        or not all(isinstance(w, int | float) and w >= 0 for w in weights)
        or abs(sum(weights) - 1) > 1e-6
    ):
        raise ValidationError(
            {"config": _("The voting weights are six non-negative numbers summing to 1.")}
        )
    return merged


def queue_job(
    task: BenchmarkTask,
    model: str,
    *,
    seed: int = 0,
    config: dict | None = None,
    actor=None,
    send: bool = True,
) -> BenchmarkJob:
    """A new queued job, sent to the benchmark queue once the transaction commits."""
    if actor is not None and not can_manage_tasks(actor):
        raise PermissionError(_("Only curators run benchmark jobs."))
    reference = MODELS.get(model)
    if reference is None:
        raise ValidationError(
            {
                "model": _("Unknown model “%(model)s”; choose among %(models)s.")
                % {"model": model, "models": ", ".join(MODELS)}
            }  # fmt: skip
        )
    if model_kind(task.is_segmentation) not in reference.kinds:
        raise ValidationError(
            {
                "model": _("Model “%(model)s” does not fit a %(kind)s task.")
                % {"model": model, "kind": task.get_kind_display()}
            }  # fmt: skip
        )
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**31:
        raise ValidationError({"seed": _("The seed is a whole number from 0 to 2³¹ − 1.")})
    with transaction.atomic():
        job = BenchmarkJob.objects.create(
            task=task,
            model=model,
            seed=seed,
            config=clean_config(model, config),
            requested_by=actor,
            queued_at=timezone.now(),
        )
        JobEvent.objects.create(job=job, actor=actor, to_state=JobState.QUEUED)
        if send:
            from imagebank.durable import send_task_on_commit
            from model_bench.tasks import run_benchmark_job

            send_task_on_commit(run_benchmark_job, job.pk)
    return job


def transition(
    job_id: int, from_states, to_state: str, *, actor=None, reason: str = "", **fields
) -> bool:
    """Move the job to `to_state` if it is in one of `from_states` now; False if it was not."""
    from_states = [from_states] if isinstance(from_states, str) else list(from_states)
    for state in from_states:
        lifecycle.assert_transition(state, to_state)
    now = timezone.now()
    if to_state in FINISHED_STATES:
        fields.setdefault("finished_at", now)
    with transaction.atomic():
        current = (
            BenchmarkJob.objects.select_for_update()
            .filter(pk=job_id)
            .values_list("state", flat=True)
            .first()
        )
        if current not in from_states:
            return False
        BenchmarkJob.objects.filter(pk=job_id, state=current).update(state=to_state, **fields)
        JobEvent.objects.create(
            job_id=job_id, actor=actor, from_state=current, to_state=to_state, reason=reason[:500]
        )
    return True


def log(job_id: int, message: str) -> None:
    if JobLogLine.objects.filter(job_id=job_id).count() >= MAX_LOG_LINES:
        return
    JobLogLine.objects.create(job_id=job_id, message=str(message)[:1000])


def cancel_job(job: BenchmarkJob, *, actor) -> BenchmarkJob:
    """A queued job is cancelled at once; a running one is asked to stop, which its worker does
    at its next batch (model_bench.services.execution)."""
    if actor is not None and not can_manage_tasks(actor):
        raise PermissionError(_("Only curators cancel benchmark jobs."))
    if transition(job.pk, JobState.QUEUED, JobState.CANCELLED, actor=actor, reason=_("cancelled")):
        pass
    elif (
        job.state == JobState.RUNNING
        or BenchmarkJob.objects.filter(pk=job.pk, state=JobState.RUNNING).exists()
    ):
        BenchmarkJob.objects.filter(pk=job.pk).update(cancel_requested=True)
        log(job.pk, "cancellation requested")
    else:
        raise ValidationError({"state": _("This job has finished already.")})
    job.refresh_from_db()
    return job


def claim(job_id: int) -> BenchmarkJob | None:
    """Start the job on this worker, or None when there is nothing to do: finished, or running
    on another worker that is alive. A running job whose worker died (its heartbeat older than
    the lease: this message was given back) is started again, or failed once its attempts are
    spent."""
    now = timezone.now()
    lease = timedelta(seconds=settings.BENCHMARK_LEASE_SECONDS)
    with transaction.atomic():
        job = BenchmarkJob.objects.select_for_update().filter(pk=job_id).first()
        if job is None or job.state in FINISHED_STATES:
            return None
        if job.state == JobState.RUNNING and job.heartbeat_at and job.heartbeat_at > now - lease:
            return None
        if job.attempts >= settings.BENCHMARK_MAX_ATTEMPTS:
            reason = _("The job's worker stopped %(n)s times; it was not started again.") % {
                "n": job.attempts
            }
            _fail_locked(job, reason)
            return None
        from_state = job.state
        job.state = JobState.RUNNING
        job.attempts += 1
        job.started_at = job.heartbeat_at = now
        job.worker = socket.gethostname()[:200]
        job.progress, job.progress_note, job.error = 0.0, "", ""
        job.save(
            update_fields=[
                "state", "attempts", "started_at", "heartbeat_at", "worker", "progress",
                "progress_note", "error",
            ]
        )  # fmt: skip
        if from_state != JobState.RUNNING:
            JobEvent.objects.create(job=job, from_state=from_state, to_state=JobState.RUNNING)
        else:
            JobEvent.objects.create(
                job=job, from_state=JobState.RUNNING, to_state=JobState.RUNNING,
                reason=_("restarted: its worker had stopped"),
            )  # fmt: skip
    return job


def _fail_locked(job: BenchmarkJob, reason: str) -> None:
    from_state = job.state
    BenchmarkJob.objects.filter(pk=job.pk).update(
        state=JobState.FAILED, error=reason[:500], finished_at=timezone.now()
    )
    JobEvent.objects.create(
        job=job, from_state=from_state, to_state=JobState.FAILED, reason=reason[:500]
    )


def _lease() -> timedelta:
    return timedelta(seconds=settings.BENCHMARK_LEASE_SECONDS)


def reconcile_jobs(now: datetime) -> Outcome:
    """Queued jobs nobody took within the lease are sent again; running jobs whose worker gave
    no sign of life for the lease are queued again (or failed once their attempts are spent)."""
    from imagebank.durable import send_task
    from model_bench.tasks import run_benchmark_job

    outcome = Outcome()
    stale = BenchmarkJob.objects.filter(
        Q(state=JobState.QUEUED, queued_at__lt=now - _lease())
        | Q(state=JobState.RUNNING, heartbeat_at__lt=now - _lease())
    ).order_by("pk")
    for job in stale[:100]:
        if job.state == JobState.RUNNING:
            if job.attempts >= settings.BENCHMARK_MAX_ATTEMPTS:
                reason = _(
                    "The worker stopped (no sign of life for %(s)s s) after %(n)s attempts."
                ) % {"s": settings.BENCHMARK_LEASE_SECONDS, "n": job.attempts}
                if transition(job.pk, JobState.RUNNING, JobState.FAILED, reason=reason,
                              error=reason[:500]):  # fmt: skip
                    outcome.failed += 1
                continue
            reason = _("The worker stopped (no sign of life for %(s)s s); queued again.") % {
                "s": settings.BENCHMARK_LEASE_SECONDS
            }
            if not transition(job.pk, JobState.RUNNING, JobState.QUEUED, reason=reason,
                              queued_at=now):  # fmt: skip
                continue
            log(job.pk, reason)
            outcome.resumed += 1
        else:
            BenchmarkJob.objects.filter(pk=job.pk, state=JobState.QUEUED).update(queued_at=now)
            outcome.requeued += 1
        send_task(run_benchmark_job, job.pk)
    return outcome


def jobs_backlog() -> Backlog:
    waiting = BenchmarkJob.objects.filter(state__in=[JobState.QUEUED, JobState.RUNNING])
    return Backlog(count=waiting.count(), oldest=waiting.aggregate(m=Min("queued_at"))["m"])
