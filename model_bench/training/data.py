"""The arrays a trainer works on, and the one normalisation every network sees.

An ImageSet holds a split's images already decoded and resized to the task's square input
(uint8, N × S × S × 3, RGB), their identifiers and case codes, and what the split may carry:
class indices for classification, masks (uint8 0/1, N × S × S) with a flag per image saying
whether it has one. The test split's labels and masks are never in an ImageSet a trainer gets:
evaluation (model_bench.services.evaluation) keeps them apart.
"""

from dataclasses import dataclass, field

import numpy as np
import torch

# Normalisation of the RGB input (ImageNet's statistics, the usual choice for networks trained from
# scratch too); the ONNX exports take the normalised tensor, as documented in docs/benchmarks.md.
MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)


@dataclass
class ImageSet:
    images: np.ndarray  # uint8 (N, S, S, 3)
    image_ids: list[str]
    case_codes: list[str]
    labels: np.ndarray | None = None  # int64 (N,), class indices
    masks: np.ndarray | None = None  # uint8 (N, S, S), 0/1
    has_mask: np.ndarray | None = None  # bool (N,)
    extra: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        n = len(self.images)
        if self.images.ndim != 4 or self.images.shape[-1] != 3 or self.images.dtype != np.uint8:
            raise ValueError("images must be uint8 of shape (N, S, S, 3)")
        if len(self.image_ids) != n or len(self.case_codes) != n:
            raise ValueError("one image id and one case code per image")
        if self.labels is not None and len(self.labels) != n:
            raise ValueError("one label per image")
        if self.masks is not None and (self.has_mask is None or len(self.masks) != n):
            raise ValueError("one mask and one has_mask flag per image")

    def __len__(self) -> int:
        return len(self.images)

    @property
    def size(self) -> int:
        return int(self.images.shape[1])

    def subset(self, index) -> "ImageSet":
        index = np.asarray(index)
        pick = lambda values: None if values is None else values[index]  # noqa: E731
        return ImageSet(
            images=self.images[index],
            image_ids=[self.image_ids[i] for i in np.arange(len(self))[index]],
            case_codes=[self.case_codes[i] for i in np.arange(len(self))[index]],
            labels=pick(self.labels),
            masks=pick(self.masks),
            has_mask=pick(self.has_mask),
        )


def to_tensor(images: np.ndarray) -> torch.Tensor:
    """uint8 (N, S, S, 3) → normalised float32 (N, 3, S, S)."""
    scaled = images.astype(np.float32) / 255.0
    scaled = (scaled - MEAN) / STD
    return torch.from_numpy(np.ascontiguousarray(scaled.transpose(0, 3, 1, 2)))


def batches(n: int, batch_size: int, generator: torch.Generator | None = None):
    """Index batches over n items: in a seeded random order with a generator, in order without."""
    order = torch.randperm(n, generator=generator) if generator is not None else torch.arange(n)
    for start in range(0, n, batch_size):
        yield order[start : start + batch_size].numpy()
