"""Segmentation metrics: Dice and IoU per image for binary masks (any non-zero pixel is
foreground), their mean over images and its bootstrap interval (resampling images, or cases when
case ids are given: images of one case are not independent).

A prediction and a truth that are both empty agree perfectly: Dice and IoU are 1.0 (the image has
no lesion and none was found), rather than undefined, so such images count in the mean.
"""

import numpy as np

from model_bench.metrics.bootstrap import RESAMPLES, SEED, mean_with_interval


def _masks(predicted, truth) -> tuple[np.ndarray, np.ndarray]:
    predicted, truth = np.asarray(predicted) != 0, np.asarray(truth) != 0
    if predicted.shape != truth.shape:
        raise ValueError(f"mask of shape {predicted.shape} for a truth of shape {truth.shape}")
    return predicted, truth


def dice(predicted, truth) -> float:
    """2 |P ∩ T| / (|P| + |T|); 1.0 when both are empty."""
    predicted, truth = _masks(predicted, truth)
    total = int(predicted.sum()) + int(truth.sum())
    return 1.0 if total == 0 else 2 * int((predicted & truth).sum()) / total


def iou(predicted, truth) -> float:
    """|P ∩ T| / |P ∪ T|; 1.0 when both are empty."""
    predicted, truth = _masks(predicted, truth)
    union = int((predicted | truth).sum())
    return 1.0 if union == 0 else int((predicted & truth).sum()) / union


def segmentation_metrics(
    predicted_masks, true_masks, *, case_ids=None, resamples: int = RESAMPLES, seed: int = SEED
) -> dict:
    """{"metrics": {"dice": {...}, "iou": {...}}, "per_image": {"dice": [...], "iou": [...]},
    "n", "resamples"} (plus "n_cases" with case ids); masks may differ in size between images."""
    pairs = list(zip(predicted_masks, true_masks, strict=True))
    dices = [dice(p, t) for p, t in pairs]
    ious = [iou(p, t) for p, t in pairs]
    options = {"groups": case_ids, "resamples": resamples, "seed": seed}
    result = {
        "metrics": {
            "dice": mean_with_interval(dices, **options),
            "iou": mean_with_interval(ious, **options),
        },
        "per_image": {"dice": dices, "iou": ious},
        "n": len(pairs),
        "resamples": resamples,
    }
    if case_ids is not None:
        result["n_cases"] = int(np.unique(np.asarray(case_ids)).size)
    return result
