"""The plain baseline every model is compared with: hand-made colour and texture features of each
image, standardised, then a class-balanced logistic regression (scikit-learn).

`features(images)` is computed the same way for training, validation and test images, with nothing
learnt from the data (fixed quantisation and thresholds), so the regression is the only fitted part.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import IO

import cv2
import joblib
import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import log_loss
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

from model_bench.training.data import ImageSet
from model_bench.training.loop import Progress, no_progress

PERCENTILES = (10, 25, 50, 75, 90)
# Channels (after conversion) whose distribution is summarised: RGB, Lab, and HSV's S and V; hue is
# circular (0 and 179 are neighbours), so it gets circular statistics instead.
_LINEAR_CHANNELS = ("R", "G", "B", "L", "a", "b", "S", "V")
GLCM_LEVELS = 8
GLCM_DISTANCES = (1, 2, 4)
# The four directions at each distance (dy, dx): 0°, 45°, 90°, 135°.
_GLCM_DIRECTIONS = ((0, 1), (-1, 1), (1, 0), (1, 1))
_GLCM_STATS = ("contrast", "homogeneity", "energy", "correlation", "entropy")
_LBP_BINS = 10  # rotation-invariant uniform patterns of 8 neighbours: 0…8 ones, and "non-uniform"
_CUES = (
    "acetowhite_fraction",
    "acetowhite_relative_fraction",
    "glare_fraction",
    "iodine_brown_fraction",
    "iodine_yellow_fraction",
    "red_fraction",
)
# Images per chunk: the LBP and GLCM steps hold a few arrays of the chunk's size in memory.
_CHUNK = 64


def feature_names() -> list[str]:
    """The name of each column of `features`, in order (for the job's log and for debugging)."""
    names = [
        f"{channel}_{stat}"
        for channel in _LINEAR_CHANNELS
        for stat in ("mean", "std", *(f"p{p}" for p in PERCENTILES))
    ]
    names += ["H_cos", "H_sin", "H_spread"]
    names += list(_CUES)
    names += [f"glcm_d{d}_{stat}" for d in GLCM_DISTANCES for stat in _GLCM_STATS]
    names += ["laplacian_var", "gradient_mean"]
    names += [f"lbp_{i}" for i in range(_LBP_BINS)]
    return names


def features(images: np.ndarray) -> np.ndarray:
    """Colour and texture features of uint8 RGB images (N, S, S, 3) → float32 (N, F).

    F = len(feature_names()) whatever S is; every value is finite. The groups, in order:

    - colour statistics (56): mean, standard deviation and the 10/25/50/75/90th percentiles of
      R, G, B, CIE Lab's L, a, b and HSV's S and V, each scaled to [0, 1];
    - hue (3): the circular mean of HSV's hue as (cos, sin) and its spread 1 − R (R the length of
      the mean resultant), since hue wraps round;
    - clinical cues (6), as fractions of the image: acetowhite — bright (V > 0.7) and weakly
      saturated (S < 0.25) pixels, absolutely and relative to the image (V above its mean plus
      one deviation with S below its mean); glare — specular reflections (V > 0.95, S < 0.1);
      Lugol's iodine — mahogany-brown uptake (hue 0–25°, S > 0.3, V < 0.5) and mustard-yellow
      non-uptake (hue 35–70°, S > 0.3, V > 0.4); redness — Lab a* above 30 (erythema, vessels);
    - grey-level co-occurrence (15): the grey image quantised to 8 levels, a symmetric normalised
      co-occurrence matrix at distances 1, 2 and 4 in four directions (0°, 45°, 90°, 135°), its
      contrast, homogeneity, energy (√ASM), correlation and entropy, averaged over the directions
      (the cervix has no preferred orientation), as scikit-image's graycoprops defines them;
    - sharpness (2): the variance of the 4-neighbour Laplacian and the mean gradient magnitude of
      the grey image in [0, 1];
    - local binary patterns (10): the histogram of rotation-invariant uniform patterns of the 8
      neighbours at radius 1 (neighbour ≥ centre), normalised to sum to 1.
    """
    if images.ndim != 4 or images.shape[-1] != 3 or images.dtype != np.uint8:
        raise ValueError("images must be uint8 of shape (N, S, S, 3)")
    width = len(feature_names())
    if len(images) == 0:
        return np.zeros((0, width), dtype=np.float32)
    if images.shape[1] < 5 or images.shape[2] < 5:
        raise ValueError("images must be at least 5×5 pixels for the texture features")
    out = np.concatenate(
        [_chunk_features(images[start : start + _CHUNK]) for start in range(0, len(images), _CHUNK)]
    )
    return np.nan_to_num(out, nan=0.0, posinf=0.0, neginf=0.0).astype(np.float32)


def _convert(images: np.ndarray, code: int) -> np.ndarray:
    # cv2 converts one image at a time; a stack of N images of S rows is one image of N·S rows,
    # and colour conversion is per pixel, so one call converts them all.
    n, height, width, _ = images.shape
    converted = cv2.cvtColor(np.ascontiguousarray(images).reshape(n * height, width, 3), code)
    return converted.reshape(n, height, width, -1)


def _chunk_features(images: np.ndarray) -> np.ndarray:
    n = len(images)
    hsv = _convert(images, cv2.COLOR_RGB2HSV_FULL)  # H in 0…255 for 0…360°
    lab = _convert(images, cv2.COLOR_RGB2LAB)  # 8-bit: L·255/100, a + 128, b + 128
    grey = _convert(images, cv2.COLOR_RGB2GRAY)[..., 0]
    channels = np.concatenate([images, lab, hsv[..., 1:]], axis=-1).reshape(n, -1, 8)
    colour = _channel_statistics(channels)
    return np.concatenate(
        [
            colour,
            _hue(hsv[..., 0].reshape(n, -1)),
            _cues(hsv.reshape(n, -1, 3), lab.reshape(n, -1, 3)),
            _glcm(grey),
            _sharpness(grey.astype(np.float32) / 255.0),
            _lbp(grey),
        ],
        axis=1,
    )


def _channel_statistics(channels: np.ndarray) -> np.ndarray:
    """Mean, standard deviation and PERCENTILES of each uint8 channel (N, M, C) → (N, C·7), in
    [0, 1], channel-major. From one 256-bin histogram per image and channel: as exact as
    np.percentile's linear interpolation and several times faster than sorting the pixels."""
    n, m, c = channels.shape
    bins = (np.arange(n * c).reshape(n, 1, c) * 256 + channels).ravel()
    histogram = np.bincount(bins, minlength=n * c * 256).reshape(n, c, 256).astype(np.float64)
    values = np.arange(256, dtype=np.float64)
    mean = histogram @ values / m
    std = np.sqrt(np.maximum(histogram @ values**2 / m - mean**2, 0.0))
    cumulative = histogram.cumsum(axis=2)
    quantiles = []
    for percentile in PERCENTILES:
        # np.percentile's "linear": between the sorted values of ranks ⌊r⌋ and ⌊r⌋ + 1.
        rank = percentile / 100 * (m - 1)
        low, fraction = int(np.floor(rank)), rank - np.floor(rank)
        below = (cumulative <= low).sum(axis=2)  # the value at rank `low`
        above = (cumulative <= min(low + 1, m - 1)).sum(axis=2)
        quantiles.append(below + fraction * (above - below))
    stats = np.stack([mean, std, *quantiles], axis=2) / 255.0  # (N, C, 7)
    return stats.reshape(n, -1)


def _hue(hue: np.ndarray) -> np.ndarray:
    angle = hue.astype(np.float32) * (2 * np.pi / 256)
    cos, sin = np.cos(angle).mean(axis=1), np.sin(angle).mean(axis=1)
    return np.stack([cos, sin, 1.0 - np.hypot(cos, sin)], axis=1)


def _cues(hsv: np.ndarray, lab: np.ndarray) -> np.ndarray:
    hue_degrees = hsv[..., 0].astype(np.float32) * (360 / 256)
    s = hsv[..., 1].astype(np.float32) / 255
    v = hsv[..., 2].astype(np.float32) / 255
    a_star = lab[..., 1].astype(np.float32) - 128
    relative = (v > v.mean(axis=1, keepdims=True) + v.std(axis=1, keepdims=True)) & (
        s < s.mean(axis=1, keepdims=True)
    )
    masks = [
        (v > 0.7) & (s < 0.25),
        relative,
        (v > 0.95) & (s < 0.1),
        (hue_degrees <= 25) & (s > 0.3) & (v < 0.5),
        (hue_degrees >= 35) & (hue_degrees <= 70) & (s > 0.3) & (v > 0.4),
        a_star > 30,
    ]
    return np.stack([mask.mean(axis=1) for mask in masks], axis=1)


def _shifted_pairs(image: np.ndarray, dy: int, dx: int) -> tuple[np.ndarray, np.ndarray]:
    """The (pixel, neighbour at (dy, dx)) pairs of a stack (N, H, W), as two (N, h, w) views."""
    height, width = image.shape[1:]
    y0, y1 = max(0, -dy), height - max(0, dy)
    x0, x1 = max(0, -dx), width - max(0, dx)
    return image[:, y0:y1, x0:x1], image[:, y0 + dy : y1 + dy, x0 + dx : x1 + dx]


def _glcm(grey: np.ndarray) -> np.ndarray:
    n = len(grey)
    levels = GLCM_LEVELS
    quantised = (grey.astype(np.int64) * levels) // 256
    i, j = np.meshgrid(np.arange(levels), np.arange(levels), indexing="ij")
    offsets = (np.arange(n) * levels * levels)[:, None, None]
    per_distance = []
    for distance in GLCM_DISTANCES:
        stats = []
        for dy, dx in _GLCM_DIRECTIONS:
            first, second = _shifted_pairs(quantised, dy * distance, dx * distance)
            # One bincount for the whole stack: image k's pairs land in bins k·L² + a·L + b.
            counts = np.bincount(
                (offsets + first * levels + second).ravel(), minlength=n * levels * levels
            ).reshape(n, levels, levels)
            counts = counts + counts.transpose(0, 2, 1)  # symmetric: both orders of each pair
            p = counts / np.maximum(counts.sum(axis=(1, 2), keepdims=True), 1)
            stats.append(_glcm_stats(p, i, j))
        per_distance.append(np.mean(stats, axis=0))
    return np.concatenate(per_distance, axis=1)


def _glcm_stats(p: np.ndarray, i: np.ndarray, j: np.ndarray) -> np.ndarray:
    contrast = (p * (i - j) ** 2).sum(axis=(1, 2))
    homogeneity = (p / (1.0 + (i - j) ** 2)).sum(axis=(1, 2))
    energy = np.sqrt((p**2).sum(axis=(1, 2)))
    mean_i = (p * i).sum(axis=(1, 2))
    mean_j = (p * j).sum(axis=(1, 2))
    std_i = np.sqrt((p * (i - mean_i[:, None, None]) ** 2).sum(axis=(1, 2)))
    std_j = np.sqrt((p * (j - mean_j[:, None, None]) ** 2).sum(axis=(1, 2)))
    covariance = (p * (i - mean_i[:, None, None]) * (j - mean_j[:, None, None])).sum(axis=(1, 2))
    flat = (std_i < 1e-12) | (std_j < 1e-12)
    # A uniform image has no variance; scikit-image calls its correlation 1.
    correlation = np.where(flat, 1.0, covariance / np.where(flat, 1.0, std_i * std_j))
    entropy = -(p * np.log2(np.where(p > 0, p, 1.0))).sum(axis=(1, 2))
    return np.stack([contrast, homogeneity, energy, correlation, entropy], axis=1)


def _sharpness(grey: np.ndarray) -> np.ndarray:
    centre = grey[:, 1:-1, 1:-1]
    laplacian = (
        grey[:, :-2, 1:-1] + grey[:, 2:, 1:-1] + grey[:, 1:-1, :-2] + grey[:, 1:-1, 2:] - 4 * centre
    )
    gy = (grey[:, 2:, 1:-1] - grey[:, :-2, 1:-1]) / 2
    gx = (grey[:, 1:-1, 2:] - grey[:, 1:-1, :-2]) / 2
    n = len(grey)
    return np.stack(
        [laplacian.reshape(n, -1).var(axis=1), np.hypot(gx, gy).reshape(n, -1).mean(axis=1)],
        axis=1,
    )


# The 8 neighbours at radius 1, in circular order (the uniformity test counts transitions round it).
_NEIGHBOURS = ((-1, -1), (-1, 0), (-1, 1), (0, 1), (1, 1), (1, 0), (1, -1), (0, -1))


def _lbp(grey: np.ndarray) -> np.ndarray:
    n, height, width = grey.shape
    centre = grey[:, 1:-1, 1:-1]
    bits = np.stack(
        [
            grey[:, 1 + dy : height - 1 + dy, 1 + dx : width - 1 + dx] >= centre
            for dy, dx in _NEIGHBOURS
        ]
    )
    ones = bits.sum(axis=0)
    transitions = (bits != np.roll(bits, 1, axis=0)).sum(axis=0)
    codes = np.where(transitions <= 2, ones, _LBP_BINS - 1).astype(np.int64)
    offsets = (np.arange(n) * _LBP_BINS)[:, None, None]
    histogram = np.bincount((codes + offsets).ravel(), minlength=n * _LBP_BINS)
    histogram = histogram.reshape(n, _LBP_BINS).astype(np.float64)
    return histogram / histogram.sum(axis=1, keepdims=True)


# Inverse regularisation strengths tried when there is a validation split; 1.0 without one.
C_GRID: tuple[float, ...] = (0.01, 0.1, 1.0, 10.0)
DEFAULT_C = 1.0


@dataclass
class BaselineModel:
    """Standardisation and logistic regression over `features`. Pickles as it is (joblib or
    pickle); `save` and `load` are joblib's, for symmetry with the other models."""

    pipeline: Pipeline
    n_classes: int
    C: float
    history: list[dict] = field(default_factory=list)

    def predict_proba(self, images: np.ndarray) -> np.ndarray:
        """Class probabilities (N, n_classes) of uint8 images (N, S, S, 3); a class the training
        split lacked gets probability 0."""
        return self._proba(features(images))

    def _proba(self, x: np.ndarray) -> np.ndarray:
        out = np.zeros((len(x), self.n_classes), dtype=np.float64)
        if len(x):
            classes = self.pipeline.classes_.astype(np.int64)
            out[:, classes] = self.pipeline.predict_proba(x)
        return out

    def save(self, target: "str | IO[bytes]") -> None:
        joblib.dump(self, target)

    @staticmethod
    def load(source: "str | IO[bytes]") -> "BaselineModel":
        """Only for files the bank wrote itself: unpickling runs code."""
        model = joblib.load(source)
        if not isinstance(model, BaselineModel):
            raise TypeError(f"expected a BaselineModel, found {type(model).__name__}")
        return model


def _fit(x: np.ndarray, y: np.ndarray, c: float, seed: int) -> Pipeline:
    pipeline = make_pipeline(
        StandardScaler(),
        # lbfgs is deterministic; random_state matters only to other solvers but is pinned anyway.
        LogisticRegression(C=c, class_weight="balanced", max_iter=5000, random_state=seed),
    )
    return pipeline.fit(x, y)


def train_baseline(
    train: ImageSet,
    validation: ImageSet | None,
    *,
    n_classes: int,
    seed: int,
    progress: Progress = no_progress,
    c_grid: Sequence[float] = C_GRID,
) -> BaselineModel:
    """Fit the baseline on `train`. With a labelled validation split, each C of `c_grid` is fitted
    on `train` and the one with the lowest validation log-loss is kept (ties: the smaller C, the
    stronger regularisation); without one, C = 1. `history` has one row per C tried."""
    if train.labels is None:
        raise ValueError("the training set has no labels")
    y = train.labels.astype(np.int64)
    if len(np.unique(y)) < 2:
        raise ValueError("the training set needs images of at least two classes")
    progress(0.0, "baseline: features")
    x = features(train.images)
    has_validation = validation is not None and len(validation) and validation.labels is not None
    if not has_validation:
        progress(0.5, f"baseline: C={DEFAULT_C}")
        pipeline = _fit(x, y, DEFAULT_C, seed)
        progress(1.0, "baseline: done")
        return BaselineModel(pipeline, n_classes, DEFAULT_C, [{"C": DEFAULT_C, "val_loss": None}])
    x_val = features(validation.images)
    y_val = validation.labels.astype(np.int64)
    grid = sorted(float(c) for c in c_grid)
    if not grid:
        raise ValueError("c_grid is empty")
    history: list[dict] = []
    best: BaselineModel | None = None
    best_loss = float("inf")
    for index, c in enumerate(grid):
        progress(0.2 + 0.8 * index / len(grid), f"baseline: C={c}")
        model = BaselineModel(_fit(x, y, c, seed), n_classes, c)
        proba = np.clip(model._proba(x_val), 1e-15, 1.0)
        proba /= proba.sum(axis=1, keepdims=True)
        loss = float(log_loss(y_val, proba, labels=list(range(n_classes))))
        accuracy = float((proba.argmax(axis=1) == y_val).mean())
        history.append({"C": c, "val_loss": loss, "val_accuracy": accuracy})
        if loss < best_loss:
            best, best_loss = model, loss
    progress(1.0, "baseline: done")
    assert best is not None
    best.history = history
    return best
