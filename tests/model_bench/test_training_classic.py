"""The classic trainers (model_bench.training): the CNN classifier, the colour-and-texture baseline
with logistic regression, and the CNN + LightGBM hybrid, on a trivially separable synthetic task
(bright versus dark 32×32 images): they learn it, repeat bit for bit with a seed, give
probabilities that sum to 1, survive pickling, and stop when the progress callback cancels.

Networks are tiny and runs are one to a few epochs so that the file runs in well under a minute.
"""

import io
import pickle

import numpy as np
import pytest
import torch

from model_bench.training.baseline import (
    BaselineModel,
    feature_names,
    features,
    train_baseline,
)
from model_bench.training.classifiers import class_weights, predict_proba, train_classifier
from model_bench.training.data import ImageSet
from model_bench.training.hybrid import HybridModel, train_hybrid
from model_bench.training.loop import Cancelled, TrainConfig

TINY = {
    "resnet": {"blocks": (1, 1, 1, 1), "width_multiplier": 1 / 16},
    "shufflenet": {"units": (1, 2, 1), "width_multiplier": 1 / 8, "final_width": 32},
}
QUICK = TrainConfig(epochs=2, batch_size=8, lr=1e-2, seed=3)


@pytest.fixture(autouse=True)
def _restore_torch_state():
    # train_classifier seeds torch's global generator; give the rest of the suite its state back.
    threads = torch.get_num_threads()
    rng = torch.get_rng_state()
    yield
    torch.set_num_threads(threads)
    torch.set_rng_state(rng)


def bright_dark(n: int, seed: int, *, size: int = 32, n_classes: int = 2) -> ImageSet:
    """Class k is a noisy image of mean grey level 40 + k·(180 / (n_classes − 1)), plus noise."""
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % n_classes
    level = 40 + labels * (180 // (n_classes - 1))
    noise = rng.normal(0, 20, (n, size, size, 3))
    images = np.clip(level[:, None, None, None] + noise, 0, 255).astype(np.uint8)
    return ImageSet(
        images=images,
        image_ids=[f"{seed}-{i}" for i in range(n)],
        case_codes=[f"case-{seed}-{i // 2}" for i in range(n)],
        labels=labels.astype(np.int64),
    )


@pytest.fixture(scope="module")
def splits() -> tuple[ImageSet, ImageSet, ImageSet]:
    return bright_dark(40, 1), bright_dark(16, 2), bright_dark(20, 3)


def accuracy(proba: np.ndarray, labels: np.ndarray) -> float:
    return float((proba.argmax(axis=1) == labels).mean())


def assert_probabilities(proba: np.ndarray, n: int, n_classes: int) -> None:
    assert proba.shape == (n, n_classes)
    assert np.all(proba >= 0)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-6)


def cancel_after(calls: int):
    seen = []

    def progress(fraction: float, message: str) -> None:
        seen.append((fraction, message))
        if len(seen) >= calls:
            raise Cancelled

    return progress, seen


# The CNN classifier (train_classifier, already in model_bench.training.classifiers).


def test_class_weights_are_inverse_frequency_with_mean_one():
    weights = class_weights(np.array([0, 0, 0, 1]), 2)
    np.testing.assert_allclose(weights.numpy(), [0.5, 1.5], rtol=1e-6)
    # A class absent from the split keeps a finite weight; the present ones stay balanced.
    absent = class_weights(np.array([0, 0, 1, 1]), 3).numpy()
    assert absent[0] == pytest.approx(absent[1]) and np.isfinite(absent[2])
    assert float(class_weights(np.array([0, 1, 1, 2, 2, 2]), 3).mean()) == pytest.approx(1.0)


def test_train_classifier_is_deterministic(splits):
    train, validation, test = splits
    runs = [
        train_classifier(
            "resnet", train, validation, n_classes=2, config=QUICK, options=TINY["resnet"]
        )
        for _ in range(2)
    ]
    first, second = (predict_proba(run.network, test.images) for run in runs)
    assert np.array_equal(first, second)
    assert [row["train_loss"] for row in runs[0].history] == [
        row["train_loss"] for row in runs[1].history
    ]
    assert_probabilities(first, len(test), 2)


def test_train_classifier_learns_bright_from_dark(splits):
    train, _, test = splits
    # Six epochs (30 steps): BatchNorm's running statistics, used in eval mode, need a few dozen
    # steps to approach the batches' before the eval-mode outputs mean anything.
    config = TrainConfig(epochs=6, batch_size=8, lr=1e-2, seed=0)
    trained = train_classifier(
        "resnet", train, None, n_classes=2, config=config, options=TINY["resnet"]
    )
    assert len(trained.history) == 6
    assert accuracy(predict_proba(trained.network, test.images), test.labels) > 0.75


def test_cancelled_from_progress_stops_training(splits):
    train, validation, _ = splits
    progress, seen = cancel_after(3)
    with pytest.raises(Cancelled):
        train_classifier(
            "resnet",
            train,
            validation,
            n_classes=2,
            config=TrainConfig(epochs=50, batch_size=8),
            options=TINY["resnet"],
            progress=progress,
        )
    assert len(seen) == 3  # no batch ran after the cancelling call


# The baseline's features.


def test_features_are_finite_and_of_fixed_width():
    rng = np.random.default_rng(0)
    names = feature_names()
    assert len(names) == len(set(names))
    for size in (16, 32, 48):
        images = rng.integers(0, 256, (3, size, size, 3), dtype=np.uint8)
        out = features(images)
        assert out.shape == (3, len(names)) and out.dtype == np.float32
        assert np.isfinite(out).all()
    flat = features(np.full((2, 32, 32, 3), 128, dtype=np.uint8))  # no variance anywhere
    assert np.isfinite(flat).all()
    assert features(np.zeros((0, 32, 32, 3), dtype=np.uint8)).shape == (0, len(names))
    # More images than one chunk give the same rows as each image alone.
    many = rng.integers(0, 256, (70, 16, 16, 3), dtype=np.uint8)
    np.testing.assert_allclose(features(many)[[0, 69]], features(many[[0, 69]]), rtol=1e-6)
    with pytest.raises(ValueError, match="uint8"):
        features(np.zeros((1, 32, 32, 3), dtype=np.float32))


def test_features_separate_bright_from_dark(splits):
    train = splits[0]
    out = features(train.images)
    column = {name: index for index, name in enumerate(feature_names())}
    v_mean = out[:, column["V_mean"]]
    assert v_mean[train.labels == 1].min() > v_mean[train.labels == 0].max()
    l_median = out[:, column["L_p50"]]
    assert l_median[train.labels == 1].min() > l_median[train.labels == 0].max()


def test_colour_cues_fire_on_their_colours():
    column = {name: index for index, name in enumerate(feature_names())}
    white = np.full((1, 16, 16, 3), 235, dtype=np.uint8)
    brown = np.broadcast_to(np.array([100, 40, 20], dtype=np.uint8), (1, 16, 16, 3)).copy()
    yellow = np.broadcast_to(np.array([220, 200, 60], dtype=np.uint8), (1, 16, 16, 3)).copy()
    out = features(np.concatenate([white, brown, yellow]))
    assert out[0, column["acetowhite_fraction"]] == 1.0
    assert out[1, column["iodine_brown_fraction"]] == 1.0
    assert out[2, column["iodine_yellow_fraction"]] == 1.0
    assert out[1:, column["acetowhite_fraction"]].max() == 0.0
    assert out[[0, 2], column["iodine_brown_fraction"]].max() == 0.0


def test_colour_statistics_match_numpy():
    rng = np.random.default_rng(2)
    images = rng.integers(0, 256, (3, 9, 9, 3), dtype=np.uint8)
    out = features(images)
    names = feature_names()
    scaled = images.reshape(3, -1, 3).astype(np.float64) / 255
    for channel, name in enumerate("RGB"):
        values = scaled[:, :, channel]
        expected = np.stack(
            [
                values.mean(axis=1),
                values.std(axis=1),
                *np.percentile(values, (10, 25, 50, 75, 90), axis=1),
            ],
            axis=1,
        )
        start = names.index(f"{name}_mean")
        np.testing.assert_allclose(out[:, start : start + 7], expected, rtol=1e-5, atol=1e-6)


def _naive_glcm_stats(grey: np.ndarray, dy: int, dx: int) -> np.ndarray:
    levels = 8
    q = grey.astype(int) * levels // 256
    p = np.zeros((levels, levels))
    height, width = q.shape
    for y in range(height):
        for x in range(width):
            if 0 <= y + dy < height and 0 <= x + dx < width:
                p[q[y, x], q[y + dy, x + dx]] += 1
                p[q[y + dy, x + dx], q[y, x]] += 1
    p /= p.sum()
    i, j = np.indices(p.shape)
    mi, mj = (p * i).sum(), (p * j).sum()
    si, sj = np.sqrt((p * (i - mi) ** 2).sum()), np.sqrt((p * (j - mj) ** 2).sum())
    nz = p[p > 0]
    return np.array(
        [
            (p * (i - j) ** 2).sum(),
            (p / (1 + (i - j) ** 2)).sum(),
            np.sqrt((p**2).sum()),
            (p * (i - mi) * (j - mj)).sum() / (si * sj),
            -(nz * np.log2(nz)).sum(),
        ]
    )


def test_glcm_and_lbp_agree_with_loops():
    rng = np.random.default_rng(5)
    grey = rng.integers(0, 256, (12, 12), dtype=np.uint8)
    images = np.repeat(grey[None, :, :, None], 3, axis=3)  # grey RGB: cv2's grey is the same
    out = features(images)[0]
    names = feature_names()
    start = names.index("glcm_d2_contrast")
    expected = np.mean(
        [_naive_glcm_stats(grey, dy * 2, dx * 2) for dy, dx in ((0, 1), (-1, 1), (1, 0), (1, 1))],
        axis=0,
    )
    np.testing.assert_allclose(out[start : start + 5], expected, rtol=1e-5)

    ring = ((-1, -1), (-1, 0), (-1, 1), (0, 1), (1, 1), (1, 0), (1, -1), (0, -1))
    histogram = np.zeros(10)
    for y in range(1, 11):
        for x in range(1, 11):
            bits = [int(grey[y + dy, x + dx] >= grey[y, x]) for dy, dx in ring]
            transitions = sum(bits[k] != bits[k - 1] for k in range(8))
            histogram[sum(bits) if transitions <= 2 else 9] += 1
    lbp = out[names.index("lbp_0") : names.index("lbp_9") + 1]
    np.testing.assert_allclose(lbp, histogram / histogram.sum(), rtol=1e-6)


# The baseline.


def test_baseline_learns_and_is_deterministic(splits):
    train, validation, test = splits
    model = train_baseline(train, validation, n_classes=2, seed=0)
    again = train_baseline(train, validation, n_classes=2, seed=0)
    proba = model.predict_proba(test.images)
    assert np.array_equal(proba, again.predict_proba(test.images))
    assert_probabilities(proba, len(test), 2)
    assert accuracy(proba, test.labels) == 1.0
    assert [row["C"] for row in model.history] == [0.01, 0.1, 1.0, 10.0]
    assert all(np.isfinite(row["val_loss"]) for row in model.history)
    best = min(model.history, key=lambda row: row["val_loss"])
    assert best["C"] == model.C


def test_baseline_without_validation_uses_c_one_and_pickles(splits):
    train, _, test = splits
    progress_calls = []
    model = train_baseline(
        train, None, n_classes=3, seed=0, progress=lambda f, m: progress_calls.append(f)
    )
    assert model.C == 1.0 and model.history == [{"C": 1.0, "val_loss": None}]
    proba = model.predict_proba(test.images)
    assert_probabilities(proba, len(test), 3)
    assert np.all(proba[:, 2] == 0)  # a class the training split lacks
    assert progress_calls[-1] == 1.0 and progress_calls == sorted(progress_calls)
    restored = pickle.loads(pickle.dumps(model))  # noqa: S301 (bytes made here)
    assert np.array_equal(restored.predict_proba(test.images), proba)
    buffer = io.BytesIO()
    model.save(buffer)
    buffer.seek(0)
    assert np.array_equal(BaselineModel.load(buffer).predict_proba(test.images), proba)


def test_baseline_refuses_a_single_class_and_honours_cancel(splits):
    train, validation, _ = splits
    single = train.subset(np.flatnonzero(train.labels == 0))
    with pytest.raises(ValueError, match="two classes"):
        train_baseline(single, None, n_classes=2, seed=0)
    progress, seen = cancel_after(2)
    with pytest.raises(Cancelled):
        train_baseline(train, validation, n_classes=2, seed=0, progress=progress)
    assert len(seen) == 2


# The hybrid.


@pytest.mark.parametrize("backbone", ["resnet", "shufflenet"])
def test_hybrid_learns_is_deterministic_and_pickles(splits, backbone, tmp_path):
    train, validation, test = splits
    fractions = []

    def progress(fraction: float, message: str) -> None:
        fractions.append(fraction)

    kwargs = dict(n_classes=2, config=QUICK, backbone=backbone, options=TINY[backbone])
    model = train_hybrid(train, validation, progress=progress, **kwargs)
    again = train_hybrid(train, validation, **kwargs)
    proba = model.predict_proba(test.images)
    assert np.array_equal(proba, again.predict_proba(test.images))
    assert_probabilities(proba, len(test), 2)
    assert accuracy(proba, test.labels) > 0.75

    stages = [row["stage"] for row in model.history]
    assert stages[:2] == ["cnn", "cnn"] and set(stages[2:]) == {"lightgbm"}
    assert all("val_loss" in row for row in model.history)
    assert 1 <= model.best_iteration <= stages.count("lightgbm")
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    cnn_share = [f for f in fractions if f <= 0.8]
    assert len(cnn_share) >= QUICK.epochs * 5  # one call per batch (40 images / 8) in the 80%

    restored = pickle.loads(pickle.dumps(model))  # noqa: S301 (bytes made here)
    assert isinstance(restored.cnn.network, torch.nn.Module)
    assert np.array_equal(restored.predict_proba(test.images), proba)
    path = tmp_path / "hybrid.joblib"
    model.save(str(path))
    assert np.array_equal(HybridModel.load(str(path)).predict_proba(test.images), proba)


def test_hybrid_multiclass_without_validation():
    train, test = bright_dark(30, 4, n_classes=3), bright_dark(12, 5, n_classes=3)
    model = train_hybrid(
        train, None, n_classes=3, config=QUICK, backbone="resnet", options=TINY["resnet"]
    )
    proba = model.predict_proba(test.images)
    assert_probabilities(proba, len(test), 3)
    assert accuracy(proba, test.labels) > 0.5
    assert {"train_loss"} <= set(model.history[-1])


def test_hybrid_cancel_in_either_stage(splits):
    train, validation, _ = splits
    kwargs = dict(n_classes=2, config=QUICK, backbone="shufflenet", options=TINY["shufflenet"])
    progress, seen = cancel_after(2)
    with pytest.raises(Cancelled):
        train_hybrid(train, validation, progress=progress, **kwargs)
    assert seen[-1][1].startswith("cnn:")

    def cancel_in_trees(fraction: float, message: str) -> None:
        if message.startswith("lightgbm"):
            raise Cancelled

    with pytest.raises(Cancelled):
        train_hybrid(train, validation, progress=cancel_in_trees, **kwargs)
    with pytest.raises(ValueError, match="not a classification network"):
        train_hybrid(train, validation, n_classes=2, config=QUICK, backbone="unetpp")
