from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from .sites import Site


class IngestRun(models.Model):
    """One import (command line, web form or API) and the report of what it did."""

    class Status(models.TextChoices):
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="ingest_runs")
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="ingest_runs"
    )
    source_name = models.CharField(_("source"), max_length=500)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RUNNING)
    report = models.JSONField(default=dict, blank=True)
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-started_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status__in=["running", "done", "failed"]),
                name="ingestrun_status_valid",
            )
        ]

    def __str__(self) -> str:
        return f"{self.source_name} ({self.get_status_display()})"

    @property
    def summary(self) -> dict:
        return self.report.get("summary", {})
