"""Read queries of model_bench, filtered by what the user may see (views and templates never
filter).

Tasks are public once their release version is published (create_task refuses any other), and so
are their jobs: configuration, progress, log, events and metrics are aggregates that never name a
test image's label. A job's artefacts (weights, exports, curves) are for curators and for those
allowed to download the task's release version.
"""

from django.db.models import F, Q, QuerySet
from django.urls import reverse

from curation.models import ReleaseState
from model_bench.models import (
    BenchmarkJob,
    BenchmarkTask,
    JobArtefact,
    JobEvent,
    JobLogLine,
    JobState,
    LeaderboardEntry,
    Submission,
    SubmissionState,
)
from model_bench.models.tasks import LOWER_IS_BETTER
from model_bench.reference_models import MODELS
from model_bench.results import table_rows
from model_bench.services.benchmark_tasks import can_manage_tasks
from model_bench.services.leaderboard import intervals_overlap

# Lines of a job's log its page shows (the newest); the worker keeps up to MAX_LOG_LINES.
PAGE_LOG_LINES = 500
DOWNLOAD_PERMISSION = "curation.download_releaseversion"


def public_tasks() -> QuerySet[BenchmarkTask]:
    """Every task on a published release version, by slug."""
    return BenchmarkTask.objects.filter(version__state=ReleaseState.PUBLISHED).select_related(
        "version__release"
    )


def task_by_slug(slug: str) -> BenchmarkTask | None:
    if not isinstance(slug, str) or not slug or "\x00" in slug:
        return None
    return public_tasks().filter(slug=slug).first()


def jobs_of(task: BenchmarkTask) -> QuerySet[BenchmarkJob]:
    """The task's jobs, newest first."""
    return BenchmarkJob.objects.filter(task=task).select_related("task__version__release")


def latest_succeeded_jobs(task: BenchmarkTask) -> list[BenchmarkJob]:
    """The newest succeeded job of each model, in the registry's order (MODELS), then any model
    the registry no longer has."""
    latest: dict[str, BenchmarkJob] = {}
    for job in jobs_of(task).filter(state=JobState.SUCCEEDED).order_by("-finished_at", "-pk"):
        latest.setdefault(job.model, job)
    order = {name: i for i, name in enumerate(MODELS)}
    return sorted(latest.values(), key=lambda job: (order.get(job.model, len(order)), job.model))


def task_results(task: BenchmarkTask) -> list[dict]:
    """The rows of the latest succeeded job per model, in the shape of `run_benchmark --json`
    (model_bench.results.table_rows)."""
    return table_rows(latest_succeeded_jobs(task), task)


def best_row(task: BenchmarkTask, rows: list[dict]) -> dict | None:
    """The row with the best value of the task's primary metric (None without one)."""
    metric = task.primary_metric
    scored = [
        row for row in rows if (row["metrics"].get(metric) or {}).get("value") is not None
    ]  # fmt: skip
    if not scored:
        return None
    sign = -1 if metric in LOWER_IS_BETTER else 1
    return max(scored, key=lambda row: sign * row["metrics"][metric]["value"])


def job_for(user, pk: int) -> BenchmarkJob | None:
    """A job of a public task, for anyone (`user` is asked for nothing more: jobs are public)."""
    return (
        BenchmarkJob.objects.filter(pk=pk, task__in=public_tasks())
        .select_related("task__version__release", "requested_by")
        .first()
    )


def log_tail(job: BenchmarkJob, lines: int = PAGE_LOG_LINES) -> list[JobLogLine]:
    """The newest `lines` lines of the job's log, oldest first."""
    newest = list(JobLogLine.objects.filter(job=job).order_by("-pk")[:lines])
    newest.reverse()
    return newest


def events_of(job: BenchmarkJob) -> QuerySet[JobEvent]:
    return JobEvent.objects.filter(job=job).select_related("actor").order_by("at", "pk")


def artefacts_of(job: BenchmarkJob) -> QuerySet[JobArtefact]:
    return JobArtefact.objects.filter(job=job).order_by("name")


def can_download_artefacts(user, job: BenchmarkJob) -> bool:
    """Curators, and users allowed to download the task's release version (guardian's
    curation.download_releaseversion on it, which a live grant gives its accessors); never an
    anonymous visitor."""
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    if can_manage_tasks(user):
        return True
    return user.has_perm(DOWNLOAD_PERMISSION, job.task.version)


def artefact_for(user, job: BenchmarkJob, name: str) -> JobArtefact | None:
    """The job's artefact of that name, or None when it has none (whether or not the user may
    download it: the caller asks can_download_artefacts first)."""
    if not isinstance(name, str) or not name or "\x00" in name:
        return None
    return JobArtefact.objects.filter(job=job, name=name).first()


BOARD_DEFERS = tuple(
    f"submission__{field.name}"
    for field in Submission._meta.concrete_fields
    if field.name not in ("id", "model_card", "pictures")
)


def leaderboard(task: BenchmarkTask) -> QuerySet[LeaderboardEntry]:
    """The task's board as stored (model_bench.services.leaderboard): the shown entries, ranked
    first by rank, ties by the date of their result, those without a rank last. One query on
    the `entry_board` index."""
    return (
        LeaderboardEntry.objects.filter(task=task, shown=True)
        .select_related("submission")
        # Of the submission, a board shows its model card and pictures only; its results (ROC
        # points at each level) and errors can be large.
        .defer(*BOARD_DEFERS)
        .order_by(F("rank").asc(nulls_last=True), "result_at", "pk")
    )


def board_rows(task: BenchmarkTask, entries) -> list[dict]:
    """The board's entries as the API and the page show them: rank, name, group, whether it is
    a reference model, the primary metric with its interval, n, the date, whether its interval
    overlaps the leader's, and the submitter's model card. Aggregates only: no test label."""
    entries = list(entries)
    leader = next((entry for entry in entries if entry.rank == 1), None)
    rows = []
    for entry in entries:
        overlaps = None if leader is None or entry is leader else intervals_overlap(entry, leader)
        rows.append(
            {
                "rank": entry.rank,
                "name": entry.name,
                "group": entry.group_name or None,
                "reference": entry.is_reference,
                "model": entry.row_model or None,
                "level": entry.level,
                "metric": task.primary_metric,
                "value": entry.value,
                "ci_low": entry.ci_low,
                "ci_high": entry.ci_high,
                "n_test": entry.n_test,
                "result_at": entry.result_at,
                "overlaps_leader": overlaps,
                "model_card": entry.submission.model_card if entry.submission_id else {},
                "submission": entry.submission_id,
                "job": entry.job_id,
                "pictures": _picture_paths(task, entry),
                "card_url": reverse("model_bench:entry", args=[task.slug, entry.pk]),
            }
        )
    return rows


def board_entry(task: BenchmarkTask, pk: int) -> LeaderboardEntry | None:
    """One entry the board shows (its model card's page), or None: an entry not shown (a
    group's other submissions) has no public page."""
    return (
        LeaderboardEntry.objects.filter(task=task, pk=pk, shown=True)
        .select_related("submission")
        .defer(*BOARD_DEFERS)
        .first()
    )


PICTURES = ("roc", "confusion")


def _picture_paths(task: BenchmarkTask, entry) -> dict[str, str]:
    if not entry.submission_id:
        return {}
    return {
        name: reverse("model_bench:submission-picture", args=[task.slug, entry.submission_id, name])
        for name in PICTURES
        if name in (entry.submission.pictures or {})
    }


def submission_picture(task: BenchmarkTask, pk: int, name: str) -> dict | None:
    """A scored submission's picture ({"key", "sha256", "bytes"}), or None."""
    if name not in PICTURES:
        return None
    submission = Submission.objects.filter(task=task, pk=pk, state=SubmissionState.SCORED).first()
    picture = (submission.pictures or {}).get(name) if submission else None
    return picture if isinstance(picture, dict) and picture.get("key") else None


def group_keys_of(user, task: BenchmarkTask) -> set[str]:
    from curation import hooks

    if not (user and user.is_authenticated and user.is_active):
        return set()
    return {holder.key for holder in hooks.grant_holders(user, task.version)}


def submissions_of(user, task: BenchmarkTask):
    """The submissions to `task` of the groups through which `user` holds its version now, and
    the user's own, newest first."""
    if not (user and user.is_authenticated):
        return Submission.objects.none()
    keys = group_keys_of(user, task)
    return (
        Submission.objects.filter(task=task)
        .filter(Q(submitter=user) | Q(group_key__in=keys))
        .select_related("submitter")
    )


def submission_for(user, task: BenchmarkTask, pk: int) -> Submission | None:
    """A submission its submitter, their group's accessors, or a curator may read; else None."""
    if not (user and user.is_authenticated):
        return None
    if can_manage_tasks(user):
        return Submission.objects.filter(task=task, pk=pk).first()
    return submissions_of(user, task).filter(pk=pk).first()
