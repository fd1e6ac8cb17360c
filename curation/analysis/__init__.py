"""Image analysis for the automated checks: pure functions of numpy arrays (numpy, OpenCV for
the colour conversions, resampling, morphology and the Laplacian, scipy.ndimage for connected
regions, Pillow for decoding).

- decode: one cheap decode at reduced resolution (JPEG draft mode) and the full size, and a
  further whole-factor reduction for the colour measures;
- colour: HSV planes, computed once and shared;
- region: the cervix region (colour clustering and a central prior, no deep learning);
- measures: focus, exposure, glare, blood, framing;
- step: what kind of step an image looks like (Lugol's iodine, green filter, colour);
- overlay: a mask as a small PNG over the preview.
"""

import cv2

# The arrays are small (a few hundred pixels a side): OpenCV's worker threads would cost more to
# start than they save, and a Celery worker already runs one process per core.
cv2.setNumThreads(1)

from curation.analysis.colour import HSV, hsv  # noqa: E402 - after the thread setting
from curation.analysis.decode import Decoded, Undecodable, decode_reduced, reduced  # noqa: E402
from curation.analysis.region import cervix_region  # noqa: E402

__all__ = ["HSV", "Decoded", "Undecodable", "cervix_region", "decode_reduced", "hsv", "reduced"]
