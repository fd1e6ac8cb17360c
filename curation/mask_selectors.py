"""Reads of segmentation masks for the benchmark (model_bench): a release's masks per image.

An image's mask of a kind is its imported Mask (curation.services.masks) where it has one: a
mask drawn with care, outside the review screen, wins. Otherwise, where reviewers drew outlines
of that kind on it in submitted reviews, it is the majority of those reviewers: the pixels inside
the outlines of at least half of the reviewers who drew that kind on the image (each reviewer's
outlines of their latest submitted review unioned first, so a reviewer who drew three lesions
counts once, and a second round supersedes their first). Images with neither have no mask (not
an empty one: "no lesion" is only known where someone drew or imported it).

Masks are keyed by the release's image_id and have the bank image's size, Image.width ×
Image.height (the picture the right way up). The test split's masks are sequestered as its
labels are: `masks_for_release` refuses it, and only evaluation calls `sequestered_masks`.
"""

import io
from collections import defaultdict
from collections.abc import Iterable, Sequence

import numpy as np
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from PIL import Image as PILImage

from curation.models.masks import Mask
from curation.models.releases import ReleaseImage, ReleaseVersion
from curation.models.reviews import Outline, OutlineKind, ReviewStatus
from curation.outlines import rasterize
from imagebank.models import Image

SPLITS = ("train", "validation", "test")
SEQUESTERED = "test"
# Images looked up per query: well under SQLite's limit on a statement's variables.
CHUNK = 500


def mask_array(mask: Mask) -> np.ndarray:
    """The stored mask as a boolean array of shape (height, width)."""
    with default_storage.open(mask.storage_key, "rb") as handle:
        data = handle.read()
    with PILImage.open(io.BytesIO(data), formats=["PNG"]) as picture:
        array = np.asarray(picture.convert("L")) > 127
    if array.shape != (mask.height, mask.width):
        raise ValueError(
            f"stored mask {mask.storage_key} is {array.shape[1]}×{array.shape[0]}, "
            f"its row says {mask.width}×{mask.height}"
        )
    return array


def masks_for_release(
    version: ReleaseVersion, kind: str, *, splits: Sequence[str] = ("train", "validation")
) -> dict[str, np.ndarray]:
    """Release image_id → boolean mask (height, width) of `kind`, for the version's images of
    `splits` that have one. Training and validation only: asking for the test split is a
    ValueError (its masks are read by evaluation, through `sequestered_masks`)."""
    splits = (splits,) if isinstance(splits, str) else tuple(splits)
    if SEQUESTERED in splits:
        raise ValueError(
            "the test split's masks are sequestered: only evaluation reads them "
            "(curation.mask_selectors.sequestered_masks)"
        )
    unknown = set(splits) - set(SPLITS)
    if unknown:
        raise ValueError(f"unknown splits: {', '.join(sorted(unknown))}")
    return _release_masks(version, kind, splits)


def sequestered_masks(version: ReleaseVersion, kind: str) -> dict[str, np.ndarray]:
    """The test split's masks of `kind` (as `masks_for_release`). Only evaluation may call this:
    a training job, its data loader or anything a researcher sees must never reach the test
    split's masks, as it never reaches its labels (SequesteredLabel)."""
    return _release_masks(version, kind, (SEQUESTERED,))


def mask_counts(version: ReleaseVersion) -> dict[str, dict[str, int]]:
    """{split: {kind: images with a mask of that kind}} for the version (no pixels read): an
    imported mask or a submitted reviewer's outline counts."""
    counts = {split: dict.fromkeys(OutlineKind.values, 0) for split in SPLITS}
    rows = _release_rows(version, SPLITS)
    source_ids = list({source for _, source, _ in rows})
    with_mask: set[tuple[int, str]] = set()
    for ids in _chunks(source_ids):
        with_mask.update(Mask.objects.filter(image_id__in=ids).values_list("image_id", "kind"))
        with_mask.update(
            Outline.objects.filter(image_id__in=ids, review__status=ReviewStatus.SUBMITTED)
            .values_list("image_id", "kind")
            .distinct()
        )
    for _, source, split in rows:
        for kind in OutlineKind.values:
            if (source, kind) in with_mask:
                counts[split][kind] += 1
    return counts


def _release_rows(version: ReleaseVersion, splits: Iterable[str]) -> list[tuple[str, int, str]]:
    return list(
        ReleaseImage.objects.filter(version=version, split__in=list(splits))
        .order_by("image_id")
        .values_list("image_id", "source_image_id", "split")
    )


def _chunks(ids: list[int]) -> Iterable[list[int]]:
    for start in range(0, len(ids), CHUNK):
        yield ids[start : start + CHUNK]


def _release_masks(version: ReleaseVersion, kind: str, splits: tuple[str, ...]):
    if kind not in OutlineKind.values:
        raise ValueError(f"unknown mask kind {kind!r}: one of {', '.join(OutlineKind.values)}")
    rows = _release_rows(version, splits)
    by_source = {source: None for _, source, _ in rows}
    for ids in _chunks(list(by_source)):
        for mask in Mask.objects.filter(image_id__in=ids, kind=kind):
            by_source[mask.image_id] = mask_array(mask)
    drawn = _outline_masks([source for source, mask in by_source.items() if mask is None], kind)
    by_source.update(drawn)
    return {
        image_id: by_source[source] for image_id, source, _ in rows if by_source[source] is not None
    }


def _outline_masks(image_ids: list[int], kind: str) -> dict[int, np.ndarray]:
    """Image pk → the reviewers' majority mask of `kind`, for those of `image_ids` with outlines."""
    result: dict[int, np.ndarray] = {}
    for ids in _chunks(image_ids):
        outlines = (
            Outline.objects.filter(
                image_id__in=ids, kind=kind, review__status=ReviewStatus.SUBMITTED
            )
            .order_by("image_id", "pk")
            .values_list(
                "image_id", "review_id", "review__reviewer_id", "review__submitted_at", "points"
            )
        )
        # image → reviewer → (their latest review with outlines, its outlines' points)
        latest: dict[int, dict[int, tuple]] = defaultdict(dict)
        for image_id, review_id, reviewer_id, submitted_at, points in outlines:
            order = (submitted_at, review_id)
            held = latest[image_id].get(reviewer_id)
            if held is None or order > held[0]:
                latest[image_id][reviewer_id] = (order, [points])
            elif order == held[0]:
                held[1].append(points)
        sizes = {
            pk: (width, height)
            for pk, width, height in Image.objects.filter(pk__in=list(latest)).values_list(
                "pk", "width", "height"
            )
        }
        for image_id, reviewers in latest.items():
            width, height = sizes.get(image_id, (None, None))
            if not width or not height:
                continue
            mask = _majority([p for _, p in reviewers.values()], width, height)
            if mask is not None:
                result[image_id] = mask
    return result


def _majority(reviewers: list[list], width: int, height: int) -> np.ndarray | None:
    votes = np.zeros((height, width), dtype=np.uint16)
    counted = 0
    for polygons in reviewers:
        drawn = np.zeros((height, width), dtype=bool)
        for points in polygons:
            try:
                drawn |= rasterize(points, width, height)
            except (ValidationError, ValueError):
                continue  # checked when drawn; an outline that no longer fits is left out
        votes += drawn
        counted += 1
    if not counted:
        return None
    # At least half of the reviewers who drew this kind: 2 × votes ≥ reviewers.
    return 2 * votes.astype(np.uint32) >= counted
