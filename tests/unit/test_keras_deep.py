"""Magnitude pruning of Keras networks (accuracy kept within a stated tolerance, half the kernel weights zero) and
pre-training a CNN on scikit-learn's 8x8 digits before fine-tuning."""

from __future__ import annotations

import joblib
import numpy as np
import pytest
from sklearn.datasets import load_digits

from tasks.ml.keras_estimators import CNNClassifier, DenseClassifier
from tasks.ml.keras_pretrain import source_images
from tasks.ml.keras_pruning import magnitude_mask
from tasks.ml.model_insights import insights

TOLERANCE = 0.02  # pruning half the weights (then 2 masked epochs) may cost at most 2 points of accuracy


def test_magnitude_mask_drops_the_smallest_magnitudes():
    kernel = np.array([[0.5, -0.1], [-2.0, 0.05]])
    assert magnitude_mask(kernel, 0.5).tolist() == [[True, False], [True, False]]
    assert magnitude_mask(kernel, 0.0).all()
    with pytest.raises(ValueError, match="sparsity"):
        magnitude_mask(kernel, 1.0)


@pytest.fixture(scope="module")
def pruned() -> DenseClassifier:
    x, y = load_digits(return_X_y=True)
    return DenseClassifier(hidden_layers=(64, 32), epochs=30, batch_size=64, prune_sparsity=0.5, prune_epochs=2,
                           verbose=False).fit(x / 16.0, y)


def test_pruning_half_the_weights_keeps_accuracy_within_tolerance(pruned):
    report = pruned.pruning_
    assert report["accuracy_before"] > 0.9
    assert report["accuracy_after"] >= report["accuracy_before"] - TOLERANCE


def test_pruning_halves_the_nonzero_kernel_weights_and_keeps_them_zero_after_pickling(pruned, tmp_path):
    report = pruned.pruning_
    kernels = 64 * 64 + 64 * 32 + 32 * 10  # the Dense kernels of 64 inputs -> 64 -> 32 -> 10 classes
    assert report["kernel_weights_before"] == kernels
    assert report["nonzero_kernel_weights_before"] == kernels
    assert report["nonzero_kernel_weights_after"] == kernels // 2  # every layer's size is even
    joblib.dump(pruned, tmp_path / "m.joblib")
    kernels_after = [layer.get_weights()[0] for layer in joblib.load(tmp_path / "m.joblib").model_.layers
                     if layer.get_weights() and layer.get_weights()[0].ndim == 2]
    assert sum(int((k == 0).sum()) for k in kernels_after) == kernels // 2
    assert insights(pruned, "keras_dense").tables["pruning"] == report


def test_source_images_are_centred_digits_in_the_target_frame():
    images, labels = source_images("sklearn_digits", (28, 28, 1))
    assert images.shape == (1797, 28, 28, 1) and labels.shape == (1797,)
    assert images.min() >= 0 and images.max() <= 1
    assert images[:, :4].max() == 0 and images[:, 24:].max() == 0  # 20x20 digit box, 4-pixel margins as in MNIST
    with pytest.raises(ValueError, match="pretrain"):
        source_images("imagenet", (28, 28, 1))


def test_pretraining_records_the_few_label_comparison_and_pruning_covers_the_convolutions():
    x, y = load_digits(return_X_y=True)
    images = np.zeros((len(x), 28, 28))
    images[:, 10:18, 10:18] = x.reshape(-1, 8, 8)  # 8x8 digits in a 28x28 frame, a shifted, smaller domain
    model = CNNClassifier(filters=(4,), dense_layers=(16,), epochs=2, pretrain="sklearn_digits", pretrain_epochs=1,
                          transfer_fraction=0.2, augment=0.0, prune_sparsity=0.5, prune_epochs=1,
                          verbose=False).fit(images.reshape(len(x), -1)[:600],
                                                                                 y[:600])
    report = model.transfer_
    assert report["source_images"] == 1797 and report["labelled_rows"] == round(0.2 * 540)
    assert report["validation_rows"] == 60
    assert 0 <= report["accuracy_scratch"] <= 1 and 0 <= report["accuracy_pretrained"] <= 1
    assert report["gain"] == pytest.approx(report["accuracy_pretrained"] - report["accuracy_scratch"])
    kernels = 3 * 3 * 1 * 4 + 14 * 14 * 4 * 16 + 16 * 10  # Conv2D, Dense after 2x2 pooling, softmax head
    assert model.pruning_["kernel_weights_before"] == kernels
    assert model.pruning_["nonzero_kernel_weights_after"] == kernels // 2
