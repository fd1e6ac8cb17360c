"""Hue, saturation and value of an RGB array, computed once (in C, by Pillow) and shared.

Pillow's HSV keeps every plane in 0..255: hue 0..255 stands for 0..360 degrees. Measures compare
the uint8 planes with thresholds converted once, so no plane is copied to floats.
"""

from dataclasses import dataclass

import numpy as np
from PIL import Image


@dataclass(frozen=True)
class HSV:
    h: np.ndarray  # uint8, 0..255 for 0..360 degrees
    s: np.ndarray  # uint8, 0..255
    v: np.ndarray  # uint8, 0..255 (the largest of R, G and B)


def hsv(rgb: np.ndarray) -> HSV:
    planes = Image.fromarray(rgb, "RGB").convert("HSV").split()
    h, s, v = (np.asarray(plane) for plane in planes)
    return HSV(h=h, s=s, v=v)


def hue(degrees: float) -> int:
    """A hue in degrees on Pillow's 0..255 scale."""
    return round((degrees % 360) * 255 / 360)


def level(fraction: float) -> int:
    """A saturation or value fraction (0..1) on the 0..255 scale."""
    return round(min(max(fraction, 0.0), 1.0) * 255)


def fraction(mask: np.ndarray, within: np.ndarray) -> float:
    """The share of `within`'s pixels that `mask` marks (0 where `within` is empty)."""
    total = int(np.count_nonzero(within))
    if total == 0:
        return 0.0
    return int(np.count_nonzero(mask & within)) / total
