"""Metric computations shared by training (validation scores) and evaluation."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
from sklearn import metrics as skm

from tasks.featurize import FeatureSpec


def classification_metrics(y_true: np.ndarray, proba: np.ndarray, classes: list, threshold: float = 0.5) -> dict:
    """Accuracy, precision, recall, F1, ROC AUC and log loss; binary uses `threshold` on P(positive class)."""
    if len(classes) == 2:
        positive = classes[1]
        y_bin = (np.asarray(y_true) == positive).astype(int)
        pred = (proba[:, 1] >= threshold).astype(int)
        return {
            "accuracy": skm.accuracy_score(y_bin, pred),
            "precision": skm.precision_score(y_bin, pred, zero_division=0),
            "recall": skm.recall_score(y_bin, pred, zero_division=0),
            "f1": skm.f1_score(y_bin, pred, zero_division=0),
            "roc_auc": skm.roc_auc_score(y_bin, proba[:, 1]) if len(np.unique(y_bin)) == 2 else float("nan"),
            "log_loss": skm.log_loss(y_bin, proba[:, 1], labels=[0, 1]),
        }
    pred = np.asarray(classes)[proba.argmax(axis=1)]
    return {
        "accuracy": skm.accuracy_score(y_true, pred),
        "precision": skm.precision_score(y_true, pred, average="macro", zero_division=0),
        "recall": skm.recall_score(y_true, pred, average="macro", zero_division=0),
        "f1": skm.f1_score(y_true, pred, average="macro", zero_division=0),
        "roc_auc": skm.roc_auc_score(y_true, proba, multi_class="ovr", labels=classes),
        "log_loss": skm.log_loss(y_true, proba, labels=classes),
    }


def regression_metrics(y_true: np.ndarray, pred: np.ndarray) -> dict:
    return {
        "rmse": float(np.sqrt(skm.mean_squared_error(y_true, pred))),
        "mae": skm.mean_absolute_error(y_true, pred),
        "r2": skm.r2_score(y_true, pred),
    }


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


def predictions(estimator: Any, x: pd.DataFrame, spec: FeatureSpec) -> np.ndarray:
    """What the metrics are computed from: class probabilities in `spec.classes` order, or regression values."""
    if spec.problem_type == "regression":
        return predict_chunked(estimator.predict, x)
    return predict_proba_aligned(estimator, x, spec.classes)


def metrics_from_predictions(y: pd.Series, predicted: np.ndarray, spec: FeatureSpec, threshold: float = 0.5) -> dict:
    """The headline metrics of `predictions(...)` against the truth, rounded for stable diffs."""
    if spec.problem_type == "regression":
        values = regression_metrics(y.to_numpy(), predicted)
    else:
        values = classification_metrics(y.to_numpy(), predicted, spec.classes, threshold)
    return {k: round(float(v), 6) for k, v in values.items()}


def score(estimator: Any, x: pd.DataFrame, y: pd.Series, spec: FeatureSpec, threshold: float = 0.5) -> dict:
    """The headline metrics of a fitted estimator on one split."""
    return metrics_from_predictions(y, predictions(estimator, x, spec), spec, threshold)
