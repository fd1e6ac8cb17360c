"""Running one benchmark job on a worker: claim it, load its task's data, train its reference
model, score it on the test split, store the artefacts, and end it in one of its final states.

Durable by construction: the job's row is claimed before anything runs (a second delivery of the
message finds it running and skips); the worker beats while training, so the reconciler can tell
a dead worker from a slow one; cancellation is read at every batch; an outage of the database or
storage puts the job back in the queue for the task to retry, and anything else fails it with
its reason. Seeds and deterministic algorithms make the same job give the same figures.
"""

import contextlib
import io
import json
import logging
import tempfile
import time
import traceback
from pathlib import Path

import numpy as np
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db.models import F
from django.utils import timezone

from imagebank import outages
from model_bench.models import BenchmarkJob, JobState
from model_bench.reference_models import MODELS, ModelRun
from model_bench.services import artefacts, datasets, evaluation, jobs, leaderboard
from model_bench.training.loop import Cancelled

logger = logging.getLogger(__name__)

# Shares of the progress bar: loading, training, then scoring and artefacts.
LOADED, TRAINED = 0.05, 0.85


class Reporter:
    """The progress callback a trainer calls at every batch: it writes progress and the
    heartbeat at most every BENCHMARK_HEARTBEAT_SECONDS and raises Cancelled once the job's
    cancellation was asked for."""

    def __init__(self, job: BenchmarkJob):
        self.job_id = job.pk
        self.last = 0.0

    def __call__(self, fraction: float, message: str) -> None:
        self.at(LOADED + (TRAINED - LOADED) * min(max(fraction, 0.0), 1.0), message)

    def at(self, progress: float, message: str, *, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self.last < settings.BENCHMARK_HEARTBEAT_SECONDS:
            return
        self.last = now
        BenchmarkJob.objects.filter(pk=self.job_id, state=JobState.RUNNING).update(
            progress=round(progress, 4), progress_note=message[:200], heartbeat_at=timezone.now()
        )
        if BenchmarkJob.objects.filter(pk=self.job_id, cancel_requested=True).exists():
            raise Cancelled()


@contextlib.contextmanager
def reproducible(seed: int):
    """Seeds and deterministic algorithms for the run; the worker's previous setting restored."""
    import torch

    from model_bench.networks.determinism import seed_everything

    before = torch.are_deterministic_algorithms_enabled()
    seed_everything(seed)
    onnx_logger = logging.getLogger("torch.onnx")
    level = onnx_logger.level
    onnx_logger.setLevel(logging.ERROR)  # the exporter's notes are not the job's log
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(before)
        onnx_logger.setLevel(level)


def _export_onnx(job: BenchmarkJob, run: ModelRun, test_images: np.ndarray) -> dict:
    """Each network exported, checked against PyTorch with onnxruntime, stored; {name: diff}."""
    from model_bench.networks.onnx_export import check_onnx, export_onnx
    from model_bench.training.data import to_tensor

    checked = {}
    example = to_tensor(test_images[: min(2, len(test_images))])
    for name, network in run.networks.items():
        network = network.cpu().eval()
        safe = name.replace("/", "-")
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / f"{safe}.onnx"
            export_onnx(network, example, path)
            checked[name] = check_onnx(network, path, example)
            artefacts.store(job, f"{safe}.onnx", path.read_bytes())
        jobs.log(job.pk, f"ONNX export of {name}: largest difference {checked[name]:.2e}")
    return checked


def _score(job: BenchmarkJob, data: datasets.TaskData, run: ModelRun) -> list[dict]:
    resamples = int(job.config.get("resamples", 2000))
    score = (
        evaluation.score_segmentation
        if job.task.is_segmentation
        else evaluation.score_classification
    )
    return score(job.task, data.test, run.predictions, seed=job.seed, resamples=resamples)


def _run(job: BenchmarkJob, reporter: Reporter) -> None:
    import torch

    from model_bench.networks.determinism import pick_device

    task = job.task
    device = pick_device(settings.BENCHMARK_DEVICE or job.config.get("device") or None)
    jobs.log(job.pk, f"{job.model} on {task.slug} ({task.version.label}), seed {job.seed}, "
                     f"device {device}, torch {torch.__version__}")  # fmt: skip
    reporter.at(0.0, "loading data", force=True)
    data = datasets.load(task, pipeline_masks=job.model == "unetpp-repvgg-vote")
    jobs.log(
        job.pk,
        f"images: {len(data.train)} training, {len(data.validation)} validation, "
        f"{len(data.test)} test; masks: "
        + (", ".join(f"{k} {len(t)}+{len(v)}" for k, (t, v) in data.masks.items()) or "none"),
    )
    reporter.at(LOADED, "training", force=True)
    started = time.monotonic()
    with reproducible(job.seed):
        run = MODELS[job.model].train(
            data, job.config, seed=job.seed, device=str(device), progress=reporter
        )
    training_seconds = time.monotonic() - started
    jobs.log(job.pk, f"trained in {training_seconds:.1f} s")
    reporter.at(TRAINED, "evaluating", force=True)
    rows = _score(job, data, run)
    for row in rows:
        primary = row["metrics"].get(task.primary_metric) or {}
        jobs.log(job.pk, f"{row['model']} ({row['level']}, n={row['n_test']}): "
                         f"{task.primary_metric} {primary.get('value')}")  # fmt: skip
    reporter.at(0.9, "storing artefacts", force=True)
    onnx = _export_onnx(job, run, data.test.images)
    artefacts.store(job, run.weights_name, run.weights)
    config = {"model": job.model, "task": task.slug, "release": task.version.label,
              "seed": job.seed, "device": str(device), **job.config}  # fmt: skip
    artefacts.store_json(job, "config.json", config)
    results = {"rows": rows, "onnx_max_difference": onnx}
    artefacts.store_json(job, "metrics.json", results)
    artefacts.store(job, "curves.png", artefacts.curves_png(run.history, rows, task.slug))
    jobs.transition(
        job.pk,
        JobState.RUNNING,
        JobState.SUCCEEDED,
        results=json.loads(json.dumps(results, default=float)),
        history=json.loads(json.dumps(run.history, default=float)),
        parameters=run.parameters or None,
        training_seconds=round(training_seconds, 3),
        device=str(device),
        progress=1.0,
        progress_note="",
    )
    try:  # the board ranks the reference models beside the submissions
        leaderboard.refresh(task)
    except Exception as error:  # the job stands; the next result refreshes the board
        logger.warning("leaderboard of %s not refreshed: %s", task.slug, error)


def run_job(job_id: int) -> str:
    """The worker's whole run of one job; what happened, in a word."""
    job = jobs.claim(job_id)
    if job is None:
        return "skipped"
    reporter = Reporter(job)
    try:
        _run(job, reporter)
    except Cancelled:
        jobs.transition(job.pk, JobState.RUNNING, JobState.CANCELLED, reason="cancelled")
        jobs.log(job.pk, "cancelled")
        return "cancelled"
    except (ValidationError, ValueError) as error:
        message = "; ".join(error.messages) if isinstance(error, ValidationError) else str(error)
        jobs.log(job.pk, f"failed: {message}")
        jobs.transition(job.pk, JobState.RUNNING, JobState.FAILED, reason=message,
                        error=message[:500])  # fmt: skip
        return "failed"
    except Exception as error:
        if outages.service_out(error) is not None:
            # The database or storage is out: back in the queue, for the task to retry.
            with contextlib.suppress(Exception):
                # Not counted as an attempt: the worker did not die, a service did.
                jobs.transition(job.pk, JobState.RUNNING, JobState.QUEUED, reason=str(error)[:500],
                                queued_at=timezone.now(), attempts=F("attempts") - 1)  # fmt: skip
            raise
        buffer = io.StringIO()
        traceback.print_exc(file=buffer)
        logger.exception("benchmark job %s failed", job.pk)
        jobs.log(job.pk, buffer.getvalue()[-1000:])
        message = f"{type(error).__name__}: {error}"
        jobs.transition(job.pk, JobState.RUNNING, JobState.FAILED, reason=message[:500],
                        error=message[:500])  # fmt: skip
        return "failed"
    return "succeeded"
