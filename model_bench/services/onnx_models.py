"""Submitted ONNX models (issue 15): checked, then run by a benchmark worker on the test images,
in a child process with time and memory limits; their outputs become predictions (or masks)
that evaluation scores as it scores any other.

The contract a model meets (docs/benchmarks.md): one input, float32, shape (batch, 3, S, S)
where S is the task's `image_size` (the batch may be fixed or symbolic), RGB scaled to [0, 1],
the images resized as the reference models see them (model_bench.images.decode); its first
output holds, per image, the probabilities of the task's classes (or, for a binary task, also
the positive class's alone), or for segmentation the mask's probability per pixel (batch, 1,
S, S) or (batch, S, S). Only the standard operator sets run (ai.onnx, ai.onnx.ml, and
functions the model defines from them): no custom-operator library is ever loaded; weights held
outside the file ("external data") are refused, since they would name files on the worker.

Nothing here reads a test label: the test images are those a grant holder downloads anyway.
"""

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from django.conf import settings
from django.utils.translation import gettext as _

from curation import benchmark_selectors
from model_bench.images import decode
from model_bench.models import BenchmarkTask
from model_bench.services.masks import SubmittedMasks
from model_bench.services.predictions import (
    SUM_TOLERANCE,
    Errors,
    InvalidPredictions,
    PredictionError,
    Predictions,
    SplitItems,
)

CHILD = Path(__file__).resolve().parent.parent / "onnx_child.py"
STANDARD_DOMAINS = frozenset({"", "ai.onnx", "ai.onnx.ml"})
BEAT_SECONDS = 15


@dataclass(frozen=True)
class Limits:
    max_bytes: int
    seconds: int
    memory_mb: int
    threads: int

    @classmethod
    def from_settings(cls) -> "Limits":
        return cls(
            max_bytes=int(getattr(settings, "SUBMISSION_MAX_ONNX_BYTES", 100 * 1024 * 1024)),
            seconds=int(getattr(settings, "SUBMISSION_ONNX_SECONDS", 600)),
            memory_mb=int(getattr(settings, "SUBMISSION_ONNX_MEMORY_MB", 4096)),
            threads=int(getattr(settings, "SUBMISSION_ONNX_THREADS", 2)),
        )


class WorkerCannotRun(RuntimeError):
    """The worker, not the model, is at fault (onnxruntime missing): the submission fails."""


def _invalid(message: str, column: str | None = None) -> InvalidPredictions:
    return InvalidPredictions([PredictionError(None, column, message)])


def _graphs(graph):
    """The graph and every graph nested in its nodes' attributes (If, Loop, Scan bodies)."""
    yield graph
    for node in graph.node:
        for attribute in node.attribute:
            if attribute.HasField("g"):
                yield from _graphs(attribute.g)
            for nested in attribute.graphs:
                yield from _graphs(nested)


def _tensors(model):
    """Every tensor the model holds: initialisers and constant attributes, at any depth."""
    from onnx import AttributeProto

    nodes = [node for graph in _graphs(model.graph) for node in graph.node]
    for function in model.functions:
        nodes.extend(function.node)
    for graph in _graphs(model.graph):
        yield from graph.initializer
        for sparse in graph.sparse_initializer:
            yield sparse.values
            yield sparse.indices
    for node in nodes:
        for attribute in node.attribute:
            if attribute.type == AttributeProto.TENSOR:
                yield attribute.t
            yield from attribute.tensors


def _check_operators(model, errors: Errors) -> None:
    local = {function.domain for function in model.functions}
    allowed = STANDARD_DOMAINS | local
    for opset in model.opset_import:
        if opset.domain not in allowed:
            errors.add(
                None,
                None,
                _("The model uses the operator set “%(domain)s”: only the standard ONNX "
                  "operator sets run here (no custom operators).") % {"domain": opset.domain},
            )  # fmt: skip
    nodes = [node for graph in _graphs(model.graph) for node in graph.node]
    for function in model.functions:
        nodes.extend(function.node)
    unknown = sorted({(node.domain, node.op_type) for node in nodes if node.domain not in allowed})
    for domain, op_type in unknown[:20]:
        errors.add(
            None,
            None,
            _("The operator %(op)s of “%(domain)s” is not a standard ONNX operator.")
            % {"op": op_type, "domain": domain},
        )


def _check_input(task: BenchmarkTask, model, errors: Errors) -> None:
    from onnx import TensorProto

    size = task.image_size
    wanted = f"(batch, 3, {size}, {size})"
    initialisers = {tensor.name for tensor in model.graph.initializer}
    inputs = [entry for entry in model.graph.input if entry.name not in initialisers]
    if len(inputs) != 1:
        errors.add(
            None, None, _("The model has %(n)s inputs; it takes one, of shape %(shape)s.")
            % {"n": len(inputs), "shape": wanted},
        )  # fmt: skip
        return
    entry = inputs[0]
    tensor = entry.type.tensor_type
    if not entry.type.HasField("tensor_type") or tensor.elem_type != TensorProto.FLOAT:
        errors.add(None, entry.name, _("The input is float32 (RGB scaled to 0–1)."))
        return
    dims = list(tensor.shape.dim) if tensor.HasField("shape") else []
    shown = ", ".join(d.dim_param or str(d.dim_value) if (d.dim_param or d.dim_value) else "?"
                      for d in dims)  # fmt: skip
    fixed = [d.dim_value if d.HasField("dim_value") else None for d in dims]
    if len(dims) != 4 or fixed[1:] != [3, size, size] or (fixed[0] is not None and fixed[0] < 1):
        errors.add(
            None, entry.name, _("The input's shape is (%(found)s); the task's is %(shape)s.")
            % {"found": shown, "shape": wanted},
        )  # fmt: skip


def check(task: BenchmarkTask, data: bytes, limits: Limits | None = None):
    """The loaded model (an onnx ModelProto) if it may run on this task, or InvalidPredictions
    naming every problem: its size, its format, the ONNX checker's verdict, custom operators,
    external data, the input's type and shape, no output."""
    import onnx
    from google.protobuf.message import DecodeError

    limits = limits or Limits.from_settings()
    if len(data) > limits.max_bytes:
        raise _invalid(
            _("The model is larger than %(limit)s MB.") % {"limit": limits.max_bytes // 1024**2}
        )
    try:
        model = onnx.load_model_from_string(data)
    except (DecodeError, ValueError, RuntimeError) as error:
        raise _invalid(_("The file is not an ONNX model.")) from error
    if not model.graph.node and not model.graph.output:
        raise _invalid(_("The file is not an ONNX model."))
    errors = Errors()
    if any(tensor.data_location == onnx.TensorProto.EXTERNAL or len(tensor.external_data)
           for tensor in _tensors(model)):  # fmt: skip
        errors.add(None, None, _("The model keeps weights outside the file (external data): "
                                 "save it as one file."))  # fmt: skip
    _check_operators(model, errors)
    if errors:
        raise InvalidPredictions(errors.result())
    try:
        onnx.checker.check_model(model)
    except (onnx.checker.ValidationError, ValueError) as error:
        raise _invalid(
            _("The ONNX checker refuses the model: %(detail)s") % {"detail": str(error)[:500]}
        ) from error
    _check_input(task, model, errors)
    if not model.graph.output:
        errors.add(None, None, _("The model has no output."))
    if errors:
        raise InvalidPredictions(errors.result())
    return model


def test_images(task: BenchmarkTask) -> tuple[SplitItems, np.ndarray]:
    """The test split (ids, case codes, sizes) and its images as the model takes them, uint8
    RGB (N, S, S, 3), decoded as the reference models' loader decodes them."""
    rows = list(benchmark_selectors.split_images(task.version, "test", steps=task.steps))
    size = task.image_size
    images = np.zeros((len(rows), size, size, 3), dtype=np.uint8)
    for i, row in enumerate(rows):
        images[i] = decode(benchmark_selectors.image_bytes(row), size)
    items = SplitItems(
        image_ids=[row.image_id for row in rows],
        case_codes=[row.case_code for row in rows],
        sizes=[(row.width, row.height) for row in rows],
    )
    return items, images


def _child_error(folder: Path) -> str:
    try:
        lines = (folder / "stderr.txt").read_text(errors="replace").strip().splitlines()
        return str(json.loads(lines[-1])["error"])
    except (OSError, IndexError, ValueError, KeyError, TypeError):
        return ""


def run(
    data: bytes, images: np.ndarray, *, limits: Limits | None = None,
    beat: Callable[[], None] | None = None,
) -> np.ndarray:  # fmt: skip
    """The model's first output on `images`, computed in a child process within the limits;
    InvalidPredictions when the model fails or passes a limit. `beat` is called every few
    seconds while it runs (the worker's sign of life)."""
    limits = limits or Limits.from_settings()
    with tempfile.TemporaryDirectory(prefix="onnx-") as name:
        folder = Path(name)
        (folder / "model.onnx").write_bytes(data)
        np.save(folder / "images.npy", images)
        # The output cannot be larger than a float32 mask per input pixel: more is a runaway.
        out_bytes = max(16 * 1024 * 1024, images.size * 4 * 4)
        command = [
            sys.executable, "-I", str(CHILD), "model.onnx", "images.npy", "out.npy",
            str(limits.threads), str(limits.memory_mb), str(limits.seconds * limits.threads + 5),
            str(out_bytes),
        ]  # fmt: skip
        environment = {
            "PATH": "/usr/bin:/bin",
            "HOME": name,
            "OMP_NUM_THREADS": str(limits.threads),
            "LANG": "C.UTF-8",
            "ONNX_CHILD_PARENT": str(os.getpid()),  # onnx_child.PARENT_VARIABLE
        }
        with open(folder / "stderr.txt", "wb") as stderr:
            # The command is ours (this interpreter, the child script); only the model is theirs.
            child = subprocess.Popen(  # noqa: S603
                command, cwd=name, env=environment, stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL, stderr=stderr, start_new_session=True,
            )  # fmt: skip
            try:
                code = _wait(child, limits.seconds, beat)
            finally:
                if child.poll() is None:  # the worker is stopping: the model stops with it
                    os.killpg(child.pid, signal.SIGKILL)
                    child.wait()
        if code is None:
            raise _invalid(
                _("The model ran longer than %(n)s seconds on the test images.")
                % {"n": limits.seconds}
            )
        if code == 5:
            raise WorkerCannotRun(_child_error(folder) or "onnxruntime is not installed")
        if code == 4:
            raise _invalid(
                _("The model needed more than %(n)s MB of memory.") % {"n": limits.memory_mb}
            )
        if code in (-signal.SIGXCPU, -signal.SIGKILL):
            raise _invalid(_("The model used more CPU time than it is allowed."))
        if code != 0:
            detail = _child_error(folder)
            if detail:
                raise _invalid(_("The model could not run: %(detail)s") % {"detail": detail})
            raise _invalid(_("The model stopped unexpectedly (exit status %(code)s).")
                           % {"code": code})  # fmt: skip
        return np.load(folder / "out.npy", allow_pickle=False)


def _wait(child: subprocess.Popen, seconds: int, beat) -> int | None:
    """The child's exit status, or None once it ran past `seconds` (it is killed)."""
    deadline = time.monotonic() + seconds
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            os.killpg(child.pid, signal.SIGKILL)
            child.wait()
            return None
        try:
            return child.wait(timeout=min(BEAT_SECONDS, left))
        except subprocess.TimeoutExpired:
            if beat is not None:
                beat()


def _bad_values(values: np.ndarray, items: SplitItems, column: str, errors: Errors) -> None:
    """Every image whose output is not a finite probability, named."""
    flat = values.reshape(len(values), -1)
    for i in np.flatnonzero(~np.isfinite(flat).all(axis=1))[:20]:
        errors.add(None, column, _("The output for “%(id)s” is NaN or infinite.")
                   % {"id": items.image_ids[i]})  # fmt: skip
    outside = np.isfinite(flat).all(axis=1) & ((flat < 0) | (flat > 1)).any(axis=1)
    for i in np.flatnonzero(outside)[:20]:
        errors.add(None, column, _("The output for “%(id)s” is not a probability (0 to 1).")
                   % {"id": items.image_ids[i]})  # fmt: skip


def as_predictions(task: BenchmarkTask, items: SplitItems, output: np.ndarray) -> Predictions:
    """A classification model's output as validated predictions (InvalidPredictions naming the
    images whose output is wrong)."""
    classes = len(task.classes)
    column = "output"
    values = np.asarray(output, dtype=np.float64)
    if classes == 2 and (values.ndim == 1 or (values.ndim == 2 and values.shape[1] == 1)):
        values = values.reshape(-1, 1)
    elif values.ndim != 2 or values.shape[1] != classes:
        raise _invalid(
            _("The output has shape %(found)s; the task wants (batch, %(n)s): the probability "
              "of each of its classes, %(classes)s.")
            % {"found": list(values.shape), "n": classes, "classes": ", ".join(task.classes)},
            column,
        )  # fmt: skip
    errors = Errors()
    _bad_values(values, items, column, errors)
    if not errors and values.shape[1] > 1:
        sums = values.sum(axis=1)
        for i in np.flatnonzero(np.abs(sums - 1.0) > SUM_TOLERANCE)[:20]:
            errors.add(None, column, _("The probabilities for “%(id)s” sum to %(sum)s, not 1.")
                       % {"id": items.image_ids[i], "sum": round(float(sums[i]), 6)})  # fmt: skip
    if errors:
        raise InvalidPredictions(errors.result())
    if values.shape[1] == 1:
        values = np.hstack([1.0 - values, values])
    return Predictions(items=items, probabilities=values, rows=len(values))


def as_masks(task: BenchmarkTask, items: SplitItems, output: np.ndarray) -> SubmittedMasks:
    """A segmentation model's output (probability per pixel) as masks at the input size."""
    size = task.image_size
    values = np.asarray(output, dtype=np.float32)
    if values.ndim == 4 and values.shape[1] == 1:
        values = values[:, 0]
    if values.ndim != 3 or values.shape[1:] != (size, size):
        raise _invalid(
            _("The output has shape %(found)s; the task wants (batch, 1, %(s)s, %(s)s).")
            % {"found": list(output.shape), "s": size},
            "output",
        )
    errors = Errors()
    _bad_values(values, items, "output", errors)
    if errors:
        raise InvalidPredictions(errors.result())
    return SubmittedMasks(items=items, masks=[mask > 0.5 for mask in values])


def predict(task: BenchmarkTask, data: bytes, *, beat=None) -> Predictions | SubmittedMasks:
    """Check the model, run it on the test images, and turn its output into what evaluation
    scores. InvalidPredictions when the model is at fault; WorkerCannotRun when the worker is."""
    check(task, data)
    items, images = test_images(task)
    output = run(data, images, beat=beat)
    if len(output) != len(items.image_ids):
        raise _invalid(
            _("The model gave %(found)s outputs for %(n)s test images.")
            % {"found": len(output), "n": len(items.image_ids)}
        )
    if task.is_segmentation:
        return as_masks(task, items, output)
    return as_predictions(task, items, output)
