from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from .sites import Site


class IngestRun(models.Model):
    """One import (command line, web form or API) and the report of what it did."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("Waiting for a worker")
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="ingest_runs")
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="ingest_runs"
    )
    source_name = models.CharField(_("source"), max_length=500)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RUNNING)
    # A file sent from the import page waits in private storage under this key until a worker
    # imports it; the key is cleared when the run ends and the file deleted.
    upload_key = models.CharField(max_length=300, blank=True)
    # Submit every imported case for review once imported (`ingest --submit`, the import page's
    # box, the API's `submit`): a retrospective collection goes through the checks and review too.
    submit = models.BooleanField(_("submit the imported cases"), default=False)
    failure = models.TextField(_("why the import failed"), blank=True)
    # The durable intent and the worker's lease (docs/deployment.md, "The reconciler"): a queued
    # run's task was last sent at `heartbeat_at` (None: to be sent); a running one's worker last
    # gave a sign of life then. `claimed_by` is the Celery task id that runs it, `attempts` the
    # number of times a worker took it.
    heartbeat_at = models.DateTimeField(null=True, blank=True, db_index=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    claimed_by = models.CharField(max_length=255, blank=True)
    report = models.JSONField(default=dict, blank=True)
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-started_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status__in=["queued", "running", "done", "failed"]),
                name="ingestrun_status_valid",
            ),
            models.CheckConstraint(
                condition=~models.Q(status="queued") | ~models.Q(upload_key=""),
                name="ingestrun_queued_has_upload",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.source_name} ({self.get_status_display()})"

    @property
    def summary(self) -> dict:
        return self.report.get("summary", {})
