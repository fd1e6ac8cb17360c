"""Which kind of examination step an image looks like, from the colour of the cervix region.

- Lugol's iodine stains the healthy squamous epithelium mahogany brown and leaves iodine-negative
  areas mustard yellow: saturated orange-brown hues (hue 10 to 50 degrees, saturation at least 0.6).
- The green (red-free) filter gives a green or cyan image, or a monochrome one where the camera
  records it as grey: green-dominant hues, or almost no saturation anywhere.
- Saline and acetic acid leave the tissue pink, red and white: hues around red and magenta.

Each score is the share of the region's usable pixels (not highlights, not too dark) that has the
colour of its kind. `classify` names the kind whose score passes its threshold (green first, then
Lugol's iodine), or "colour", with a confidence in 0.5..1 that grows with the distance from the
threshold that decided.
"""

from dataclasses import dataclass

import numpy as np

from curation.analysis.colour import HSV, hue, level

LUGOL, GREEN, COLOUR = "lugol", "green", "colour"

ORANGE = (hue(10), hue(50))
ORANGE_SATURATION = level(0.60)
GREEN_HUE = (hue(65), hue(200))
GREEN_SATURATION = level(0.12)
GREY_SATURATION = level(0.10)
USABLE_VALUE = level(0.12)

# Defaults of the thresholds (curation.checks.defaults carries the calibrated ones).
LUGOL_MIN = 0.22
GREEN_MIN = 0.50


@dataclass(frozen=True)
class StepScores:
    lugol: float  # share of orange-brown (iodine-stained) pixels
    green: float  # share of green-dominant or colourless pixels
    grey: float  # share of colourless pixels (part of `green`)

    def as_dict(self) -> dict[str, float]:
        return {
            "lugol": round(self.lugol, 4),
            "green": round(self.green, 4),
            "grey": round(self.grey, 4),
        }


def scores(colour: HSV, region: np.ndarray, highlights: np.ndarray | None = None) -> StepScores:
    usable = region & (colour.v >= USABLE_VALUE)
    if highlights is not None:
        usable &= ~highlights
    if not usable.any():
        usable = region
    h, s = colour.h[usable], colour.s[usable]
    total = max(h.size, 1)
    orange = int(np.count_nonzero((h >= ORANGE[0]) & (h <= ORANGE[1]) & (s >= ORANGE_SATURATION)))
    grey = s <= GREY_SATURATION
    green = ((h >= GREEN_HUE[0]) & (h <= GREEN_HUE[1]) & (s >= GREEN_SATURATION)) | grey
    return StepScores(
        lugol=orange / total,
        green=int(np.count_nonzero(green)) / total,
        grey=int(np.count_nonzero(grey)) / total,
    )


def _confidence(score: float, threshold: float, above: bool) -> float:
    # 0.5 at the threshold, 1 at the far end of the scale (0 or 1).
    if above:
        span = max(1.0 - threshold, 1e-6)
        return 0.5 + 0.5 * min(1.0, (score - threshold) / span)
    return 0.5 + 0.5 * min(1.0, (threshold - score) / max(threshold, 1e-6))


def classify(
    found: StepScores, lugol_min: float = LUGOL_MIN, green_min: float = GREEN_MIN
) -> tuple[str, float]:
    """(kind, confidence): "green", "lugol" or "colour"."""
    if found.green >= green_min:
        return GREEN, _confidence(found.green, green_min, above=True)
    if found.lugol >= lugol_min:
        return LUGOL, _confidence(found.lugol, lugol_min, above=True)
    confidence = min(
        _confidence(found.green, green_min, above=False),
        _confidence(found.lugol, lugol_min, above=False),
    )
    return COLOUR, confidence
