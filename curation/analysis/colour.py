"""Hue, saturation and value of an RGB array, computed once (in C, by OpenCV) and shared.

OpenCV's "full" HSV keeps every plane in 0..255: hue 0..255 stands for 0..360 degrees (the scale
of Pillow's HSV too). Measures compare the uint8 planes with thresholds converted once, so no
plane is copied to floats.
"""

from dataclasses import dataclass

import cv2
import numpy as np


@dataclass(frozen=True)
class HSV:
    h: np.ndarray  # uint8, 0..255 for 0..360 degrees
    s: np.ndarray  # uint8, 0..255
    v: np.ndarray  # uint8, 0..255 (the largest of R, G and B)


def hsv(rgb: np.ndarray) -> HSV:
    h, s, v = cv2.split(cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2HSV_FULL))
    return HSV(h=h, s=s, v=v)


def hue(degrees: float) -> int:
    """A hue in degrees on the 0..255 scale of the hue plane."""
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
