"""Small boolean-mask helpers: 4-neighbour morphology (OpenCV) and connectivity (scipy.ndimage).

Boolean arrays are handed to OpenCV as uint8 views (the same bytes, 0 or 1), so nothing is copied
on the way in or out.
"""

import cv2
import numpy as np
from scipy import ndimage

# The 4-neighbour cross, for morphology and connectivity.
_CROSS = ndimage.generate_binary_structure(2, 1)
_KERNEL = _CROSS.astype(np.uint8)


def _u8(mask: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(mask, dtype=bool).view(np.uint8)


def dilate(mask: np.ndarray, steps: int = 1) -> np.ndarray:
    if steps <= 0:
        return mask
    return cv2.dilate(_u8(mask), _KERNEL, iterations=steps).view(bool)


def erode(mask: np.ndarray, steps: int = 1) -> np.ndarray:
    """Erosion; pixels outside the array count as outside the mask."""
    if steps <= 0:
        return mask
    out = cv2.erode(
        _u8(mask), _KERNEL, iterations=steps, borderType=cv2.BORDER_CONSTANT, borderValue=0
    )
    return out.view(bool)


def reconstruct(seed: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """The parts of `mask` connected (4-neighbours) to `seed`."""
    labels, count = ndimage.label(mask, structure=_CROSS)
    if count == 0:
        return np.zeros_like(mask, dtype=bool)
    kept = np.zeros(count + 1, dtype=bool)
    kept[np.unique(labels[seed & mask])] = True
    kept[0] = False
    return kept[labels]


def fill_holes(mask: np.ndarray) -> np.ndarray:
    """`mask` with every hole (a part of the background not connected to the frame's edge)
    filled."""
    return ndimage.binary_fill_holes(mask, structure=_CROSS)


def resized(mask: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """`mask` at another size (nearest neighbour)."""
    if mask.shape == shape:
        return mask
    # NEAREST_EXACT samples each output pixel's centre, as Pillow's NEAREST does.
    out = cv2.resize(_u8(mask), (shape[1], shape[0]), interpolation=cv2.INTER_NEAREST_EXACT)
    return out.view(bool)
