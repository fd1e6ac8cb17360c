"""Benchmark jobs: one reference model trained and evaluated on one task, by a Celery worker on
the `benchmark` queue (model_bench.services.jobs; its states and transitions in
model_bench.lifecycle).

The row is the job's durable record: the worker writes its progress, heartbeat and log lines as
it goes, so that the job's page shows them while it runs and the reconciler can tell a job whose
worker died (no heartbeat for BENCHMARK_LEASE_SECONDS) from one that is working. Results (metrics
per level, the training curves' figures) are written once, with the artefacts, when it succeeds.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from .tasks import BenchmarkTask


class JobState(models.TextChoices):
    QUEUED = "queued", _("queued")
    RUNNING = "running", _("running")
    SUCCEEDED = "succeeded", _("succeeded")
    FAILED = "failed", _("failed")
    CANCELLED = "cancelled", _("cancelled")


FINISHED_STATES = (JobState.SUCCEEDED, JobState.FAILED, JobState.CANCELLED)


class BenchmarkJob(models.Model):
    task = models.ForeignKey(BenchmarkTask, on_delete=models.PROTECT, related_name="jobs")
    model = models.CharField(_("model"), max_length=40)
    seed = models.BigIntegerField(_("seed"))
    # Everything the run depends on besides the data: epochs, sizes, rates, voting weights.
    config = models.JSONField(_("configuration"), default=dict)
    state = models.CharField(
        _("state"), max_length=12, choices=JobState.choices, default=JobState.QUEUED
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    queued_at = models.DateTimeField(null=True, blank=True, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    cancel_requested = models.BooleanField(default=False)
    progress = models.FloatField(default=0.0)
    progress_note = models.CharField(max_length=200, blank=True)
    error = models.CharField(max_length=500, blank=True)
    worker = models.CharField(max_length=200, blank=True)
    device = models.CharField(max_length=40, blank=True)
    # Results: {"rows": [{"model", "level", "n_test", "metrics": {name: {value, ci_low, ci_high}}}]}
    results = models.JSONField(default=dict, blank=True)
    # Training curves: {network: [{"epoch": n, "train_loss": …, "val_loss": …, …}]}
    history = models.JSONField(default=dict, blank=True)
    parameters = models.PositiveBigIntegerField(null=True, blank=True)
    training_seconds = models.FloatField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        permissions = [("download_benchmarkjob_artefacts", _("Can download a job's artefacts"))]
        constraints = [
            models.CheckConstraint(condition=Q(state__in=JobState.values), name="job_state_valid"),
            models.CheckConstraint(
                condition=Q(progress__gte=0) & Q(progress__lte=1), name="job_progress_range"
            ),
        ]
        indexes = [models.Index(fields=["state", "heartbeat_at"], name="job_state_heartbeat")]

    def __str__(self) -> str:
        return f"{self.model} on {self.task_id} (#{self.pk})"

    @property
    def is_finished(self) -> bool:
        return self.state in FINISHED_STATES


class JobEvent(models.Model):
    """One transition of a job: who (None for the worker or the reconciler), when, from, to, why."""

    job = models.ForeignKey(BenchmarkJob, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField(auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    from_state = models.CharField(max_length=12, choices=JobState.choices, blank=True)
    to_state = models.CharField(max_length=12, choices=JobState.choices)
    reason = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["job", "at", "pk"]

    def __str__(self) -> str:
        return f"{self.job_id}: {self.from_state} → {self.to_state}"


class JobLogLine(models.Model):
    """A line of a job's log, written by the worker as it goes (a row each, so that writing one
    never rewrites the others)."""

    job = models.ForeignKey(BenchmarkJob, on_delete=models.CASCADE, related_name="log_lines")
    at = models.DateTimeField(auto_now_add=True)
    message = models.CharField(max_length=1000)

    class Meta:
        ordering = ["job", "pk"]

    def __str__(self) -> str:
        return self.message


class JobArtefact(models.Model):
    """A file a job produced (weights, ONNX export, configuration, metrics, curves), stored in
    private storage under its SHA-256 and served only by a view that checks permission."""

    job = models.ForeignKey(BenchmarkJob, on_delete=models.CASCADE, related_name="artefacts")
    name = models.CharField(max_length=100)
    storage_key = models.CharField(max_length=300)
    sha256 = models.CharField(max_length=64)
    bytes = models.PositiveBigIntegerField()
    content_type = models.CharField(max_length=100)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["job", "name"]
        constraints = [
            models.UniqueConstraint(fields=["job", "name"], name="jobartefact_name_unique")
        ]

    def __str__(self) -> str:
        return self.name
