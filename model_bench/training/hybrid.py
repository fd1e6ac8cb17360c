"""CelInsight's hybrid: a small CNN (ResNet- or ShuffleNet-like, model_bench.networks) trained on
the task, whose globally pooled features then feed gradient-boosted trees (LightGBM).

The CNN is trained by train_classifier (class-weighted cross-entropy, best validation epoch kept);
its head is used only for that training: the trees replace it. They are fitted on the pooled
features of the training split, with early stopping on the validation split's when there is one,
with settings meant for tens to hundreds of images and made deterministic (one thread, row-wise
histograms, seeded).

A HybridModel pickles (joblib or pickle) as its CNN's name, options and state_dict plus the
booster's text model, never as live torch or LightGBM objects, so that an artefact loads on a
machine without the GPU it was trained on; `save` and `load` wrap joblib.
"""

from dataclasses import dataclass, field
from typing import IO

import joblib
import lightgbm as lgb
import numpy as np
import torch
from torch import nn

from model_bench.networks import CLASSIFICATION, KINDS, build
from model_bench.training.classifiers import TrainedClassifier, class_weights, train_classifier
from model_bench.training.data import ImageSet, batches, to_tensor
from model_bench.training.loop import Progress, TrainConfig, no_progress

# Small CNNs for a few hundred images at most (the networks' own defaults are ResNet-18 and
# ShuffleNet V2 1.0×); `options` passed to train_hybrid update these.
BACKBONE_DEFAULTS: dict[str, dict] = {
    "resnet": {"blocks": (1, 1, 1, 1), "width_multiplier": 0.25},
    "shufflenet": {"units": (2, 4, 2), "width_multiplier": 0.5, "final_width": 256},
}

# LightGBM for tiny tabular data: shallow trees, small leaves allowed, a slow learning rate, L2;
# deterministic (single thread, row-wise, seeded) so that a seed gives the same model twice.
LGBM_PARAMS: dict = {
    "learning_rate": 0.05,
    "num_leaves": 7,
    "max_depth": 4,
    "min_child_samples": 3,
    "min_data_in_bin": 1,
    "feature_fraction": 0.8,
    "lambda_l2": 1.0,
    "deterministic": True,
    "force_row_wise": True,
    "num_threads": 1,
    "verbose": -1,
}
NUM_BOOST_ROUND = 300
EARLY_STOPPING_ROUNDS = 30
# Share of the progress bar the CNN's training takes; feature extraction and the trees the rest.
CNN_SHARE = 0.8


def extract_features(
    network: nn.Module, images: np.ndarray, *, batch_size: int = 32, device: str = "cpu"
) -> np.ndarray:
    """The network's pooled features (N, F) of uint8 images (N, S, S, 3), in eval mode."""
    network.eval()
    out = []
    with torch.no_grad():
        for index in batches(len(images), batch_size):
            out.append(network.features(to_tensor(images[index]).to(device)).float().cpu().numpy())
    if not out:
        return np.zeros((0, int(getattr(network, "num_features", 0))), dtype=np.float32)
    return np.concatenate(out)


@dataclass
class HybridModel:
    """The trained CNN (`cnn.network` is what the ONNX export takes) and the booster on its
    features. `history`: the CNN's epochs ({"stage": "cnn", "epoch", "train_loss", "val_loss", …})
    then the trees' curve ({"stage": "lightgbm", "iteration", "val_loss"}, or "train_loss"
    without a validation split)."""

    cnn: TrainedClassifier
    booster: lgb.Booster
    n_classes: int
    best_iteration: int
    history: list[dict] = field(default_factory=list)
    batch_size: int = 32
    device: str = "cpu"

    def predict_proba(self, images: np.ndarray) -> np.ndarray:
        """Class probabilities (N, n_classes) of uint8 images (N, S, S, 3)."""
        x = extract_features(
            self.cnn.network, images, batch_size=self.batch_size, device=self.device
        )
        return self._proba(x)

    def _proba(self, x: np.ndarray) -> np.ndarray:
        if not len(x):
            return np.zeros((0, self.n_classes), dtype=np.float64)
        raw = self.booster.predict(x, num_iteration=self.best_iteration or None)
        if self.n_classes == 2:
            return np.stack([1.0 - raw, raw], axis=1)
        return np.asarray(raw).reshape(len(x), self.n_classes)

    # Pickling: the CNN as a state_dict on the CPU, the booster as its text model.
    def __getstate__(self) -> dict:
        state = {
            key: value for key, value in self.__dict__.items() if key not in {"cnn", "booster"}
        }
        state["cnn"] = {
            "name": self.cnn.name,
            "options": self.cnn.options,
            "history": self.cnn.history,
            "num_classes": self.cnn.network.head.out_features,
            "state_dict": {k: v.detach().cpu() for k, v in self.cnn.network.state_dict().items()},
        }
        state["booster"] = self.booster.model_to_string()
        state["device"] = "cpu"
        return state

    def __setstate__(self, state: dict) -> None:
        cnn = state.pop("cnn")
        network = build(cnn["name"], num_classes=cnn["num_classes"], **cnn["options"])
        network.load_state_dict(cnn["state_dict"])
        network.eval()
        self.__dict__.update(state)
        self.cnn = TrainedClassifier(cnn["name"], network, cnn["history"], cnn["options"])
        self.booster = lgb.Booster(model_str=state["booster"])

    def to(self, device: str) -> "HybridModel":
        """Run the CNN on `device` ("cpu", "cuda") from now on; the trees stay on the CPU."""
        self.cnn.network.to(device)
        self.device = device
        return self

    def save(self, target: "str | IO[bytes]") -> None:
        joblib.dump(self, target)

    @staticmethod
    def load(source: "str | IO[bytes]") -> "HybridModel":
        """Only for files the bank wrote itself: unpickling runs code."""
        model = joblib.load(source)
        if not isinstance(model, HybridModel):
            raise TypeError(f"expected a HybridModel, found {type(model).__name__}")
        return model


def _progress_callback(progress: Progress, start: float, rounds: int):
    # Called by LightGBM after each boosting round; a Cancelled raised here stops lgb.train.
    def callback(env: lgb.callback.CallbackEnv) -> None:
        done = (env.iteration - env.begin_iteration + 1) / rounds
        progress(start + (1.0 - start) * done, f"lightgbm: round {env.iteration + 1}/{rounds}")

    return callback


def train_hybrid(
    train: ImageSet,
    validation: ImageSet | None,
    *,
    n_classes: int,
    config: TrainConfig,
    backbone: str = "resnet",
    options: dict | None = None,
    progress: Progress = no_progress,
) -> HybridModel:
    """Train the CNN `backbone` on the task, then LightGBM on its pooled features.

    `options` update BACKBONE_DEFAULTS[backbone] (any classification network of
    model_bench.networks may be the backbone; those without defaults use their own). Progress:
    the CNN's training fills the first 80%, the trees the rest; Cancelled from `progress` stops
    either stage.
    """
    if KINDS.get(backbone) != CLASSIFICATION:
        raise ValueError(f"{backbone!r} is not a classification network")
    if train.labels is None:
        raise ValueError("the training set has no labels")
    if n_classes < 2:
        raise ValueError("a classifier needs at least two classes")
    merged = {**BACKBONE_DEFAULTS.get(backbone, {}), **(options or {})}

    def cnn_progress(fraction: float, message: str) -> None:
        progress(CNN_SHARE * fraction, f"cnn: {message}")

    cnn = train_classifier(
        backbone,
        train,
        validation,
        n_classes=n_classes,
        config=config,
        progress=cnn_progress,
        options=merged,
    )
    progress(CNN_SHARE, "features")
    extract = dict(batch_size=config.batch_size, device=config.device)
    x_train = extract_features(cnn.network, train.images, **extract)
    y_train = train.labels.astype(np.int64)
    # The CNN's loss is class-weighted; the trees get the same inverse-frequency weights.
    weights = class_weights(y_train, n_classes).numpy().astype(np.float64)[y_train]
    has_validation = validation is not None and len(validation) and validation.labels is not None

    params = {**LGBM_PARAMS, "seed": config.seed}
    if n_classes == 2:
        params.update(objective="binary", metric="binary_logloss")
    else:
        params.update(objective="multiclass", num_class=n_classes, metric="multi_logloss")
    dtrain = lgb.Dataset(x_train, label=y_train, weight=weights, free_raw_data=False)
    evals: dict = {}
    callbacks = [
        lgb.record_evaluation(evals),
        _progress_callback(progress, CNN_SHARE + 0.05, NUM_BOOST_ROUND),
    ]
    if has_validation:
        x_val = extract_features(cnn.network, validation.images, **extract)
        dvalid = lgb.Dataset(x_val, label=validation.labels.astype(np.int64), reference=dtrain)
        valid_sets, valid_names, curve_key = [dvalid], ["validation"], "val_loss"
        callbacks.append(lgb.early_stopping(EARLY_STOPPING_ROUNDS, verbose=False))
    else:
        valid_sets, valid_names, curve_key = [dtrain], ["train"], "train_loss"
    booster = lgb.train(
        params,
        dtrain,
        num_boost_round=NUM_BOOST_ROUND,
        valid_sets=valid_sets,
        valid_names=valid_names,
        callbacks=callbacks,
    )
    curve = next(iter(evals[valid_names[0]].values()))
    best_iteration = int(booster.best_iteration or 0) if has_validation else 0
    history = [{"stage": "cnn", **row} for row in cnn.history]
    history += [
        {"stage": "lightgbm", "iteration": i + 1, curve_key: float(loss)}
        for i, loss in enumerate(curve)
    ]
    progress(1.0, "done")
    return HybridModel(
        cnn=cnn,
        booster=booster,
        n_classes=n_classes,
        best_iteration=best_iteration,
        history=history,
        batch_size=config.batch_size,
        device=config.device,
    )
