"""Image preprocessing for pixel columns: deskewing (feature option `deskew`) and one scale for every pixel
(`numeric_scaling: unit`).

A handwritten digit's slant varies from writer to writer; shearing each image so that its principal axis is
vertical (the moment-based deskew of LeCun et al.'s MNIST benchmarks) removes most of it, which distance-based
models (kNN, RBF SVMs) cannot learn to ignore.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy.ndimage import affine_transform
from sklearn.base import BaseEstimator, OneToOneFeatureMixin, TransformerMixin
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


class _PixelTransformer(OneToOneFeatureMixin, TransformerMixin, BaseEstimator):
    """A column-preserving transform of pixel rows that passes missing values through validation."""

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        return tags

    def _rows(self, X: Any, *, reset: bool) -> np.ndarray:
        return validate_data(self, X, dtype=np.float64, reset=reset, ensure_all_finite="allow-nan")


class UnitScaler(_PixelTransformer):
    """Every column divided by one factor, the largest absolute value seen in fit (1 when all are 0 or missing):
    feature option `numeric_scaling: unit`."""

    def fit(self, X: Any, y: Any = None) -> UnitScaler:
        values = self._rows(X, reset=True)
        largest = np.nanmax(np.abs(values)) if np.isfinite(values).any() else 0.0
        self.scale_ = float(largest) if largest > 0 else 1.0
        return self

    def transform(self, X: Any) -> np.ndarray:
        check_is_fitted(self, "scale_")
        return self._rows(X, reset=False) / self.scale_


class Deskew(_PixelTransformer):
    """Each row (the pixels of a `shape` = (height, width) image, row-major) deskewed; missing pixels read as 0."""

    def __init__(self, shape: Sequence[int] = (28, 28)) -> None:
        self.shape = shape

    def fit(self, X: Any, y: Any = None) -> Deskew:
        values = self._rows(X, reset=True)
        if values.shape[1] != int(np.prod(self.shape)):
            raise ValueError(f"image shape {tuple(self.shape)} needs {int(np.prod(self.shape))} pixel columns, "
                             f"got {values.shape[1]}")
        return self

    def transform(self, X: Any) -> np.ndarray:
        check_is_fitted(self, "n_features_in_")
        values = np.nan_to_num(self._rows(X, reset=False))
        height, width = self.shape
        return np.stack([deskew_image(row.reshape(height, width)).ravel() for row in values]) if len(values) \
            else values
