"""The data of model_bench: benchmark tasks and the jobs that train and evaluate reference
models on them."""

from .jobs import FINISHED_STATES, BenchmarkJob, JobArtefact, JobEvent, JobLogLine, JobState
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
    "BenchmarkJob",
    "BenchmarkTask",
    "JobArtefact",
    "JobEvent",
    "JobLogLine",
    "JobState",
    "TaskKind",
]
