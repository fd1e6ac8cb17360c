"""What every check of one image is given: one decode at reduced resolution, shared.

The runner builds an ImageContext per image and hands it to each image-level check, so the file
is read and decoded once, and the cervix region found once, whatever the number of checks.
"""

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from curation.checks import thresholds as threshold_values
from imagebank.models import Case, Image

# The longest side the checks decode to: enough for the blur measure (focus), and a decode at
# this size costs less than a full one (JPEG's draft mode decodes at 1/2, 1/4 or 1/8).
ANALYSIS_SIDE = 512
# The colour and area measures (the cervix region, exposure, glare, blood, step, framing) and
# their overlays work on that decode reduced again, by a whole factor (box averages), to at most
# this long side: shares of the cervix need no more pixels than that (tens of thousands), and
# each colour plane then costs a quarter.
COLOUR_SIDE = 256


@dataclass
class ImageContext:
    image: Image
    data: bytes  # the stored file, as the bank keeps it
    _thresholds: dict = field(default_factory=dict, repr=False)

    @cached_property
    def decoded(self):
        """curation.analysis.Decoded: the RGB array (long side ANALYSIS_SIDE at most) and the
        full size. Raises curation.analysis.Undecodable for a file that cannot be decoded."""
        from curation import analysis

        return analysis.decode_reduced(self.data, max_side=ANALYSIS_SIDE)

    @property
    def rgb(self) -> np.ndarray:
        """The decode (long side ANALYSIS_SIDE at most): what the focus check measures."""
        return self.decoded.rgb

    @cached_property
    def colour_rgb(self) -> np.ndarray:
        """`rgb` reduced to COLOUR_SIDE at most: what the colour and area measures look at."""
        from curation import analysis

        return analysis.reduced(self.rgb, COLOUR_SIDE)

    @cached_property
    def region(self) -> np.ndarray:
        """The cervix region: a boolean mask the size of `colour_rgb` (colour clustering and a
        central prior, curation.analysis.cervix_region)."""
        from curation import analysis

        return analysis.cervix_region(self.colour_rgb)

    @cached_property
    def hsv(self):
        """curation.analysis.HSV: hue, saturation and value planes of `colour_rgb`, computed
        once for every check that looks at colour."""
        from curation import analysis

        return analysis.hsv(self.colour_rgb)

    @cached_property
    def step_area(self) -> np.ndarray:
        """Where step_consistency looks: the cervix region and the centre of the frame together.
        Iodine stains the whole cervix and the vaginal walls, and the centre of the frame is the
        cervix in nearly every examination image, so the union keeps the judgement sound where
        the region caught only part of the cervix (docs/quality-checks.md)."""
        from curation.analysis.region import central_ellipse

        return self.region | central_ellipse(self.region.shape)

    @cached_property
    def highlights(self) -> np.ndarray:
        """The specular highlights (glare) of `colour_rgb`: left out of the focus, exposure and
        step measures, measured by the glare check."""
        from curation.analysis import measures

        return measures.glare_mask(self.hsv)

    @classmethod
    def for_file(cls, data: bytes, step: str = "") -> "ImageContext":
        """A context for a file that is not (yet) an image of the bank: a step suggestion, the
        calibration bench. Its thresholds are the defaults."""
        from types import SimpleNamespace

        from curation.checks.defaults import DEFAULTS

        image = SimpleNamespace(step=step, capture_device="", case=None)
        return cls(image=image, data=data, _thresholds=dict(DEFAULTS))

    def thresholds(self, check_name: str) -> dict[str, float]:
        """The thresholds in force for this image's site and capture device."""
        if check_name not in self._thresholds:
            self._thresholds[check_name] = threshold_values.resolve(
                check_name, site=self.image.case.site, device=self.image.capture_device
            )
        return self._thresholds[check_name]


@dataclass
class CaseContext:
    case: Case
    images: list[Image]

    def thresholds(self, check_name: str) -> dict[str, float]:
        return threshold_values.resolve(check_name, site=self.case.site, device="")
