"""Seeds and device choice for training runs that must give the same figures twice.

A benchmark job is reproducible when every source of randomness is seeded (Python, NumPy, torch on
every device), the data order comes from its own seeded generator (so that adding a random
augmentation does not shift which images come first), and torch is told to refuse kernels that are
not deterministic instead of silently using them.
"""

import os
import random

import numpy as np
import torch

# cuBLAS needs a fixed workspace to be deterministic on CUDA >= 10.2; the value must be in the
# environment before the first cuBLAS handle is created, so seed_everything sets it first.
CUBLAS_WORKSPACE_CONFIG = ":4096:8"


def seed_everything(seed: int, *, deterministic: bool = True) -> torch.Generator:
    """Seed Python, NumPy and torch and return a seeded generator for the data order.

    With `deterministic`, torch raises when an operation has no deterministic kernel (instead of
    giving different figures on a rerun) and cuDNN stops picking algorithms by timing them. The
    setting is process-wide: a caller that must restore it reads
    `torch.are_deterministic_algorithms_enabled()` first.
    """
    if torch.cuda.is_available():
        # A value the operator chose (":16:8" uses less memory) is kept.
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", CUBLAS_WORKSPACE_CONFIG)
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)  # seeds every CUDA device too
    torch.use_deterministic_algorithms(deterministic)
    torch.backends.cudnn.deterministic = deterministic
    torch.backends.cudnn.benchmark = not deterministic
    generator = torch.Generator()
    generator.manual_seed(seed)
    return generator


def seed_worker(worker_id: int) -> None:
    """`worker_init_fn` for a DataLoader: each worker process reseeds Python and NumPy from the
    seed torch gave it (derived from the loader's generator), so that augmentations drawn with
    `random` or NumPy do not repeat across workers or vary between runs."""
    worker_seed = torch.initial_seed() % 2**32
    random.seed(worker_seed)
    np.random.seed(worker_seed)


def pick_device(preferred: str | None = None) -> torch.device:
    """The device a worker trains on: CUDA when the worker has a GPU, the CPU otherwise.

    `preferred` ("cpu", "cuda", "cuda:1") overrides the choice; asking for CUDA on a machine
    without it is an error rather than a silent fall back to a run fifty times slower.
    """
    if preferred:
        device = torch.device(preferred)
        if device.type == "cuda" and not torch.cuda.is_available():
            raise RuntimeError(f"Device {preferred!r} was asked for but CUDA is not available.")
        return device
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")
