"""Overlays: a boolean mask as a small PNG to lay over the preview."""

import io

import numpy as np
from PIL import Image

GLARE_COLOUR = (0, 200, 255)  # cyan: stands out on pink and white tissue
BLOOD_COLOUR = (255, 230, 0)  # yellow: stands out on red
OPACITY = 170


def mask_png(mask: np.ndarray, colour: tuple[int, int, int], opacity: int = OPACITY) -> bytes:
    """A PNG the size of `mask`: transparent where False, `colour` at `opacity` where True.
    A two-entry palette at one bit per pixel keeps it small and cheap to encode: the mask's bits
    are packed by numpy and read by Pillow as a 1-bit palette image, with no conversion."""
    height, width = mask.shape
    packed = np.packbits(mask.astype(bool), axis=1)  # each row padded to whole bytes
    image = Image.frombytes("P", (width, height), packed.tobytes(), "raw", "P;1")
    image.putpalette([0, 0, 0, *colour])
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", bits=1, transparency=bytes((0, opacity)), compress_level=1)
    return buffer.getvalue()
