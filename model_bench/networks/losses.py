"""Dice + BCE, the loss the segmentation study trained UNet++ with.

BCE gives every pixel a gradient from the first step; soft Dice measures the overlap of the whole
mask and so does not let a small lesion drown in a background of negative pixels.
"""

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn


def soft_dice_loss(logits: torch.Tensor, target: torch.Tensor, smooth: float = 1.0) -> torch.Tensor:
    """1 − soft Dice of sigmoid(logits) against a 0/1 target, per image and class, then averaged.

    `smooth` keeps the ratio defined (and equal to 1) for an empty mask predicted empty, and
    softens the gradient on nearly empty masks.
    """
    probabilities = torch.sigmoid(logits)
    dims = tuple(range(2, logits.dim()))
    intersection = (probabilities * target).sum(dims)
    total = probabilities.sum(dims) + target.sum(dims)
    dice = (2 * intersection + smooth) / (total + smooth)
    return 1 - dice.mean()


def _as_target(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    # A mask of shape (N, H, W) is accepted for a one-class network (N, 1, H, W).
    if target.dim() == logits.dim() - 1:
        target = target.unsqueeze(1)
    if target.shape != logits.shape:
        raise ValueError(
            f"Mask shape {tuple(target.shape)} does not match the logits {tuple(logits.shape)}."
        )
    return target.to(logits.dtype)


class DiceBCELoss(nn.Module):
    """`bce_weight · BCE + dice_weight · (1 − soft Dice)` on logits.

    Given a list of logits (UNet++ with deep supervision while training), the loss of each output
    against the same mask is averaged, as in Zhou et al. (2018).
    """

    def __init__(self, bce_weight: float = 0.5, dice_weight: float = 0.5, smooth: float = 1.0):
        super().__init__()
        if bce_weight < 0 or dice_weight < 0 or bce_weight + dice_weight == 0:
            raise ValueError("The BCE and Dice weights must be non-negative and not both zero.")
        self.bce_weight = bce_weight
        self.dice_weight = dice_weight
        self.smooth = smooth

    def forward(
        self, logits: torch.Tensor | Sequence[torch.Tensor], target: torch.Tensor
    ) -> torch.Tensor:
        if isinstance(logits, list | tuple):
            if not logits:
                raise ValueError("No outputs to compute the loss of.")
            return torch.stack([self._single(output, target) for output in logits]).mean()
        return self._single(logits, target)

    def _single(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        target = _as_target(logits, target)
        bce = F.binary_cross_entropy_with_logits(logits, target)
        dice = soft_dice_loss(logits, target, self.smooth)
        return self.bce_weight * bce + self.dice_weight * dice
