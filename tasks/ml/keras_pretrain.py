"""Source images for pre-training a CNN's convolutional base before it is fine-tuned on the problem's images."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

SOURCES = ("sklearn_digits",)


def source_images(name: str, image_shape: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
    """(images in [0, 1] of `image_shape`, integer labels) of a packaged image dataset.

    "sklearn_digits": scikit-learn's 1,797 8x8 handwritten digits, upsampled (bilinear) into the central 20/28 of
    the target frame, the way MNIST centres its digits in a 20x20 box of a 28x28 image.
    """
    from scipy.ndimage import zoom
    from sklearn.datasets import load_digits

    if name not in SOURCES:
        raise ValueError(f"pretrain={name!r}; expected one of {list(SOURCES)}")
    digits = load_digits()
    height, width, channels = (int(d) for d in image_shape)
    inner = (max(1, round(height * 20 / 28)), max(1, round(width * 20 / 28)))
    scaled = zoom(digits.images / 16.0, (1, inner[0] / 8, inner[1] / 8), order=1)[:, : inner[0], : inner[1]]
    top, left = (height - scaled.shape[1]) // 2, (width - scaled.shape[2]) // 2
    images = np.zeros((len(scaled), height, width, channels), dtype=np.float32)
    images[:, top: top + scaled.shape[1], left: left + scaled.shape[2], :] = np.clip(scaled, 0, 1)[..., None]
    return images, digits.target.astype(np.int32)
