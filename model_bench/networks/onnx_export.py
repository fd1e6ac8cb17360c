"""ONNX export of a reference network, and the check that onnxruntime gives the same outputs.

The export uses torch's torch.export-based exporter (onnxscript), which runs offline, at opset 18,
its native opset (asking it for 17 goes through ONNX's version converter, which fails on some
reductions). Should it fail on a model, the TorchScript exporter is tried at opset 17. Both write
a model with a dynamic batch axis named "batch", input "input" and output "output", in standard
ONNX operators only.
"""

import logging
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import torch
from torch import nn

logger = logging.getLogger(__name__)

DYNAMO_OPSET = 18
TORCHSCRIPT_OPSET = 17
INPUT_NAME = "input"
OUTPUT_NAME = "output"


# What the exporter logs on every export and nobody needs: onnxscript's and onnx_ir's passes at
# INFO ("No unused functions to remove"), and torch's registry warning that torchvision, which
# the bank does not install, is missing. Raised to these levels for the export only; anything
# worse still shows.
QUIET_LOGGERS = {
    "onnx_ir": logging.WARNING,
    "onnxscript": logging.WARNING,
    "torch.onnx._internal.exporter._registration": logging.ERROR,
}


@contextmanager
def quiet_exporter() -> Iterator[None]:
    loggers = {name: logging.getLogger(name) for name in QUIET_LOGGERS}
    levels = {name: logger.level for name, logger in loggers.items()}
    try:
        for name, logger in loggers.items():
            logger.setLevel(max(QUIET_LOGGERS[name], logger.getEffectiveLevel()))
        yield
    finally:
        for name, logger in loggers.items():
            logger.setLevel(levels[name])


class OnnxMismatchError(AssertionError):
    """onnxruntime's outputs differ from PyTorch's by more than the tolerance."""


def export_onnx(model: nn.Module, example: torch.Tensor, path: str | Path) -> Path:
    """Write `model`, in eval mode, to `path` as ONNX, traced on the batch `example`.

    The model's mode is restored afterwards. A batch of one is repeated to two images for the
    trace: torch.export treats a dimension of size 1 as a constant, not as the dynamic batch.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if example.shape[0] == 1:
        example = example.repeat(2, *([1] * (example.dim() - 1)))
    was_training = model.training
    model.eval()
    try:
        try:
            with quiet_exporter():
                _export_dynamo(model, example, path)
        except Exception:
            logger.warning(
                "The torch.export-based ONNX exporter failed; trying the TorchScript exporter.",
                exc_info=True,
            )
            _export_torchscript(model, example, path)
    finally:
        model.train(was_training)
    return path


def _export_dynamo(model: nn.Module, example: torch.Tensor, path: Path) -> None:
    batch = torch.export.Dim("batch")
    with warnings.catch_warnings():
        # torch 2.13's own pytree code warns about its deprecated LeafSpec while exporting.
        warnings.filterwarnings("ignore", message=".*LeafSpec", category=FutureWarning)
        torch.onnx.export(
            model,
            (example,),
            str(path),
            dynamo=True,
            opset_version=DYNAMO_OPSET,
            input_names=[INPUT_NAME],
            output_names=[OUTPUT_NAME],
            dynamic_shapes=({0: batch},),
            external_data=False,
            verbose=False,
        )


def _export_torchscript(model: nn.Module, example: torch.Tensor, path: Path) -> None:
    with warnings.catch_warnings():
        # The TorchScript exporter is deprecated; here it is only the fall-back.
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.onnx.export(
            model,
            (example,),
            str(path),
            dynamo=False,
            opset_version=TORCHSCRIPT_OPSET,
            input_names=[INPUT_NAME],
            output_names=[OUTPUT_NAME],
            dynamic_axes={INPUT_NAME: {0: "batch"}, OUTPUT_NAME: {0: "batch"}},
        )


def check_onnx(
    model: nn.Module, path: str | Path, inputs: torch.Tensor, atol: float = 1e-4
) -> float:
    """The largest absolute difference between onnxruntime (CPU) and PyTorch (eval mode) on
    `inputs`; raises OnnxMismatchError when it is above `atol`, or when the shapes differ."""
    import onnxruntime  # imported here: only export checks need it, and it is slow to load

    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            parameter = next(model.parameters(), None)
            device = parameter.device if parameter is not None else torch.device("cpu")
            expected = model(inputs.to(device)).float().cpu().numpy()
    finally:
        model.train(was_training)
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    feed = {session.get_inputs()[0].name: inputs.detach().float().cpu().numpy()}
    actual = session.run(None, feed)[0]
    if actual.shape != expected.shape:
        raise OnnxMismatchError(
            f"ONNX output shape {actual.shape} differs from PyTorch's {expected.shape}."
        )
    difference = float(np.max(np.abs(actual - expected))) if expected.size else 0.0
    if not difference <= atol:  # also catches NaN
        raise OnnxMismatchError(
            f"ONNX output differs from PyTorch's by {difference:.3g} (tolerance {atol:g})."
        )
    return difference
