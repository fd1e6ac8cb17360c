"""A task's data as the trainers see it: ImageSets of the training and validation splits with
their labels (or masks), and the test split's images without any.

This is the only place a job reads a release's images, and it reads only through curation's
benchmark selectors, which give test rows without labels; test labels and test masks are read by
model_bench.services.evaluation alone, after training (tests/model_bench/test_sequestered.py).
"""

from dataclasses import dataclass

import numpy as np
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from curation import benchmark_selectors, mask_selectors
from model_bench.images import decode, resize_mask
from model_bench.models import BenchmarkTask
from model_bench.training.data import ImageSet

TRAINING_SPLITS = ("train", "validation")
# Masks the segmentation-guided pipeline uses for its region of interest (pre-trained on cervix
# masks, fine-tuned on lesion masks), whatever the task's label.
PIPELINE_MASK_KINDS = ("cervix", "lesion")


@dataclass
class TaskData:
    task: BenchmarkTask
    train: ImageSet
    validation: ImageSet
    test: ImageSet  # images only: no labels, no masks
    classes: list[str]
    # Masks on the training and validation images, by kind, for the pipeline's segmenter.
    masks: dict[str, tuple[ImageSet, ImageSet]]


def task_class(task: BenchmarkTask, value) -> int | None:
    """The index of the task's class a label value belongs to, or None (left out)."""
    return task.class_index(value)


def _image_set(task: BenchmarkTask, rows, *, labels: bool) -> ImageSet:
    size = task.image_size
    kept, label_values = [], []
    for row in rows:
        if labels:
            index = task_class(task, (row.labels or {}).get(task.label))
            if index is None:
                continue
            label_values.append(index)
        kept.append(row)
    images = np.zeros((len(kept), size, size, 3), dtype=np.uint8)
    for i, row in enumerate(kept):
        images[i] = decode(benchmark_selectors.image_bytes(row), size)
    return ImageSet(
        images=images,
        image_ids=[row.image_id for row in kept],
        case_codes=[row.case_code for row in kept],
        labels=np.asarray(label_values, dtype=np.int64) if labels else None,
        extra={"sizes": [(row.width, row.height) for row in kept]},
    )


def _with_masks(task: BenchmarkTask, rows, masks: dict[str, np.ndarray]) -> ImageSet:
    """The rows that have a mask, each with it resized to the task's input."""
    rows = [row for row in rows if row.image_id in masks]
    images = _image_set(task, rows, labels=False)
    size = task.image_size
    stacked = np.zeros((len(rows), size, size), dtype=np.uint8)
    for i, row in enumerate(rows):
        stacked[i] = resize_mask(masks[row.image_id], size)
    images.masks = stacked
    images.has_mask = np.ones(len(rows), dtype=bool)
    return images


def load(task: BenchmarkTask, *, pipeline_masks: bool = False) -> TaskData:
    """Everything a training job may see of its task."""
    version = task.version
    rows = {
        split: list(benchmark_selectors.split_images(version, split, steps=task.steps))
        for split in (*TRAINING_SPLITS, "test")
    }
    masks: dict[str, tuple[ImageSet, ImageSet]] = {}
    if task.is_segmentation:
        kinds = sorted({task.label, "cervix"}) if task.label != "cervix" else ["cervix"]
    else:
        kinds = list(PIPELINE_MASK_KINDS) if pipeline_masks else []
    for kind in kinds:
        found = mask_selectors.masks_for_release(version, kind, splits=TRAINING_SPLITS)
        masks[kind] = (
            _with_masks(task, rows["train"], found),
            _with_masks(task, rows["validation"], found),
        )
    if task.is_segmentation:
        train, validation = masks[task.label]
    else:
        train = _image_set(task, rows["train"], labels=True)
        validation = _image_set(task, rows["validation"], labels=True)
    test = _image_set(task, rows["test"], labels=False)
    if len(train) == 0:
        raise ValidationError(_("The task has no training images with a label or mask it can use."))
    if len(test) == 0:
        raise ValidationError(_("The task has no test images."))
    return TaskData(
        task=task, train=train, validation=validation, test=test, classes=list(task.classes),
        masks=masks,
    )  # fmt: skip
