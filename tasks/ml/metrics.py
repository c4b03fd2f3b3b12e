"""Headline metrics per problem type, with bootstrap intervals, shared by training, evaluation and comparisons.

Every metric is one of the batched functions of `tasks.ml.stats` applied to one of a model's encoded outputs
(`Scored`): its predictions, its probabilities, or its per-row log loss. The point value is the same function on all
rows, so a metric has one definition whether it is reported alone, with an interval or in a paired test.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from tasks.core.artefacts import FeatureSpec
from tasks.core.errors import DataError
from tasks.ml import stats

Input = Literal["pred", "proba", "loss"]


def headline(problem_type: str, n_classes: int = 2) -> dict[str, tuple[stats.MetricFn, Input]]:
    """name -> (batched metric function, which output it reads) for a problem type; empty for unsupervised types."""
    if problem_type == "binary":
        return {
            "accuracy": (stats.binary_accuracy, "pred"),
            "precision": (stats.precision, "pred"),
            "recall": (stats.recall, "pred"),
            "specificity": (stats.specificity, "pred"),
            "f1": (stats.f1, "pred"),
            "roc_auc": (stats.roc_auc, "proba"),
            "log_loss": (stats.row_mean, "loss"),
            "brier": (stats.brier, "proba"),
        }
    if problem_type == "multiclass":
        return {
            "accuracy": (stats.accuracy, "pred"),
            "precision_macro": (stats.macro("precision", n_classes), "pred"),
            "recall_macro": (stats.macro("recall", n_classes), "pred"),
            "f1_macro": (stats.macro("f1", n_classes), "pred"),
            "roc_auc_ovr": (stats.ovr_roc_auc, "proba"),
            "log_loss": (stats.row_mean, "loss"),
        }
    if problem_type == "regression":
        return {"r2": (stats.r2, "pred"), "rmse": (stats.rmse, "pred"), "mae": (stats.mae, "pred")}
    return {}


@dataclass(frozen=True)
class Scored:
    """A model's outputs on one batch, encoded for `tasks.ml.stats`: classes become codes 0..K-1 (binary: 1 is
    `classes[1]`); `proba` is P(positive) for binary, (n, K) for multiclass, None for regression."""

    problem_type: str
    y: np.ndarray
    pred: np.ndarray
    proba: np.ndarray | None = None

    @property
    def n_classes(self) -> int:
        return 2 if self.proba is None or self.proba.ndim == 1 else self.proba.shape[1]

    def inputs(self) -> dict[str, np.ndarray]:
        out = {"pred": self.pred}
        if self.proba is not None:
            out["proba"] = self.proba
            if self.proba.ndim == 1:
                truth = np.where(self.y == 1, self.proba, 1 - self.proba)
            else:
                truth = self.proba[np.arange(len(self.y)), self.y]
            out["loss"] = stats.log_loss_per_row(truth)
        return out


def encode(problem_type: str, classes: Sequence, y: Any, output: np.ndarray, threshold: float | None = 0.5) -> Scored:
    """`Scored` from raw labels and a model's raw output: class probabilities in `classes` order (classifiers) or
    predictions (regression). Binary predictions are P(positive) >= `threshold` (other types have none)."""
    if problem_type == "regression":
        return Scored(problem_type, np.asarray(y, dtype=float), np.asarray(output, dtype=float))
    codes = pd.Categorical(np.asarray(y), categories=list(classes)).codes
    if (codes < 0).any():
        unknown = sorted({str(v) for v in np.asarray(y)[codes < 0]})[:5]
        raise DataError(f"labels {unknown} are not among the training classes {list(classes)}")
    proba = np.asarray(output, dtype=float)
    if problem_type == "binary":
        if threshold is None:
            raise DataError("binary outputs need the model's decision threshold")
        return Scored(problem_type, codes.astype(int), (proba[:, 1] >= threshold).astype(int), proba[:, 1])
    return Scored(problem_type, codes.astype(int), proba.argmax(axis=1), proba)


def metric_inputs(scored: Scored, names: Sequence[str] | None = None) -> dict[str, tuple[stats.MetricFn, Any]]:
    """name -> (function, the array it reads) for `tasks.ml.stats.bootstrap_*`; all headline metrics by default."""
    available, inputs = headline(scored.problem_type, scored.n_classes), scored.inputs()
    return {name: (available[name][0], inputs[available[name][1]]) for name in (names or available)}


def point_values(scored: Scored) -> dict[str, float]:
    """Every headline metric on all rows."""
    everything = np.arange(len(scored.y))[None, :]
    return {name: float(fn(scored.y, values, everything)[0]) for name, (fn, values) in metric_inputs(scored).items()}


def intervals(scored: Scored, *, n_resamples: int, confidence: float, seed: int) -> dict[str, dict[str, float]]:
    """name -> {value, low, high}: percentile bootstrap intervals of every headline metric on shared resamples."""
    cis = stats.bootstrap_cis(metric_inputs(scored), scored.y, n_resamples=n_resamples, confidence=confidence,
                              seed=seed)
    return {name: {"value": v, "low": lo, "high": hi} for name, (v, lo, hi) in cis.items()}


SCORE_CHUNK_ROWS = 200_000  # rows preprocessed and scored at a time: bounds the memory scoring takes on big batches


def predict_chunked(predict: Callable[[pd.DataFrame], np.ndarray], x: pd.DataFrame,
                    chunk_rows: int = SCORE_CHUNK_ROWS) -> np.ndarray:
    """`predict(x)` on at most `chunk_rows` rows at a time (rows are scored independently), concatenated."""
    if len(x) <= chunk_rows:
        return predict(x)
    return np.concatenate([predict(x.iloc[start:start + chunk_rows]) for start in range(0, len(x), chunk_rows)])


def predict_proba_aligned(estimator: Any, x: pd.DataFrame, classes: list) -> np.ndarray:
    """Class probabilities with columns in `classes` order, whatever order the estimator learned."""
    learned = list(estimator.classes_)
    return predict_chunked(estimator.predict_proba, x)[:, [learned.index(c) for c in classes]]


def model_output(estimator: Any, x: pd.DataFrame, spec: FeatureSpec) -> np.ndarray:
    """Class probabilities in `spec.classes` order for classifiers, predictions for regression."""
    if spec.problem_type == "regression":
        return np.asarray(predict_chunked(estimator.predict, x), dtype=float)
    return predict_proba_aligned(estimator, x, spec.classes)


def score(estimator: Any, x: pd.DataFrame, y: pd.Series, spec: FeatureSpec, threshold: float = 0.5) -> dict:
    """The headline metrics of a fitted estimator on one split, rounded for stable diffs."""
    scored = encode(spec.problem_type, spec.classes, y, model_output(estimator, x, spec), threshold)
    return {k: round(v, 6) for k, v in point_values(scored).items()}


def nan_to_null(value: Any) -> Any:
    """A DVC metrics file's content with NaN as null: NaN never equals itself, so `dvc metrics diff` would list every
    undefined metric as changed."""
    if isinstance(value, dict):
        return {k: nan_to_null(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [nan_to_null(v) for v in value]
    if isinstance(value, float) and np.isnan(value):
        return None
    return value
