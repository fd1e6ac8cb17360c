"""Image analysis for the automated checks: pure functions of numpy arrays (numpy, scipy.ndimage
and Pillow).

- decode: one cheap decode at reduced resolution (JPEG draft mode) and the full size, and a
  further whole-factor reduction for the colour measures;
- colour: HSV planes, computed once and shared;
- region: the cervix region (colour clustering and a central prior, no deep learning);
- measures: focus, exposure, glare, blood, framing;
- step: what kind of step an image looks like (Lugol's iodine, green filter, colour);
- overlay: a mask as a small PNG over the preview.
"""

from curation.analysis.colour import HSV, hsv
from curation.analysis.decode import Decoded, Undecodable, decode_reduced, reduced
from curation.analysis.region import cervix_region

__all__ = ["HSV", "Decoded", "Undecodable", "cervix_region", "decode_reduced", "hsv", "reduced"]
