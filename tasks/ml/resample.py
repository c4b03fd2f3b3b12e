"""Class imbalance handling for training rows only: seeded majority downsampling or balanced class weights.

The trainer calls `resample` on the training split before `fit`; validation, holdout and batches are never
resampled, so every metric is measured on the real class balance.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from sklearn.utils.class_weight import compute_class_weight

from tasks.core.errors import DataError

Resampling = Literal["none", "downsample", "class_weight"]


@dataclass(frozen=True)
class Resampled:
    """Training rows after resampling, with per-row weights when `class_weight` was chosen."""

    frame: pd.DataFrame
    sample_weight: np.ndarray | None
    class_weight: dict[str | int, float] | None
    counts_before: dict[str | int, int]
    counts_after: dict[str | int, int]


def class_counts(y: pd.Series) -> dict[str | int, int]:
    return {_plain(k): int(v) for k, v in y.value_counts().sort_index().items()}


def downsample(frame: pd.DataFrame, target: str, *, seed: int) -> pd.DataFrame:
    """Every class cut to the size of the smallest (a seeded sample); row order is kept."""
    counts = frame[target].value_counts()
    if len(counts) < 2:
        raise DataError(f"downsample: target {target!r} has {len(counts)} class(es); need at least two")
    smallest = int(counts.min())
    rng = np.random.default_rng(seed)
    keep = [rng.choice(np.flatnonzero((frame[target] == label).to_numpy()), smallest, replace=False)
            for label in counts.index]
    return frame.iloc[np.sort(np.concatenate(keep))]


def balanced_class_weights(y: pd.Series) -> dict[str | int, float]:
    """scikit-learn's "balanced" weights: n_rows / (n_classes * class count)."""
    classes = np.unique(y)
    weights = compute_class_weight("balanced", classes=classes, y=y.to_numpy())
    return {_plain(c): float(w) for c, w in zip(classes, weights, strict=True)}


def resample(frame: pd.DataFrame, target: str, how: Resampling, *, seed: int) -> Resampled:
    """Apply the chosen resampling to training rows. With `class_weight` the rows are unchanged and
    `sample_weight` is passed to the model's fit (`pipeline.fit(X, y, model__sample_weight=...)`), which every
    family supports."""
    before = class_counts(frame[target])
    if how == "downsample":
        out = downsample(frame, target, seed=seed)
        return Resampled(out, None, None, before, class_counts(out[target]))
    if how == "class_weight":
        weights = balanced_class_weights(frame[target])
        per_row = frame[target].map(lambda v: weights[_plain(v)]).to_numpy(dtype=np.float64)
        return Resampled(frame, per_row, weights, before, before)
    return Resampled(frame, None, None, before, before)


def _plain(value: object) -> str | int:
    return value.item() if isinstance(value, np.generic) else value  # type: ignore[return-value]
