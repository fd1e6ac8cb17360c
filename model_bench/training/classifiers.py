"""A CNN classifier trained on a task: any classification network of model_bench.networks
(RepVGG, VGG, ResNet, DenseNet, ShuffleNet), with class-weighted cross-entropy (the bank's
labels are imbalanced) and random horizontal flips.
"""

from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from model_bench.networks import build
from model_bench.training.data import ImageSet, batches, to_tensor
from model_bench.training.loop import Progress, TrainConfig, fit, no_progress


@dataclass
class TrainedClassifier:
    name: str
    network: nn.Module
    history: list[dict] = field(default_factory=list)
    options: dict = field(default_factory=dict)


def class_weights(labels: np.ndarray, n_classes: int) -> torch.Tensor:
    """Inverse-frequency weights, normalised to a mean of 1 (a class absent gets weight 1)."""
    counts = np.bincount(labels, minlength=n_classes).astype(np.float64)
    weights = np.where(counts > 0, counts.sum() / np.maximum(counts, 1) / n_classes, 1.0)
    return torch.tensor(weights / weights.mean(), dtype=torch.float32)


def flip_some(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Each image flipped left-right with probability one half (seeded)."""
    flip = torch.rand(len(x), generator=generator) < 0.5
    if flip.any():
        x = x.clone()
        x[flip] = torch.flip(x[flip], dims=[3])
    return x


def predict_proba(
    network: nn.Module, images: np.ndarray, *, batch_size: int = 32, device: str = "cpu"
) -> np.ndarray:
    """Class probabilities (N, C) of uint8 images (N, S, S, 3)."""
    network.eval()
    out = []
    with torch.no_grad():
        for index in batches(len(images), batch_size):
            logits = network(to_tensor(images[index]).to(device))
            out.append(torch.softmax(logits.float(), dim=1).cpu().numpy())
    if not out:
        return np.zeros((0, 0), dtype=np.float32)
    return np.concatenate(out)


def train_classifier(
    name: str,
    train: ImageSet,
    validation: ImageSet | None,
    *,
    n_classes: int,
    config: TrainConfig,
    progress: Progress = no_progress,
    options: dict | None = None,
) -> TrainedClassifier:
    """Train network `name` (model_bench.networks.build with `options`) on `train`'s labels,
    keeping the epoch with the lowest validation loss."""
    if train.labels is None:
        raise ValueError("the training set has no labels")
    options = dict(options or {})
    torch.manual_seed(config.seed)
    network = build(name, num_classes=n_classes, **options).to(config.device)
    weights = class_weights(train.labels, n_classes).to(config.device)
    loss_fn = nn.CrossEntropyLoss(weight=weights)
    augment = torch.Generator().manual_seed(config.seed + 1)
    x_all = to_tensor(train.images)
    y_all = torch.from_numpy(train.labels.astype(np.int64))

    def train_step(net: nn.Module, index) -> torch.Tensor:
        x = flip_some(x_all[index], augment).to(config.device)
        return loss_fn(net(x), y_all[index].to(config.device))

    validate = None
    if validation is not None and len(validation) and validation.labels is not None:
        x_val = to_tensor(validation.images)
        y_val = torch.from_numpy(validation.labels.astype(np.int64))

        def validate(net: nn.Module) -> dict:
            total, correct = 0.0, 0
            for index in batches(len(x_val), config.batch_size):
                logits = net(x_val[index].to(config.device))
                target = y_val[index].to(config.device)
                total += float(loss_fn(logits, target)) * len(index)
                correct += int((logits.argmax(1) == target).sum())
            return {"val_loss": total / len(x_val), "val_accuracy": correct / len(x_val)}

    history = fit(
        network,
        n_train=len(train),
        train_step=train_step,
        validate=validate,
        config=config,
        progress=progress,
        generator=torch.Generator().manual_seed(config.seed),
    )
    return TrainedClassifier(name=name, network=network, history=history, options=options)
