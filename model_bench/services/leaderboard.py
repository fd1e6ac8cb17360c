"""A task's leaderboard, ranked and stored when a result arrives (issue 15), so that a board is
one indexed query (LeaderboardEntry, index `entry_board`).

The board holds the reference models (the row of each model of the latest succeeded job per
model, at the task's level: image for image-level tasks and segmentation, case for case-level
ones) and the scored submissions. Of each group's submissions it shows the best or the latest,
as the organisers choose (BENCHMARK_LEADERBOARD_POLICY: "best" or "latest"). Shown entries are
ranked by the task's primary metric, best first; entries with the same value share a rank
("1, 2, 2, 4") and are listed by the date of their result; an entry without a value has no rank
and comes last. `rank_values` is the pure ranking; `refresh` writes it.
"""

from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db import transaction

from model_bench.models import (
    BenchmarkJob,
    BenchmarkTask,
    JobState,
    LeaderboardEntry,
    Submission,
    SubmissionState,
)
from model_bench.models.tasks import LOWER_IS_BETTER

POLICIES = ("best", "latest")


@dataclass(frozen=True)
class Ranked:
    key: object  # what the caller ranks (an entry), untouched
    value: float | None
    result_at: datetime


def rank_values(
    items: list[Ranked], *, higher_is_better: bool = True
) -> list[tuple[object, int | None]]:
    """(key, rank) in board order: by value (best first), ties sharing the rank of their first
    and ordered by date, then the items without a value (rank None) by date."""
    sign = -1 if higher_is_better else 1
    valued = sorted(
        (item for item in items if item.value is not None),
        key=lambda item: (sign * item.value, item.result_at),
    )
    ranked: list[tuple[object, int | None]] = []
    previous, rank = None, 0
    for position, item in enumerate(valued, start=1):
        if item.value != previous:
            rank, previous = position, item.value
        ranked.append((item.key, rank))
    rest = sorted((item for item in items if item.value is None), key=lambda item: item.result_at)
    return ranked + [(item.key, None) for item in rest]


def task_level(task: BenchmarkTask) -> str:
    return "case" if task.case_level else "image"


def _primary(task: BenchmarkTask, row: dict) -> dict:
    return (row.get("metrics") or {}).get(task.primary_metric) or {}


def _policy() -> str:
    policy = getattr(settings, "BENCHMARK_LEADERBOARD_POLICY", "best")
    return policy if policy in POLICIES else "best"


def _reference_entries(task: BenchmarkTask) -> list[LeaderboardEntry]:
    latest: dict[str, BenchmarkJob] = {}
    jobs = BenchmarkJob.objects.filter(task=task, state=JobState.SUCCEEDED)
    for job in jobs.order_by("-finished_at", "-pk"):
        latest.setdefault(job.model, job)
    entries = []
    for job in latest.values():
        for row in (job.results or {}).get("rows", []):
            if row.get("level") != task_level(task):
                continue
            primary = _primary(task, row)
            entries.append(LeaderboardEntry(
                task=task, job=job, row_model=row["model"][:60], name=row["model"][:120],
                level=row["level"], value=primary.get("value"), ci_low=primary.get("ci_low"),
                ci_high=primary.get("ci_high"), n_test=row.get("n_test") or 0,
                result_at=job.finished_at or job.created_at,
            ))  # fmt: skip
    return entries


def _submission_entries(task: BenchmarkTask) -> list[LeaderboardEntry]:
    entries = []
    scored = Submission.objects.filter(task=task, state=SubmissionState.SCORED)
    for submission in scored.order_by("created_at", "pk"):
        row = next(
            (
                r
                for r in (submission.results or {}).get("rows", [])
                if r.get("level") == task_level(task)
            ),
            None,
        )
        if row is None:
            continue
        primary = _primary(task, row)
        entries.append(LeaderboardEntry(
            task=task, submission=submission, name=submission.title, level=row["level"],
            group_key=submission.group_key, group_name=submission.group_name,
            value=primary.get("value"), ci_low=primary.get("ci_low"),
            ci_high=primary.get("ci_high"), n_test=row.get("n_test") or 0,
            result_at=submission.finished_at or submission.created_at,
        ))  # fmt: skip
    return entries


def _mark_shown(entries: list[LeaderboardEntry], policy: str, higher_is_better: bool) -> None:
    """Each group's best (or latest) submission is shown; reference models always are."""
    chosen: dict[str, LeaderboardEntry] = {}
    sign = 1 if higher_is_better else -1
    for entry in entries:
        if not entry.group_key:
            continue
        held = chosen.get(entry.group_key)
        if held is None:
            chosen[entry.group_key] = entry
        elif policy == "latest":
            if entry.result_at >= held.result_at:
                chosen[entry.group_key] = entry
        elif (entry.value is not None) and (
            held.value is None or sign * entry.value > sign * held.value
        ):
            chosen[entry.group_key] = entry
    picked = {id(entry) for entry in chosen.values()}
    for entry in entries:
        entry.shown = not entry.group_key or id(entry) in picked


def refresh(task: BenchmarkTask) -> int:
    """Rebuild and rank the task's board from its results; the number of entries shown."""
    higher = task.primary_metric not in LOWER_IS_BETTER
    with transaction.atomic():
        BenchmarkTask.objects.select_for_update().filter(pk=task.pk).first()  # one at a time
        entries = _reference_entries(task) + _submission_entries(task)
        _mark_shown(entries, _policy(), higher)
        shown = [entry for entry in entries if entry.shown]
        ranks = dict(
            (id(entry), rank)
            for entry, rank in rank_values(
                [Ranked(entry, entry.value, entry.result_at) for entry in shown],
                higher_is_better=higher,
            )
        )
        for entry in entries:
            entry.rank = ranks.get(id(entry))
        LeaderboardEntry.objects.filter(task=task).delete()
        LeaderboardEntry.objects.bulk_create(entries)
    return len(shown)


def intervals_overlap(a: LeaderboardEntry, b: LeaderboardEntry) -> bool | None:
    """Whether two entries' 95% intervals overlap (None when either has none): overlapping
    intervals mean the board cannot tell the two apart with confidence."""
    if None in (a.ci_low, a.ci_high, b.ci_low, b.ci_high):
        return None
    return a.ci_low <= b.ci_high and b.ci_low <= a.ci_high
