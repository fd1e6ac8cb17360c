"""UNet++ segmenters trained on a task's masks, with Dice + BCE, and the study's "pre-training".

The Bengbu study pre-trained its UNet++ before training it on lesions. The bank has no outside
data to pre-train on, but it has more cervix outlines than lesion outlines, and the cervix is where
lesions are: `pretrain_and_finetune` trains on the cervix masks first, then fine-tunes those weights
on the lesion masks.

Only images that have a mask train or validate a segmenter: an image without an outline is not an
image whose mask is empty (nobody drew it), so it must not teach the network "no lesion here".
"""

from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from model_bench.metrics.segmentation import dice
from model_bench.networks import build
from model_bench.networks.losses import DiceBCELoss
from model_bench.training.data import ImageSet, batches, to_tensor
from model_bench.training.loop import Progress, TrainConfig, fit, no_progress

# Defaults under the caller's options. Deep supervision is UNet++'s own training recipe (one loss
# per nested decoder, averaged); padding lets any square size in, not only multiples of 2^depth.
SEGMENTER_DEFAULTS: dict = {"deep_supervision": True, "pad_input": True}
THRESHOLD = 0.5  # probability above which a pixel is foreground, for val_dice and the regions


@dataclass
class TrainedSegmenter:
    network: nn.Module
    history: list[dict] = field(default_factory=list)
    options: dict = field(default_factory=dict)  # build("unetpp", num_classes=1, **options)


@dataclass
class FineTunedSegmenter:
    """The lesion segmenter fine-tuned from cervix weights, with the history of each stage."""

    network: nn.Module
    pretrain_history: list[dict] = field(default_factory=list)
    finetune_history: list[dict] = field(default_factory=list)
    options: dict = field(default_factory=dict)


def segmenter_options(options: dict | None) -> dict:
    """The UNet++ options a segmenter is built with: SEGMENTER_DEFAULTS under `options`."""
    return {**SEGMENTER_DEFAULTS, **(options or {})}


def build_segmenter(options: dict | None = None) -> nn.Module:
    """A new one-channel UNet++ with `segmenter_options(options)` (load a state_dict into it)."""
    return build("unetpp", num_classes=1, **segmenter_options(options))


def with_masks(images: ImageSet | None) -> ImageSet | None:
    """The images of `images` that have a mask, or None when none has."""
    if images is None or images.masks is None or images.has_mask is None:
        return None
    keep = np.flatnonzero(np.asarray(images.has_mask, dtype=bool))
    return images.subset(keep) if keep.size else None


def mask_count(images: ImageSet | None) -> int:
    masked = with_masks(images)
    return 0 if masked is None else len(masked)


def flip_pairs(
    x: torch.Tensor, y: torch.Tensor, generator: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """Each image and its mask mirrored left-right together with probability one half (seeded).

    Left-right only: a colposcopic view has an up and a down (the anterior lip on top), while its
    left and right swap with the speculum's angle, so a mirrored image is one the bank could hold.
    """
    flip = torch.rand(len(x), generator=generator) < 0.5
    if flip.any():
        x, y = x.clone(), y.clone()
        x[flip] = torch.flip(x[flip], dims=[3])
        y[flip] = torch.flip(y[flip], dims=[2])
    return x, y


def train_segmenter(
    train: ImageSet,
    validation: ImageSet | None,
    *,
    config: TrainConfig,
    options: dict | None = None,
    init: dict | None = None,
    progress: Progress = no_progress,
) -> TrainedSegmenter:
    """Train a one-channel UNet++ on `train`'s masks (images without one left out), keeping the
    epoch with the lowest validation loss; `init` is a state_dict to start from (fine-tuning).

    Each epoch reports val_loss (Dice + BCE) and val_dice (mean Dice of the masks thresholded at
    0.5, model_bench.metrics.segmentation) when the validation split has masks.
    """
    masked = with_masks(train)
    if masked is None:
        raise ValueError("No training image has a mask: a segmenter needs at least one.")
    options = segmenter_options(options)
    torch.manual_seed(config.seed)
    network = build_segmenter(options)
    if init is not None:
        network.load_state_dict(init)
    network.to(config.device)
    loss_fn = DiceBCELoss()
    augment = torch.Generator().manual_seed(config.seed + 1)
    x_all = to_tensor(masked.images)
    y_all = torch.from_numpy(masked.masks.astype(np.float32))

    def train_step(net: nn.Module, index) -> torch.Tensor:
        x, y = flip_pairs(x_all[index], y_all[index], augment)
        return loss_fn(net(x.to(config.device)), y.to(config.device))

    validate = None
    masked_val = with_masks(validation)
    if masked_val is not None:
        x_val = to_tensor(masked_val.images)
        y_val = torch.from_numpy(masked_val.masks.astype(np.float32))

        def validate(net: nn.Module) -> dict:
            total, dices = 0.0, []
            for index in batches(len(x_val), config.batch_size):
                logits = net(x_val[index].to(config.device))
                target = y_val[index].to(config.device)
                total += float(loss_fn(logits, target)) * len(index)
                predicted = (torch.sigmoid(logits[:, 0]) > THRESHOLD).cpu().numpy()
                dices.extend(
                    dice(p, t) for p, t in zip(predicted, y_val[index].numpy(), strict=True)
                )
            return {"val_loss": total / len(x_val), "val_dice": float(np.mean(dices))}

    history = fit(
        network,
        n_train=len(masked),
        train_step=train_step,
        validate=validate,
        config=config,
        progress=progress,
        generator=torch.Generator().manual_seed(config.seed),
    )
    return TrainedSegmenter(network=network, history=history, options=options)


def stage_progress(progress: Progress, start: float, share: float, label: str) -> Progress:
    """A progress callback for one stage of a longer training: its fractions mapped onto
    [start, start + share] of `progress`, its messages prefixed by `label`."""

    def report(fraction: float, message: str) -> None:
        progress(start + share * fraction, f"{label}: {message}")

    return report


def pretrain_and_finetune(
    cervix_train: ImageSet,
    cervix_val: ImageSet | None,
    lesion_train: ImageSet,
    lesion_val: ImageSet | None,
    *,
    config: TrainConfig,
    options: dict | None = None,
    progress: Progress = no_progress,
) -> FineTunedSegmenter:
    """Train on the cervix masks, then fine-tune those weights on the lesion masks.

    Progress is split between the two stages in proportion to their masked training images (the
    batches each stage runs per epoch), so that the bar moves at an even pace.
    """
    n_cervix, n_lesion = mask_count(cervix_train), mask_count(lesion_train)
    if n_cervix == 0 or n_lesion == 0:
        raise ValueError(
            "Pre-training needs cervix masks and fine-tuning lesion masks; "
            f"got {n_cervix} cervix and {n_lesion} lesion training masks."
        )
    share = n_cervix / (n_cervix + n_lesion)
    pretrained = train_segmenter(
        cervix_train,
        cervix_val,
        config=config,
        options=options,
        progress=stage_progress(progress, 0.0, share, "pre-training on cervix masks"),
    )
    finetuned = train_segmenter(
        lesion_train,
        lesion_val,
        config=config,
        options=pretrained.options,
        init=pretrained.network.state_dict(),
        progress=stage_progress(progress, share, 1.0 - share, "fine-tuning on lesion masks"),
    )
    return FineTunedSegmenter(
        network=finetuned.network,
        pretrain_history=pretrained.history,
        finetune_history=finetuned.history,
        options=finetuned.options,
    )


def predict_masks(
    network: nn.Module, images: np.ndarray, *, batch_size: int = 32, device: str = "cpu"
) -> np.ndarray:
    """Foreground probabilities, float32 (N, S, S), of uint8 images (N, S, S, 3)."""
    network.eval()
    out = []
    with torch.no_grad():
        for index in batches(len(images), batch_size):
            logits = network(to_tensor(images[index]).to(device))
            out.append(torch.sigmoid(logits[:, 0].float()).cpu().numpy())
    if not out:
        return np.zeros((0, *images.shape[1:3]), dtype=np.float32)
    return np.concatenate(out).astype(np.float32, copy=False)
