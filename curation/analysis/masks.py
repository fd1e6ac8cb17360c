"""Small boolean-mask helpers (4-neighbour morphology and connectivity), on scipy.ndimage."""

import numpy as np
from scipy import ndimage

# The 4-neighbour cross, for connectivity.
_CROSS = ndimage.generate_binary_structure(2, 1)


def dilate(mask: np.ndarray, steps: int = 1) -> np.ndarray:
    # Shifted ORs in numpy: on masks of a few hundred pixels a side, several times faster than
    # scipy.ndimage.binary_dilation.
    out = mask
    for _ in range(steps):
        grown = out.copy()
        grown[1:] |= out[:-1]
        grown[:-1] |= out[1:]
        grown[:, 1:] |= out[:, :-1]
        grown[:, :-1] |= out[:, 1:]
        out = grown
    return out


def erode(mask: np.ndarray, steps: int = 1) -> np.ndarray:
    """Erosion; pixels outside the array count as outside the mask."""
    padded = np.ones((mask.shape[0] + 2, mask.shape[1] + 2), dtype=bool)
    padded[1:-1, 1:-1] = ~mask
    return ~dilate(padded, steps)[1:-1, 1:-1]


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
    from PIL import Image

    image = Image.fromarray(mask.astype(np.uint8) * 255, "L")
    return np.asarray(image.resize((shape[1], shape[0]), Image.Resampling.NEAREST)) >= 128
