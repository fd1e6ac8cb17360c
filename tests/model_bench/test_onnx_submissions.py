"""ONNX submissions (issue 15): a model is checked (format, standard operators only, no external
data, the task's input shape), run by a benchmark worker on the test images in a child process
with time and memory limits, and its output scored by evaluation. A model at fault is recorded
invalid with the reason; a worker killed while a model runs leaves no model running."""

import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.core.exceptions import ValidationError
from django.utils import timezone

from model_bench.models import LeaderboardEntry, Submission, SubmissionState
from model_bench.services import onnx_models, predictions, submissions
from tests.model_bench import onnx_builders as build

pytestmark = pytest.mark.django_db


@pytest.fixture
def task(cin2_task):
    return cin2_task


SIZE = 32  # the tasks' image_size


def submit(task, user, data, name="model.onnx", **options):
    return submissions.submit(task=task, user=user, data=data, file_name=name, title="My model",
                              **options)  # fmt: skip


def scored(submission) -> Submission:
    submissions.score(submission.pk)
    submission.refresh_from_db()
    return submission


def test_a_classifier_is_run_on_the_test_images_and_scored(task, granted):
    submission = submit(task, granted["accessor"], build.classifier(SIZE))
    assert submission.kind == "onnx" and submission.file_key.endswith(".onnx")
    submission = scored(submission)
    assert submission.state == SubmissionState.SCORED, submission.errors or submission.failure
    levels = {row["level"]: row for row in submission.results["rows"]}
    assert set(levels) == {"image", "case"}
    assert 0.0 <= levels["image"]["metrics"]["auc"]["value"] <= 1.0
    assert levels["image"]["n_test"] > 0 and levels["image"]["roc"]["fpr"]
    assert set(submission.pictures) == {"roc", "confusion"}
    assert LeaderboardEntry.objects.get(submission=submission).shown


def test_its_scores_are_those_of_the_same_predictions_sent_as_a_csv(task, granted):
    """The model's output, written as a CSV, scores exactly the same: one evaluation for both."""
    data = build.classifier(SIZE, batch=1)  # a fixed batch of one is padded, not refused
    items, images = onnx_models.test_images(task)
    output = onnx_models.run(data, images)
    rows = "".join(f"{i},{p:.9f}\n" for i, p in zip(items.image_ids, output[:, 1], strict=True))
    as_csv = predictions.parse(task, ("image_id,probability\n" + rows).encode())
    model = scored(submit(task, granted["accessor"], data))
    from model_bench.services import evaluation

    expected = evaluation.score_predictions(task, as_csv)
    got = model.results["rows"][0]["metrics"]["auc"]
    assert got["value"] == pytest.approx(expected[0]["metrics"]["auc"]["value"], abs=1e-6)
    assert got["ci_low"] == pytest.approx(expected[0]["metrics"]["auc"]["ci_low"], abs=1e-6)


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # the exporter warns of itself
def test_a_model_exported_by_torch_runs(task, granted):
    torch = pytest.importorskip("torch")
    import io

    class Small(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = torch.nn.Conv2d(3, 4, 3)
            self.norm = torch.nn.BatchNorm2d(4)
            self.head = torch.nn.Linear(4, 2)

        def forward(self, x):
            return torch.softmax(self.head(torch.relu(self.norm(self.conv(x))).mean((2, 3))), -1)

    buffer = io.BytesIO()
    torch.onnx.export(Small().eval(), (torch.zeros(2, 3, SIZE, SIZE),), buffer, dynamo=False,
                      input_names=["image"], dynamic_axes={"image": {0: "batch"}})  # fmt: skip
    submission = scored(submit(task, granted["accessor"], buffer.getvalue()))
    assert submission.state == SubmissionState.SCORED, submission.errors


def test_a_segmenter_is_scored_by_dice(seg_task, granted):
    submission = scored(submit(seg_task, granted["accessor"], build.segmenter(SIZE)))
    assert submission.state == SubmissionState.SCORED, submission.errors
    dice = submission.results["rows"][0]["metrics"]["dice"]
    assert 0.0 <= dice["ci_low"] <= dice["value"] <= dice["ci_high"] <= 1.0


@pytest.mark.parametrize(
    "model, expected",
    [
        (lambda: build.classifier(64), "the task's is (batch, 3, 32, 32)"),
        (lambda: build.with_custom_operator(SIZE), "only the standard ONNX operator sets"),
        (lambda: build.with_external_data(SIZE), "external data"),
        (lambda: b"image_id,probability\nx,0.5\n", "not an ONNX model"),
        (lambda: os.urandom(2000), "not an ONNX model"),
        (lambda: build.classifier(SIZE, classes=3), "wants (batch, 2)"),
        (lambda: build.producing_nan(SIZE), "is NaN or infinite"),
        (lambda: build.segmenter(SIZE), "wants (batch, 2)"),
    ],
)
def test_a_model_at_fault_is_invalid_with_the_reason(task, granted, model, expected):
    submission = scored(submit(task, granted["accessor"], model()))
    assert submission.state == SubmissionState.INVALID
    assert any(expected in error["message"] for error in submission.errors), submission.errors
    assert submission.results == {} and not LeaderboardEntry.objects.filter(submission=submission)
    assert submissions.limits_left(task, submission.group_key)["today"] == 3  # not counted


def test_time_and_memory_limits_stop_a_model(task, granted, settings):
    settings.SUBMISSION_ONNX_SECONDS = 2
    started = time.monotonic()
    slow = scored(submit(task, granted["accessor"], build.slow(SIZE)))
    assert slow.state == SubmissionState.INVALID and time.monotonic() - started < 30
    assert "longer than 2 seconds" in slow.errors[0]["message"]
    assert not _children_running()
    settings.SUBMISSION_ONNX_SECONDS = 60
    settings.SUBMISSION_ONNX_MEMORY_MB = 1024
    hungry = scored(submit(task, granted["accessor"], build.memory_hungry(SIZE, gigabytes=4)))
    assert hungry.state == SubmissionState.INVALID
    assert "more than 1024 MB of memory" in hungry.errors[0]["message"], hungry.errors


def test_the_size_limit_is_checked_before_anything_is_stored(task, granted, settings):
    settings.SUBMISSION_MAX_ONNX_BYTES = 100
    with pytest.raises(ValidationError, match="larger than"):
        submit(task, granted["accessor"], build.classifier(SIZE))
    assert Submission.objects.count() == 0


def test_a_model_goes_to_the_benchmark_queue_and_the_reconciler_takes_it_up(
    task,
    granted,
    monkeypatch,
):
    sent = []
    monkeypatch.setattr("imagebank.durable.send_task", lambda t, *args, **_: sent.append(t.name))
    submission = submit(task, granted["accessor"], build.classifier(SIZE))
    submissions._send(submission.pk, submission.kind)
    assert sent == ["model_bench.tasks.run_submitted_model"]
    routes = django_settings.CELERY_TASK_ROUTES
    assert "model_bench.tasks.run_submitted_model" not in routes  # the pattern's: benchmark
    assert routes["model_bench.tasks.*"]["queue"] == "benchmark"
    submissions.claim(submission.pk)  # a worker took it, then died
    submissions.reconcile_submissions(timezone.now() + submissions.lease() + timedelta(seconds=5))
    assert sent[-1] == "model_bench.tasks.run_submitted_model"


def _children_running() -> list[int]:
    """Processes running the model child script (found in /proc, Linux)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                command = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            if b"onnx_child.py" in command and b"model.onnx" in command:
                found.append(int(entry.name))
    return found


KILLED_WORKER = """
import os, sys
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
import django
django.setup()
import numpy as np
from model_bench.services import onnx_models
from tests.model_bench import onnx_builders
limits = onnx_models.Limits(max_bytes=10**8, seconds=300, memory_mb=2048, threads=1)
onnx_models.run(onnx_builders.slow(32), np.zeros((2, 32, 32, 3), np.uint8), limits=limits)
"""


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="needs Linux's /proc")
def test_a_killed_worker_leaves_no_model_running():
    before = set(_children_running())
    worker = subprocess.Popen(  # noqa: S603 (our own code, our interpreter)
        [sys.executable, "-c", KILLED_WORKER], cwd=django_settings.BASE_DIR
    )
    deadline = time.monotonic() + 120  # Django's start and the model's build, on a busy machine
    while not set(_children_running()) - before and time.monotonic() < deadline:
        time.sleep(0.2)
    child = set(_children_running()) - before
    assert child, "the model never started"
    os.kill(worker.pid, signal.SIGKILL)
    worker.wait()
    deadline = time.monotonic() + 10
    while set(_children_running()) & child and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not set(_children_running()) & child, "the model outlived its worker"


def test_a_model_process_whose_worker_died_before_it_asked_to_die_with_it_stops(tmp_path):
    # The window PR_SET_PDEATHSIG cannot cover: the worker killed after starting the child but
    # before the child's request. The child then has another parent than the one named, and
    # stops before reading the model (which is not even there).
    not_my_parent = os.getppid()  # alive, and not the parent of the child started below
    done = subprocess.run(  # noqa: S603 (our own code, our interpreter)
        [sys.executable, "-I", str(onnx_models.CHILD), "model.onnx", "images.npy", "out.npy",
         "1", "2048", "10", str(2**20)],
        cwd=tmp_path, env={"PATH": "/usr/bin:/bin", "ONNX_CHILD_PARENT": str(not_my_parent)},
        capture_output=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 6, done.stderr
    # Named correctly, the same child goes on (and fails on the missing model, as it should).
    done = subprocess.run(  # noqa: S603 (our own code, our interpreter)
        [sys.executable, "-I", str(onnx_models.CHILD), "model.onnx", "images.npy", "out.npy",
         "1", "2048", "10", str(2**20)],
        cwd=tmp_path, env={"PATH": "/usr/bin:/bin", "ONNX_CHILD_PARENT": str(os.getpid())},
        capture_output=True, timeout=60,
    )  # fmt: skip
    assert done.returncode != 6
