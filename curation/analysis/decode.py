"""One cheap decode of an image at reduced resolution.

JPEG's draft mode decodes straight from the DCT coefficients at 1/2, 1/4 or 1/8 of the size,
which is much cheaper than a full decode followed by a resize; other formats are decoded in full
and then reduced. The full size (after EXIF orientation) is kept beside the reduced pixels.
"""

import io
import warnings
from dataclasses import dataclass

import cv2
import numpy as np
from PIL import Image, UnidentifiedImageError

# Draft mode may stop at a long side down to this fraction of `max_side` (and then no resize
# is needed): the DCT scaling is already a clean reduction, and every measure is scale-aware.
DRAFT_SLACK = 0.75
# EXIF orientations that swap width and height, and how to undo each orientation.
_TRANSPOSED = {5, 6, 7, 8}
_T = Image.Transpose
_TRANSPOSE = {
    2: (_T.FLIP_LEFT_RIGHT,),
    3: (_T.ROTATE_180,),
    4: (_T.FLIP_TOP_BOTTOM,),
    5: (_T.TRANSPOSE,),
    6: (_T.ROTATE_270,),
    7: (_T.TRANSVERSE,),
    8: (_T.ROTATE_90,),
}


class Undecodable(ValueError):
    """The file is not an image Pillow can decode."""


@dataclass(frozen=True)
class Decoded:
    rgb: np.ndarray  # H x W x 3, uint8, long side <= max_side
    width: int  # the full image, after EXIF orientation
    height: int


def _orientation(image: Image.Image) -> int:
    try:
        return int(image.getexif().get(0x0112, 1) or 1)
    except Exception:  # a broken EXIF block must not make the image undecodable
        return 1


def decode_reduced(data: bytes, max_side: int) -> Decoded:
    """The image as RGB with its long side at most `max_side` (and, for larger images, at least
    DRAFT_SLACK of it), and its full size after EXIF orientation."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            full_w, full_h = image.size
            orientation = _orientation(image)
            if image.format == "JPEG":
                floor = max(1, int(max_side * DRAFT_SLACK))
                scale = max(full_w, full_h) / floor
                if scale > 1:
                    image.draft("RGB", (max(1, int(full_w / scale)), max(1, int(full_h / scale))))
            image.load()
            if image.mode != "RGB":
                image = image.convert("RGBA" if "A" in image.getbands() else "RGB")
                if image.mode == "RGBA":  # transparent parts count as black
                    background = Image.new("RGB", image.size)
                    background.paste(image, mask=image.getchannel("A"))
                    image = background
            if max(image.size) > max_side:
                ratio = max_side / max(image.size)
                size = (max(1, round(image.width * ratio)), max(1, round(image.height * ratio)))
                image = image.resize(size, Image.Resampling.BILINEAR, reducing_gap=2.0)
            for method in _TRANSPOSE.get(orientation, ()):
                image = image.transpose(method)
    except (
        UnidentifiedImageError,
        OSError,
        SyntaxError,
        ValueError,
        Image.DecompressionBombError,
    ) as exc:
        raise Undecodable(f"The file cannot be decoded as an image ({exc}).") from exc
    if orientation in _TRANSPOSED:
        full_w, full_h = full_h, full_w
    return Decoded(rgb=np.asarray(image, dtype=np.uint8), width=full_w, height=full_h)


def reduced(rgb: np.ndarray, max_side: int) -> np.ndarray:
    """`rgb` reduced by the smallest whole factor that brings its long side to `max_side` at
    most (each pixel the mean of a factor x factor box: no aliasing, and cheap)."""
    return reduced_by(rgb, -(-max(rgb.shape[:2]) // max_side))


def reduced_by(rgb: np.ndarray, factor: int) -> np.ndarray:
    """`rgb` reduced by a whole factor: each pixel the mean of a factor x factor box (a partial
    box at the right or bottom edge, the mean of what it holds)."""
    if factor <= 1:
        return rgb
    h, w = rgb.shape[:2]
    if h % factor or w % factor:
        # OpenCV's area resampling would spread the partial boxes over the whole row instead.
        return np.asarray(Image.fromarray(rgb, "RGB").reduce(factor))
    size = (w // factor, h // factor)
    return cv2.resize(np.ascontiguousarray(rgb), size, interpolation=cv2.INTER_AREA)
