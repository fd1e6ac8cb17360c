"""Overlays: a boolean mask as a small PNG to lay over the preview."""

import io

import numpy as np
from PIL import Image

GLARE_COLOUR = (0, 200, 255)  # cyan: stands out on pink and white tissue
BLOOD_COLOUR = (255, 230, 0)  # yellow: stands out on red
OPACITY = 170


def mask_png(mask: np.ndarray, colour: tuple[int, int, int], opacity: int = OPACITY) -> bytes:
    """A PNG the size of `mask`: transparent where False, `colour` at `opacity` where True.
    A two-entry palette at one bit per pixel keeps it small and cheap to encode."""
    image = Image.fromarray(mask.astype(np.uint8), "L").convert("P")
    image = Image.frombytes("P", image.size, image.tobytes())
    image.putpalette([0, 0, 0, *colour])
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", bits=1, transparency=bytes((0, opacity)), compress_level=1)
    return buffer.getvalue()
