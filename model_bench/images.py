"""Decoding a stored image as the models take it, without torch (the reference models' loader
and the worker that runs a submitted ONNX model both use it, so both see the same pixels)."""

import io

import cv2
import numpy as np
from PIL import Image as PILImage


def decode(data: bytes, size: int) -> np.ndarray:
    """A stored image as uint8 RGB, resized (area interpolation) to size × size."""
    with PILImage.open(io.BytesIO(data)) as picture:
        rgb = np.asarray(picture.convert("RGB"))
    return cv2.resize(rgb, (size, size), interpolation=cv2.INTER_AREA)


def resize_mask(mask: np.ndarray, size: int) -> np.ndarray:
    """A boolean mask at the image's size → uint8 0/1 at size × size (nearest neighbour)."""
    return cv2.resize(mask.astype(np.uint8), (size, size), interpolation=cv2.INTER_NEAREST)
