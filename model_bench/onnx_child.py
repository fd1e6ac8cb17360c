"""Runs a submitted ONNX model on the test images, in a child process of the benchmark worker.

Started by model_bench.services.onnx_models.run as `python -I onnx_child.py MODEL IMAGES OUT
THREADS MEMORY_MB CPU_SECONDS OUT_BYTES`, in an empty folder, with an environment that holds no
secret. Its first act is to limit itself (address space, CPU time, size of any file written, no
core dump) and to ask to be killed with its parent (or to exit, when the parent died before
that request), before onnxruntime reads the model. It
imports neither Django nor the project: only numpy and onnxruntime, with the CPU execution
provider and no custom-operator library.

IMAGES is a .npy of uint8 RGB images (N, S, S, 3); the model takes float32 (B, 3, S, S) scaled
to [0, 1]. Its first output, for every image in order, goes to OUT (.npy, float32). A failure
prints one JSON line {"error": "..."} on stderr and exits 3 (4 when memory ran out, 5 when
onnxruntime is missing: the worker's fault, not the model's).
"""

import contextlib
import ctypes
import json
import os
import resource
import signal
import sys

DEFAULT_BATCH = 8
# The worker's process ID, set by the worker: who must still be this process's parent.
PARENT_VARIABLE = "ONNX_CHILD_PARENT"
# How onnxruntime says that an allocation failed (the address-space limit was reached).
OUT_OF_MEMORY = ("Failed to allocate memory", "bad_alloc", "BFCArena")


def _fail(message: str, code: int = 3) -> None:
    sys.stderr.write(json.dumps({"error": message[:2000]}) + "\n")
    sys.stderr.flush()
    sys.exit(code)


def limit_self(memory_mb: int, cpu_seconds: int, out_bytes: int) -> None:
    memory = memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds + 5))
    resource.setrlimit(resource.RLIMIT_FSIZE, (out_bytes, out_bytes))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    # Linux: die with the worker rather than outlive it (PR_SET_PDEATHSIG is 1).
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL, 0, 0, 0)
    # A worker killed between starting this process and the line above sends no signal: this
    # process was handed to init (or a subreaper) already, so its parent is no longer the worker
    # that started it. Then nobody waits for the model: stop before reading it.
    worker = os.environ.get(PARENT_VARIABLE, "")
    if worker.isdigit() and os.getppid() != int(worker):
        os._exit(6)


def main(model_path: str, images_path: str, out_path: str, threads: int) -> None:
    import numpy as np

    try:
        import onnxruntime as ort
    except ImportError:
        _fail("onnxruntime is not installed on this worker", code=5)

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.log_severity_level = 3
    try:
        session = ort.InferenceSession(
            model_path, sess_options=options, providers=["CPUExecutionProvider"]
        )
    except Exception as error:
        _fail(f"onnxruntime cannot load the model: {error}")
    model_input = session.get_inputs()[0]
    batch = model_input.shape[0] if isinstance(model_input.shape[0], int) else DEFAULT_BATCH
    images = np.load(images_path, mmap_mode="r")
    outputs = []
    for start in range(0, len(images), batch):
        chunk = np.asarray(images[start : start + batch], dtype=np.float32) / 255.0
        chunk = np.ascontiguousarray(chunk.transpose(0, 3, 1, 2))
        count = len(chunk)
        if count < batch and isinstance(model_input.shape[0], int):  # a fixed batch: pad it
            pad = np.zeros((batch - count, *chunk.shape[1:]), dtype=np.float32)
            chunk = np.concatenate([chunk, pad])
        try:
            result = session.run(None, {model_input.name: chunk})[0]
        except Exception as error:
            if any(sign in str(error) for sign in OUT_OF_MEMORY):
                _fail("the model needed more memory than the limit", code=4)
            _fail(f"the model failed on images {start + 1} to {start + count}: {error}")
        result = np.asarray(result, dtype=np.float32)
        if result.ndim == 0 or result.shape[0] != len(chunk):
            _fail(
                f"the first output has shape {list(result.shape)} for a batch of {len(chunk)}; "
                "its first dimension is the batch"
            )
        outputs.append(result[:count])
    np.save(out_path, np.concatenate(outputs) if outputs else np.zeros((0,), np.float32))


if __name__ == "__main__":
    limit_self(int(sys.argv[5]), int(sys.argv[6]), int(sys.argv[7]))
    try:
        main(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]))
    except MemoryError:
        _fail("the model needed more memory than the limit", code=4)
