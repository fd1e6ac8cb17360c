"""What the image checks measure, each a pure function of the reduced RGB array (and its HSV
planes and cervix region, computed once and passed in). Fractions are of the cervix region.

The pixel rules (the hue, saturation and value bounds below) were set by looking at the IARC
images; the thresholds that turn each measure into a verdict are data (curation.checks.defaults,
calibrated in bench/calibrate_checks.py, docs/quality-checks.md).
"""

from dataclasses import dataclass

import cv2
import numpy as np

from curation.analysis.colour import HSV, fraction, hue, level
from curation.analysis.masks import dilate, erode, resized

# Specular highlights: nearly white (bright and colourless); acetowhite epithelium is white
# too, but duller and faintly pink or grey.
GLARE_VALUE = level(0.94)
GLARE_SATURATION = level(0.14)
# Exposure: a pixel this dark shows nothing; one at the sensor's top and washed out towards white
# (not a highlight: glare counts apart) is burnt out. Pink tissue with only its red channel at
# the top is not: the IARC exports have it everywhere, and the tissue's detail is still there.
UNDER_VALUE = level(0.10)
OVER_VALUE = level(0.98)
OVER_SATURATION = level(0.35)
# Blood: a deep, saturated red, darker than the lit tissue around it.
BLOOD_HUE = (hue(-12), hue(5))  # wraps through 0 degrees; mahogany iodine staining is above
BLOOD_SATURATION = level(0.62)
BLOOD_VALUE = (level(0.15), level(0.80))
# Focus is measured on the grey image resampled to this long side, whatever the size decoded:
# the Laplacian sees detail at a fixed fraction of the frame (without it, the same scene decoded
# at 512 instead of 400 pixels measures about 1.6 times softer).
FOCUS_SIDE = 384
# Left out of the focus measure, in pixels of the masks (the colour measures' size): the
# region's rim (the cervix's outline is an edge, not detail) and the surroundings of highlights.
FOCUS_RIM = 2
FOCUS_HIGHLIGHT_MARGIN = 1


def glare_mask(colour: HSV) -> np.ndarray:
    return (colour.v >= GLARE_VALUE) & (colour.s <= GLARE_SATURATION)


def glare(colour: HSV, region: np.ndarray) -> tuple[float, np.ndarray]:
    """(share of the region covered by highlights, the highlight mask)."""
    mask = glare_mask(colour)
    return fraction(mask, region), mask


def blood_mask(colour: HSV) -> np.ndarray:
    low, high = BLOOD_HUE
    red = (colour.h >= low) | (colour.h <= high)
    return (
        red
        & (colour.s >= BLOOD_SATURATION)
        & (colour.v >= BLOOD_VALUE[0])
        & (colour.v <= BLOOD_VALUE[1])
    )


def blood(colour: HSV, region: np.ndarray) -> tuple[float, np.ndarray]:
    """(share of the region covered by blood-red pixels, the blood mask)."""
    mask = blood_mask(colour)
    return fraction(mask, region), mask


@dataclass(frozen=True)
class Exposure:
    under: float  # share of the region too dark to show anything
    over: float  # share clipped to white (specular highlights apart)


def exposure(colour: HSV, region: np.ndarray, highlights: np.ndarray | None = None) -> Exposure:
    if highlights is None:
        highlights = glare_mask(colour)
    under = colour.v <= UNDER_VALUE
    over = (colour.v >= OVER_VALUE) & (colour.s <= OVER_SATURATION) & ~highlights
    return Exposure(under=fraction(under, region), over=fraction(over, region))


def _bounding_box(mask: np.ndarray) -> tuple[int, int, int, int]:
    """(top, bottom, left, right), exclusive ends, of a non-empty mask."""
    rows = np.flatnonzero(mask.any(axis=1))
    cols = np.flatnonzero(mask.any(axis=0))
    return int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1


def focus(rgb: np.ndarray, region: np.ndarray, highlights: np.ndarray | None = None) -> float:
    """Sharpness of the cervix: the root-mean-square Laplacian of the grey image inside the
    region (its rim and the highlights' edges left out), per unit of mean brightness, x 100.
    Measured at FOCUS_SIDE on the long side, so it does not depend on the decoded size; high is
    sharp. Blur removes the fine detail the Laplacian sees, whatever the contrast.

    `region` and `highlights` may be smaller than `rgb` (the colour measures' size): they are
    scaled to it. Only the region's bounding box is converted, resampled and measured."""
    h, w = rgb.shape[:2]
    if not region.any():
        region = np.ones((h, w), dtype=bool)
    top, bottom, left, right = _bounding_box(region)
    sy, sx = h / region.shape[0], w / region.shape[1]
    x0, y0 = int(left * sx), int(top * sy)
    x1, y1 = min(w, round(right * sx)), min(h, round(bottom * sy))
    grey = cv2.cvtColor(np.ascontiguousarray(rgb[y0:y1, x0:x1]), cv2.COLOR_RGB2GRAY)
    ratio = FOCUS_SIDE / max(h, w)
    if ratio < 1:
        size = (max(1, round(grey.shape[1] * ratio)), max(1, round(grey.shape[0] * ratio)))
        # Bilinear: the checks' decode is 512 pixels long at most (a ratio of 0.75 or more), too
        # close for aliasing to matter, and area resampling costs seven times as much.
        grey = cv2.resize(grey, size, interpolation=cv2.INTER_LINEAR)
    if min(grey.shape) < 3:
        return 0.0
    # What is measured, worked out at the masks' own (smaller) size and then scaled once: the
    # region without its rim, and without the highlights and their edges; the frame's outer
    # pixels are left out (the Laplacian there would see the border, not the image).
    keep = erode(region[top:bottom, left:right], FOCUS_RIM)
    if highlights is not None:
        keep &= ~dilate(highlights[top:bottom, left:right], FOCUS_HIGHLIGHT_MARGIN)
    inside = resized(keep, grey.shape).copy()
    inside[0, :] = inside[-1, :] = inside[:, 0] = inside[:, -1] = False
    count = int(np.count_nonzero(inside))
    if count < 50:  # almost nothing left: measure the whole box
        inside[1:-1, 1:-1] = True
        count = int(np.count_nonzero(inside))
    # The 4-neighbour Laplacian (the sign does not matter: it is squared).
    lap = cv2.Laplacian(grey, cv2.CV_32F, ksize=1)
    where = inside.view(np.uint8)
    brightness = cv2.mean(grey, mask=where)[0]
    rms = float(np.sqrt(cv2.mean(cv2.multiply(lap, lap), mask=where)[0]))
    return 100.0 * rms / max(brightness, 1.0)


@dataclass(frozen=True)
class Framing:
    at_edge: float  # how much of the region lies along the frame's edges (0: none, 1: all round)
    area: float  # the region's area as a share of the frame


def framing(region: np.ndarray) -> Framing:
    """The region's length along the frame's edges, over the perimeter of a circle of the
    region's area (capped at 1): 0 for a cervix wholly inside the frame, about 0.45 for one cut
    in half by an edge, 0.64 for a quarter in a corner, 1 for one filling the frame. Counting
    outline pixels instead would make a jagged outline look longer than a smooth one."""
    count = int(np.count_nonzero(region))
    area = count / region.size
    if count == 0:
        return Framing(at_edge=0.0, area=0.0)
    on_edge = (
        int(np.count_nonzero(region[0, :]))
        + int(np.count_nonzero(region[-1, :]))
        + int(np.count_nonzero(region[1:-1, 0]))
        + int(np.count_nonzero(region[1:-1, -1]))
    )
    return Framing(at_edge=min(1.0, on_edge / (2 * np.sqrt(np.pi * count))), area=area)
