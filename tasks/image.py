"""Image preprocessing for pixel columns: deskewing (feature option `deskew`).

A handwritten digit's slant varies from writer to writer; shearing each image so that its principal axis is
vertical (the moment-based deskew of LeCun et al.'s MNIST benchmarks) removes most of it, which distance-based
models (kNN, RBF SVMs) cannot learn to ignore.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy.ndimage import affine_transform
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted, validate_data


def deskew_image(image: np.ndarray) -> np.ndarray:
    """`image` (height, width) sheared along its columns so its intensity-weighted row-column covariance is 0, about
    its centre of mass moved to the image centre; a blank image is returned as it is."""
    total = image.sum()
    if total <= 0:
        return image
    rows, cols = np.mgrid[:image.shape[0], :image.shape[1]]
    mean_r, mean_c = (rows * image).sum() / total, (cols * image).sum() / total
    var_r = ((rows - mean_r) ** 2 * image).sum() / total
    if var_r <= 0:
        return image
    shear = ((rows - mean_r) * (cols - mean_c) * image).sum() / total / var_r
    matrix = np.array([[1.0, 0.0], [shear, 1.0]])
    centre = np.array(image.shape, dtype=float) / 2
    return affine_transform(image, matrix, offset=np.array([mean_r, mean_c]) - matrix @ centre, order=1)


class Deskew(TransformerMixin, BaseEstimator):
    """Each row (the pixels of a `shape` = (height, width) image, row-major) deskewed; missing pixels read as 0."""

    def __init__(self, shape: Sequence[int] = (28, 28)) -> None:
        self.shape = shape

    def fit(self, X: Any, y: Any = None) -> Deskew:
        values = validate_data(self, X, dtype=np.float64, ensure_all_finite="allow-nan")
        if values.shape[1] != int(np.prod(self.shape)):
            raise ValueError(f"image shape {tuple(self.shape)} needs {int(np.prod(self.shape))} pixel columns, "
                             f"got {values.shape[1]}")
        return self

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        return tags

    def transform(self, X: Any) -> np.ndarray:
        check_is_fitted(self, "n_features_in_")
        values = np.nan_to_num(validate_data(self, X, dtype=np.float64, reset=False, ensure_all_finite="allow-nan"))
        height, width = self.shape
        return np.stack([deskew_image(row.reshape(height, width)).ravel() for row in values]) if len(values) \
            else values

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        check_is_fitted(self, "n_features_in_")
        if input_features is not None:
            return np.asarray([str(n) for n in input_features], dtype=object)
        known = getattr(self, "feature_names_in_", None)
        return np.asarray(known if known is not None else [f"x{i}" for i in range(self.n_features_in_)], dtype=object)
