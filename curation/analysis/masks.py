"""Small boolean-mask helpers (4-neighbour morphology), numpy only."""

import numpy as np


def dilate(mask: np.ndarray, steps: int = 1) -> np.ndarray:
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
    current = seed & mask
    while True:
        grown = dilate(current) & mask
        if np.array_equal(grown, current):
            return current
        current = grown


def fill_holes(mask: np.ndarray) -> np.ndarray:
    border = np.zeros_like(mask)
    border[0, :] = border[-1, :] = border[:, 0] = border[:, -1] = True
    return ~reconstruct(border, ~mask)


def resized(mask: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """`mask` at another size (nearest neighbour)."""
    if mask.shape == shape:
        return mask
    from PIL import Image

    image = Image.fromarray(mask.astype(np.uint8) * 255, "L")
    return np.asarray(image.resize((shape[1], shape[0]), Image.Resampling.NEAREST)) >= 128
