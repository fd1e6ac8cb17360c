"""Submissions: a research group's own results on a benchmark task, scored on the sequestered test
split by the bank (issue 15), and the leaderboard entries that rank them beside the reference
models.

A submission is a predictions CSV (classification), a ZIP of mask PNGs (segmentation) or an ONNX
model that a worker runs; nothing else submitted is ever executed. Its row is the durable record:
`received` (stored, waiting for a worker) → `scoring` → `scored` | `failed`, or `invalid` with
its errors (an invalid submission has no score and does not count toward the daily limit);
model_bench.lifecycle holds the transitions. The submitter's group is kept as the key and name
curation.hooks.grant_holders gave (model_bench does not import access_requests): limits and
leaderboards count by `group_key`.

A leaderboard entry is one ranked line of a task's board: a scored submission or a reference
model's job, with its primary metric and interval; `rank` is stored when a result arrives, so a
board is one indexed query. Entries with the same value share a rank and are ordered by date.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from .jobs import BenchmarkJob
from .tasks import BenchmarkTask


class SubmissionKind(models.TextChoices):
    PREDICTIONS = "predictions", _("predictions (CSV)")
    MASKS = "masks", _("masks (ZIP of PNGs)")
    ONNX = "onnx", _("ONNX model")


class SubmissionState(models.TextChoices):
    RECEIVED = "received", _("received")
    SCORING = "scoring", _("scoring")
    SCORED = "scored", _("scored")
    INVALID = "invalid", _("invalid")
    FAILED = "failed", _("failed")


SUBMISSION_FINISHED_STATES = (
    SubmissionState.SCORED,
    SubmissionState.INVALID,
    SubmissionState.FAILED,
)


class Submission(models.Model):
    task = models.ForeignKey(BenchmarkTask, on_delete=models.PROTECT, related_name="submissions")
    submitter = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="benchmark_submissions"
    )
    group_key = models.CharField(_("group"), max_length=64)
    group_name = models.CharField(_("group name"), max_length=200)
    kind = models.CharField(_("kind"), max_length=12, choices=SubmissionKind.choices)
    state = models.CharField(
        _("state"), max_length=12, choices=SubmissionState.choices, default=SubmissionState.RECEIVED
    )
    title = models.CharField(_("title"), max_length=120)
    # The file as stored (private storage, under its SHA-256) and the name it came with, cleaned.
    file_key = models.CharField(max_length=200)
    file_sha256 = models.CharField(max_length=64)
    file_bytes = models.PositiveBigIntegerField()
    file_name = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    queued_at = models.DateTimeField(null=True, blank=True)  # last sent to a worker
    started_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    # [{"row": n | null, "column": "…" | null, "message": "…"}] for an invalid submission.
    errors = models.JSONField(default=list, blank=True)
    failure = models.CharField(max_length=500, blank=True)
    # {"rows": [{"level", "n_test", "n_cases", "metrics": {name: {value, ci_low, ci_high}},
    #  "confusion_matrix"}]}: the same shape as a job's results.
    results = models.JSONField(default=dict, blank=True)
    # What the submitter says of the model: architecture, training data and settings, number of
    # parameters, training time, code link, paper (model_bench.services.submissions.MODEL_CARD).
    model_card = models.JSONField(_("model card"), default=dict, blank=True)
    # The pictures drawn when it was scored: {"roc" | "confusion": {"key", "sha256", "bytes"}}.
    pictures = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(state__in=SubmissionState.values), name="submission_state_valid"
            ),
            models.CheckConstraint(
                condition=Q(kind__in=SubmissionKind.values), name="submission_kind_valid"
            ),
        ]
        indexes = [
            # The daily and test-phase limits: a group's submissions to a task since a time.
            models.Index(fields=["task", "group_key", "created_at"], name="submission_limit"),
            models.Index(fields=["state", "heartbeat_at"], name="submission_state_heartbeat"),
            models.Index(fields=["state", "queued_at"], name="submission_state_queued"),
        ]

    def __str__(self) -> str:
        return f"{self.title} on {self.task_id} (#{self.pk})"

    @property
    def is_finished(self) -> bool:
        return self.state in SUBMISSION_FINISHED_STATES


class SubmissionEvent(models.Model):
    """One transition of a submission: its history on the result page."""

    submission = models.ForeignKey(Submission, on_delete=models.CASCADE, related_name="events")
    from_state = models.CharField(max_length=12)
    to_state = models.CharField(max_length=12)
    at = models.DateTimeField(auto_now_add=True)
    note = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["at", "pk"]

    def __str__(self) -> str:
        return f"{self.submission_id}: {self.from_state} → {self.to_state}"


class LeaderboardEntry(models.Model):
    task = models.ForeignKey(BenchmarkTask, on_delete=models.CASCADE, related_name="entries")
    submission = models.OneToOneField(
        Submission, on_delete=models.CASCADE, null=True, blank=True, related_name="entry"
    )
    job = models.ForeignKey(
        BenchmarkJob, on_delete=models.CASCADE, null=True, blank=True, related_name="entries"
    )
    # The row of a job's results it shows (a job gives several: the pipeline's ablations).
    row_model = models.CharField(max_length=60, blank=True)
    name = models.CharField(max_length=120)
    group_key = models.CharField(max_length=64, blank=True)  # empty for a reference model
    group_name = models.CharField(max_length=200, blank=True)
    level = models.CharField(max_length=8)
    value = models.FloatField(null=True)
    ci_low = models.FloatField(null=True)
    ci_high = models.FloatField(null=True)
    n_test = models.PositiveIntegerField(default=0)
    result_at = models.DateTimeField()
    rank = models.PositiveIntegerField(null=True)
    # Whether the board shows it: each group's best or latest (BENCHMARK_LEADERBOARD_POLICY).
    shown = models.BooleanField(default=True)

    class Meta:
        ordering = ["task", "rank", "result_at", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(submission__isnull=True, job__isnull=False)
                | Q(submission__isnull=False, job__isnull=True),
                name="entry_submission_or_job",
            ),
            models.UniqueConstraint(fields=["job", "row_model"], name="entry_job_row_unique"),
        ]
        indexes = [
            models.Index(fields=["task", "shown", "rank", "result_at"], name="entry_board"),
        ]

    def __str__(self) -> str:
        return f"{self.name} on {self.task_id}: rank {self.rank}"

    @property
    def is_reference(self) -> bool:
        return self.job_id is not None
