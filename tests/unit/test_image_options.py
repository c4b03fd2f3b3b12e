"""Pixel preprocessing options: `numeric_scaling: unit` (one factor for every pixel) and `deskew`."""

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError

from tasks.core.artefacts import FeatureSpec
from tasks.core.feature_options import FeatureOptions
from tasks.ml.image import Deskew, deskew_image
from tasks.ml.preprocess import build_preprocessor


def _pixels(rows: np.ndarray) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=[f"p{i}" for i in range(rows.shape[1])])


def _spec(n: int) -> FeatureSpec:
    return FeatureSpec(problem_type="multiclass", target="label", numeric=[f"p{i}" for i in range(n)], ordinal=[],
                       categorical=[])


def test_unit_scaling_divides_every_pixel_by_one_factor():
    rng = np.random.default_rng(0)
    rows = rng.integers(0, 256, size=(50, 6)).astype(float)
    rows[:, 0] = 0.0
    rows[3, 0] = 2.0  # a border pixel almost always 0: standardising would blow it up to ~7
    pre = build_preprocessor(_spec(6), FeatureOptions(numeric_scaling="unit", impute_indicator=False))
    out = pre.fit_transform(_pixels(rows))
    np.testing.assert_allclose(out, rows / rows.max())
    standard = build_preprocessor(_spec(6), FeatureOptions(impute_indicator=False)).fit_transform(_pixels(rows))
    assert np.abs(out[:, 0]).max() < 0.01 < 5 < np.abs(standard[:, 0]).max()


def _shear_covariance(image: np.ndarray) -> float:
    rows, cols = np.mgrid[:image.shape[0], :image.shape[1]]
    total = image.sum()
    mr, mc = (rows * image).sum() / total, (cols * image).sum() / total
    return float(((rows - mr) * (cols - mc) * image).sum() / total)


def test_deskew_straightens_a_slanted_stroke_and_keeps_an_upright_one():
    slanted = np.zeros((28, 28))
    for r in range(4, 24):
        slanted[r, 8 + r // 2: 11 + r // 2] = 1.0  # leans one column per two rows
    assert abs(_shear_covariance(slanted)) > 10
    assert abs(_shear_covariance(deskew_image(slanted))) < 0.5
    upright = np.zeros((28, 28))
    upright[4:25, 13:16] = 1.0  # its centre of mass at the image centre (14, 14): nothing moves
    np.testing.assert_allclose(deskew_image(upright), upright, atol=1e-9)
    np.testing.assert_array_equal(deskew_image(np.zeros((28, 28))), np.zeros((28, 28)))


def test_deskew_option_in_the_pipeline_and_its_shape_checks():
    image = np.zeros((28, 28))
    for r in range(4, 24):
        image[r, 8 + r // 2: 11 + r // 2] = 255.0
    rows = np.stack([image.ravel(), np.roll(image, 2, axis=1).ravel()])
    pre = build_preprocessor(_spec(784), FeatureOptions(numeric_scaling="unit", deskew=(28, 28)))
    out = pre.fit_transform(_pixels(rows))
    assert out.shape == (2, 784)
    expected = deskew_image(image)
    np.testing.assert_allclose(out[0], expected.ravel() / max(expected.max(), deskew_image(np.roll(image, 2, 1)).max()))
    with pytest.raises(ValueError, match="needs 784 pixel columns"):
        Deskew(shape=(28, 28)).fit(np.zeros((2, 10)))
    with pytest.raises(ValidationError, match="deskew"):
        FeatureOptions(deskew=(28, 28), polynomial_degree=2)
