"""Reading and validating a ZIP of mask PNGs submitted for a segmentation task (issue 15).

One PNG per test image, named after the release manifest's `image_id` (`<image_id>.png`, in
any folder of the archive), at the image's own size (its width and height in the manifest),
greyscale or 1-bit, every pixel 0 (background) or 1, or 0 or 255. Every test image needs its
mask, an empty one included, so that the archive cannot tell which test images have a true mask.

The archive is opened by imagebank.ingest.safe_zip, which refuses what no mask archive holds
(paths leaving it, links, encrypted members, bombs); every other problem is reported with the
member it is about, not only the first. Nothing here reads a test mask: scoring is evaluation's.
"""

import io
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from django.conf import settings
from django.utils.translation import gettext as _
from PIL import Image as PILImage

from imagebank.ingest import safe_zip
from model_bench.models import BenchmarkTask
from model_bench.services.predictions import (
    Errors,
    InvalidPredictions,
    PredictionError,
    SplitItems,
    test_items,
)

DEFAULT_MAX_BYTES = 100 * 1024 * 1024
MASK_MODES = ("1", "L", "I;16", "I")
# A mask is at most this many pixels: a colposcope's image is far below it; a PNG that
# claims more is a decompression bomb, refused before it is decoded.
MAX_MASK_PIXELS = 60_000_000


@dataclass(frozen=True)
class SubmittedMasks:
    """Valid masks, aligned with `items`: one boolean array per test image, at its size."""

    items: SplitItems
    masks: list[np.ndarray]


def max_bytes() -> int:
    return int(getattr(settings, "SUBMISSION_MAX_ZIP_BYTES", DEFAULT_MAX_BYTES))


def _limits(items: SplitItems) -> safe_zip.ZipLimits:
    # Room for a README or two beside the masks; each member at most a large PNG.
    return safe_zip.ZipLimits(
        max_members=len(items.image_ids) + 50,
        max_total_bytes=4 * max_bytes(),
        max_member_bytes=max_bytes(),
        max_ratio=int(getattr(settings, "INGEST_ZIP_MAX_RATIO", 100)),
    )


def _mask(path: Path, name: str, size, errors: Errors) -> np.ndarray | None:
    """The member's mask as booleans, or None with its problems in `errors`."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", PILImage.DecompressionBombWarning)
            with PILImage.open(io.BytesIO(path.read_bytes())) as picture:
                if picture.format != "PNG":
                    errors.add(None, None, _("The file is not a PNG image."), name)
                    return None
                if picture.width * picture.height > MAX_MASK_PIXELS:
                    errors.add(None, None, _("The image is too large to be a mask."), name)
                    return None
                width, height = size
                if width and height and picture.size != (width, height):
                    errors.add(
                        None,
                        None,
                        _("The mask is %(found)s pixels; its image is %(wanted)s.")
                        % {
                            "found": f"{picture.width}×{picture.height}",
                            "wanted": f"{width}×{height}",
                        },
                        name,
                    )
                    return None
                if picture.mode not in MASK_MODES:
                    errors.add(
                        None,
                        None,
                        _("A mask has one channel (greyscale or 1-bit); this one is %(mode)s.")
                        % {"mode": picture.mode},
                        name,
                    )
                    return None
                pixels = np.asarray(picture)
    except (OSError, SyntaxError, ValueError, PILImage.DecompressionBombError,
            PILImage.DecompressionBombWarning):  # fmt: skip
        errors.add(None, None, _("The PNG cannot be read."), name)
        return None
    if pixels.dtype == bool:
        return pixels
    values = np.unique(pixels)
    if not (set(values.tolist()) <= {0, 1} or set(values.tolist()) <= {0, 255}):
        shown = ", ".join(str(v) for v in values[:6].tolist())
        errors.add(
            None,
            None,
            _("A mask's pixels are 0 and 1 (or 0 and 255); this one has %(values)s.")
            % {"values": shown},
            name,
        )
        return None
    return pixels > 0


def parse(task: BenchmarkTask, data: bytes, items: SplitItems | None = None) -> SubmittedMasks:
    """The masks of the ZIP `data` for `task`'s test split, or InvalidPredictions with every
    error, each naming the member it is about."""
    if not task.is_segmentation:
        raise InvalidPredictions(
            [PredictionError(None, None, _("A classification task takes a predictions CSV."))]
        )
    if len(data) > max_bytes():
        limit = max_bytes() // (1024 * 1024)
        raise InvalidPredictions(
            [
                PredictionError(
                    None, None, _("The file is larger than %(limit)s MB.") % {"limit": limit}
                )
            ]
        )
    if data[:4] not in (b"PK\x03\x04", b"PK\x05\x06"):
        raise InvalidPredictions(
            [PredictionError(None, None, _("The file is not a ZIP archive of mask PNGs."))]
        )
    items = items or test_items(task)
    known = items.sizes or [(None, None)] * len(items.image_ids)
    sizes = dict(zip(items.image_ids, known, strict=True))
    errors = Errors()
    found: dict[str, np.ndarray] = {}
    with tempfile.TemporaryDirectory(prefix="masks-") as folder:
        archive = Path(folder) / "masks.zip"
        archive.write_bytes(data)
        try:
            members = safe_zip.extract(archive, Path(folder) / "members", limits=_limits(items))
        except safe_zip.UnsafeArchive as refused:
            raise InvalidPredictions([PredictionError(None, None, str(refused))]) from refused
        root = Path(folder) / "members"
        seen: dict[str, str] = {}
        for path in sorted(members):
            name = str(path.relative_to(root))
            if not path.name.lower().endswith(".png"):
                errors.add(None, None, _("Only PNG masks, named <image_id>.png."), name)
                continue
            image_id = path.name[: -len(".png")]
            if image_id not in sizes:
                message = _("“%(id)s” is not in the task's test split.") % {"id": image_id[:80]}
                errors.add(None, None, message, name)
                continue
            if image_id in seen:
                errors.add(
                    None, None, _("“%(id)s” has a mask already (%(first)s).")
                    % {"id": image_id, "first": seen[image_id]}, name,
                )  # fmt: skip
                continue
            seen[image_id] = name
            mask = _mask(path, name, sizes[image_id], errors)
            if mask is not None:
                found[image_id] = mask
    for image_id in items.image_ids:
        if image_id not in seen:
            errors.add(None, None, _("“%(id)s” of the test split has no mask.") % {"id": image_id})
    if errors:
        raise InvalidPredictions(errors.result())
    return SubmittedMasks(items=items, masks=[found[image_id] for image_id in items.image_ids])
