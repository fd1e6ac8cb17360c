"""The plain segmentation baseline: each pixel's colour (RGB, HSV, Lab) and its neighbourhood's
(a Gaussian blur of the same), classified by logistic regression trained on a seeded sample of
the training masks' pixels. What a UNet++ must beat to be worth its cost.
"""

from dataclasses import dataclass

import cv2
import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from model_bench.training.data import ImageSet

PIXELS_PER_IMAGE = 2000


def pixel_features(images: np.ndarray) -> np.ndarray:
    """(N, S, S, F) float32 features of uint8 RGB images (N, S, S, 3)."""
    out = []
    for image in images:
        hsv = cv2.cvtColor(image, cv2.COLOR_RGB2HSV)
        lab = cv2.cvtColor(image, cv2.COLOR_RGB2LAB)
        stacked = np.concatenate([image, hsv, lab], axis=2).astype(np.float32) / 255.0
        blurred = cv2.GaussianBlur(stacked, (0, 0), sigmaX=max(1.0, image.shape[0] / 32))
        out.append(np.concatenate([stacked, blurred], axis=2))
    return np.stack(out) if out else np.zeros((0, 0, 0, 18), dtype=np.float32)


@dataclass
class PixelBaseline:
    model: object

    def predict_masks(self, images: np.ndarray) -> np.ndarray:
        """(N, S, S) probabilities that each pixel is inside the mask."""
        if len(images) == 0:
            return np.zeros((0, 0, 0), dtype=np.float32)
        features = pixel_features(images)
        n, height, width, channels = features.shape
        flat = features.reshape(-1, channels)
        return self.model.predict_proba(flat)[:, 1].reshape(n, height, width).astype(np.float32)


def train_pixel_baseline(train: ImageSet, *, seed: int) -> PixelBaseline:
    if train.masks is None or not len(train):
        raise ValueError("the pixel baseline needs training images with masks")
    rng = np.random.default_rng(seed)
    features = pixel_features(train.images)
    n, height, width, channels = features.shape
    picks = [rng.choice(height * width, size=min(PIXELS_PER_IMAGE, height * width), replace=False)
             for _ in range(n)]  # fmt: skip
    x = np.concatenate([features[i].reshape(-1, channels)[p] for i, p in enumerate(picks)])
    y = np.concatenate([train.masks[i].reshape(-1)[p] for i, p in enumerate(picks)])
    if np.unique(y).size < 2:
        raise ValueError("the training masks are all inside or all outside")
    model = make_pipeline(
        StandardScaler(), LogisticRegression(class_weight="balanced", max_iter=500)
    )
    model.fit(x, y)
    return PixelBaseline(model=model)
