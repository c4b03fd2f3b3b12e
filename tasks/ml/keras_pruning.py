"""Magnitude pruning of Keras Dense and Conv2D kernels: masks from weight magnitudes, applied and kept while
fine-tuning. The mask arithmetic is plain NumPy; Keras objects are only passed through."""

from __future__ import annotations

from types import ModuleType
from typing import Any

import numpy as np


def magnitude_mask(kernel: np.ndarray, sparsity: float) -> np.ndarray:
    """Boolean mask keeping all but the `round(sparsity * size)` smallest-magnitude entries (ties by position)."""
    if not 0.0 <= sparsity < 1.0:
        raise ValueError(f"sparsity={sparsity}; expected 0 <= sparsity < 1")
    n_pruned = int(round(sparsity * kernel.size))
    keep = np.ones(kernel.size, dtype=bool)
    keep[np.argsort(np.abs(kernel), axis=None, kind="stable")[:n_pruned]] = False
    return keep.reshape(kernel.shape)


def prunable_kernels(keras: ModuleType, model: Any) -> list[Any]:
    """The kernel variables of every Dense and Conv2D layer (biases, batch-norm and the like are left alone)."""
    kinds = (keras.layers.Dense, keras.layers.Conv2D)
    return [layer.kernel for layer in model.layers if isinstance(layer, kinds)]


def apply_masks(kernels: list[Any], masks: list[np.ndarray]) -> None:
    for kernel, mask in zip(kernels, masks, strict=True):
        kernel.assign(np.asarray(kernel.numpy()) * mask)


def mask_keeper(keras: ModuleType, kernels: list[Any], masks: list[np.ndarray]) -> Any:
    """A callback re-zeroing the pruned weights after every training batch, so fine-tuning keeps the sparsity."""

    class KeepMasks(keras.callbacks.Callback):
        def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
            apply_masks(kernels, masks)

    return KeepMasks()


def weight_counts(model: Any, kernels: list[Any]) -> dict[str, int]:
    """Total and non-zero parameters of the model and of its prunable kernels."""
    weights = model.get_weights()
    values = [np.asarray(k.numpy()) for k in kernels]
    return {"parameters": int(sum(w.size for w in weights)),
            "nonzero_parameters": int(sum(np.count_nonzero(w) for w in weights)),
            "kernel_weights": int(sum(v.size for v in values)),
            "nonzero_kernel_weights": int(sum(np.count_nonzero(v) for v in values))}
