"""The data of model_bench: benchmark tasks and the jobs that train and evaluate reference
models on them, the submissions of research groups and the leaderboards."""

from .jobs import FINISHED_STATES, BenchmarkJob, JobArtefact, JobEvent, JobLogLine, JobState
from .submissions import (
    SUBMISSION_FINISHED_STATES,
    LeaderboardEntry,
    Submission,
    SubmissionEvent,
    SubmissionKind,
    SubmissionState,
)
from .tasks import (
    CLASSIFICATION_METRICS,
    SEGMENTATION_METRICS,
    BenchmarkTask,
    TaskKind,
)

__all__ = [
    "CLASSIFICATION_METRICS",
    "FINISHED_STATES",
    "SEGMENTATION_METRICS",
    "SUBMISSION_FINISHED_STATES",
    "BenchmarkJob",
    "BenchmarkTask",
    "JobArtefact",
    "JobEvent",
    "JobLogLine",
    "JobState",
    "LeaderboardEntry",
    "Submission",
    "SubmissionEvent",
    "SubmissionKind",
    "SubmissionState",
    "TaskKind",
]
