"""Scoring a model's predictions on a task's test split: the only code of model_bench that reads
the sequestered test labels and test masks (tests/model_bench/test_sequestered.py checks that
nothing else does).

Classification is scored at image level and at case level (a case's score is the mean of its
images' scores: its images vote with equal weight), every metric with its 95% bootstrap interval;
image-level intervals resample cases, not images, since a case's images are not independent.
Segmentation is scored by Dice and IoU per image, at the image's own size, with the mean's
interval. A row is {"model", "level", "n_test", "n_cases", "metrics": {name: {value, ci_low,
ci_high}}, "confusion_matrix"}.
"""

from typing import Protocol

import cv2
import numpy as np
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from curation import benchmark_selectors, mask_selectors
from model_bench.metrics import classification, segmentation
from model_bench.metrics.bootstrap import RESAMPLES, SEED
from model_bench.models import BenchmarkTask


class TestSplit(Protocol):
    """What scoring reads of the test split: its images' ids and case codes, in order (the
    loader's ImageSet, or predictions.SplitItems; no pixels, so scoring needs no torch)."""

    image_ids: list[str]
    case_codes: list[str]


def _truth(task: BenchmarkTask, test: TestSplit) -> tuple[np.ndarray, np.ndarray]:
    """(indices of the test images that have a usable label, their class indices)."""
    values = benchmark_selectors.sequestered_labels(task.version, task.label)
    keep, labels = [], []
    for i, image_id in enumerate(test.image_ids):
        index = task.class_index(values.get(image_id))
        if index is not None:
            keep.append(i)
            labels.append(index)
    return np.asarray(keep, dtype=np.int64), np.asarray(labels, dtype=np.int64)


def _metrics_row(name: str, level: str, result: dict, n_cases: int) -> dict:
    return {
        "model": name,
        "level": level,
        "n_test": result["n"],
        "n_cases": n_cases,
        "metrics": result["metrics"],
        "confusion_matrix": result.get("confusion_matrix"),
    }


def score_classification(
    task: BenchmarkTask,
    test: TestSplit,
    predictions: dict[str, np.ndarray],
    *,
    seed: int,
    resamples: int = RESAMPLES,
) -> list[dict]:
    """Rows for each named prediction ((N, C) class probabilities on `test`'s images)."""
    keep, y = _truth(task, test)
    if keep.size == 0:
        raise ValidationError(_("No test image has a label of this task."))
    cases = np.asarray(test.case_codes)[keep]
    n_cases = int(np.unique(cases).size)
    binary = len(task.classes) == 2
    rows = []
    for name, probabilities in predictions.items():
        scores = np.asarray(probabilities, dtype=np.float64)[keep]
        scores = scores[:, 1] if binary else scores
        options = {"resamples": resamples, "seed": seed}
        metric = classification.binary_metrics if binary else classification.multiclass_metrics
        if not task.case_level:
            image_level = metric(y, scores, groups=cases, **options)
            rows.append(_metrics_row(name, "image", image_level, n_cases))
            if binary:
                rows[-1]["roc"] = classification.roc_curve_points(y, scores)
        case_level = classification.case_metrics(cases, y, scores, **options)
        rows.append(_metrics_row(name, "case", case_level, n_cases))
        if binary:
            rows[-1]["roc"] = classification.roc_curve_points(
                *classification.case_scores(cases, y, scores)[1:]
            )
    return rows


def score_segmentation(
    task: BenchmarkTask,
    test: TestSplit,
    predictions: dict[str, np.ndarray],
    *,
    seed: int,
    resamples: int = RESAMPLES,
    threshold: float = 0.5,
) -> list[dict]:
    """Rows for each named prediction ((N, S, S) mask probabilities on `test`'s images), scored
    against the test masks at each image's own size."""
    truth = mask_selectors.sequestered_masks(task.version, task.label)
    keep = [i for i, image_id in enumerate(test.image_ids) if image_id in truth]
    if not keep:
        raise ValidationError(_("No test image has a mask of this task."))
    cases = [test.case_codes[i] for i in keep]
    rows = []
    for name, probabilities in predictions.items():
        predicted, true = [], []
        for i in keep:
            mask = truth[test.image_ids[i]]
            height, width = mask.shape
            binary = (np.asarray(probabilities[i]) > threshold).astype(np.uint8)
            predicted.append(
                cv2.resize(binary, (width, height), interpolation=cv2.INTER_NEAREST) > 0
            )
            true.append(mask)
        result = segmentation.segmentation_metrics(
            predicted, true, case_ids=cases, resamples=resamples, seed=seed
        )
        rows.append(
            {
                "model": name,
                "level": "image",
                "n_test": result["n"],
                "n_cases": result.get("n_cases", 0),
                "metrics": result["metrics"],
            }
        )
    return rows


def score_predictions(
    task: BenchmarkTask, predictions, *, seed: int = SEED, resamples: int = RESAMPLES
) -> list[dict]:
    """Rows for submitted predictions (model_bench.services.predictions.Predictions, already
    validated): the same scoring as the reference models', so a submission and a reference
    model are compared on the same footing."""
    return score_classification(
        task,
        predictions.items,
        {"submission": predictions.probabilities},
        seed=seed,
        resamples=resamples,
    )


def score_masks(task: BenchmarkTask, submitted, *, seed: int = SEED, resamples: int = RESAMPLES):
    """Rows for submitted masks (model_bench.services.masks.SubmittedMasks, already validated:
    one boolean mask per test image at its own size), scored as the reference models' masks."""
    return score_segmentation(
        task, submitted.items, {"submission": submitted.masks}, seed=seed, resamples=resamples
    )
