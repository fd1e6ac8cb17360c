"""What every check of one image is given: one decode at reduced resolution, shared.

The runner builds an ImageContext per image and hands it to each image-level check, so the file
is read and decoded once, and the cervix region found once, whatever the number of checks.
"""

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from curation.checks import thresholds as threshold_values
from imagebank.models import Case, Image

# The longest side the checks look at: enough for blur, colour and area measures, and a decode
# at this size costs a fraction of a full one (JPEG's draft mode decodes at 1/2, 1/4 or 1/8).
ANALYSIS_SIDE = 512


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
        return self.decoded.rgb

    @cached_property
    def region(self) -> np.ndarray:
        """The cervix region: a boolean mask the size of `rgb` (colour clustering and a central
        prior, curation.analysis.cervix_region)."""
        from curation import analysis

        return analysis.cervix_region(self.rgb)

    @cached_property
    def hsv(self):
        """curation.analysis.HSV: hue, saturation and value planes of `rgb`, computed once for
        every check that looks at colour."""
        from curation import analysis

        return analysis.hsv(self.rgb)

    @cached_property
    def highlights(self) -> np.ndarray:
        """The specular highlights (glare) of `rgb`: left out of the focus, exposure and step
        measures, measured by the glare check."""
        from curation.analysis import measures

        return measures.glare_mask(self.hsv)

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
