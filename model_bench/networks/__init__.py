"""The benchmark's reference networks, in plain PyTorch (no torchvision, timm or weights to fetch).

A pure package: it imports torch and NumPy only, never Django or another app, so that a worker, a
bench script or a notebook can build the same network from a job's configuration:

    model = build("repvgg", num_classes=2, width_multiplier=0.5)

Options are each network's keyword arguments (see its class).
"""

from collections.abc import Callable

from torch import nn

from model_bench.networks.classifiers import VGG, DenseNet, ResNet, ShuffleNetV2
from model_bench.networks.repvgg import RepVGG
from model_bench.networks.unetpp import UNetPlusPlus

_BUILDERS: dict[str, Callable[..., nn.Module]] = {
    "unetpp": UNetPlusPlus,
    "repvgg": RepVGG,
    "vgg": VGG,
    "resnet": ResNet,
    "densenet": DenseNet,
    "shufflenet": ShuffleNetV2,
}

NETWORKS: tuple[str, ...] = tuple(_BUILDERS)

# What each network's output is: per-pixel logits (N, classes, H, W) or per-image logits.
SEGMENTATION = "segmentation"
CLASSIFICATION = "classification"
KINDS: dict[str, str] = {
    name: SEGMENTATION if name == "unetpp" else CLASSIFICATION for name in NETWORKS
}


def build(name: str, *, num_classes: int, **options) -> nn.Module:
    """A new, randomly initialised network `name` with `num_classes` outputs (1 for a binary
    mask or a single logit)."""
    try:
        builder = _BUILDERS[name]
    except KeyError:
        raise ValueError(
            f"Unknown network {name!r}; choose one of {', '.join(NETWORKS)}."
        ) from None
    if num_classes < 1:
        raise ValueError("A network needs at least one output class.")
    return builder(num_classes=num_classes, **options)


def parameter_count(model: nn.Module, *, trainable_only: bool = False) -> int:
    """The number of parameters (weights and biases, not BN's running statistics)."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)


__all__ = ["CLASSIFICATION", "KINDS", "NETWORKS", "SEGMENTATION", "build", "parameter_count"]
