"""Evaluate: score a trained model on the holdout and on every later batch."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.metrics import confusion_matrix, roc_curve

from tasks.featurize import FeatureSpec
from tasks.metrics import metrics_from_predictions, predictions
from tasks.train import TrainedModel, split_xy


@dataclass(frozen=True)
class Evaluation:
    metrics: dict[str, dict[str, float]]   # batch -> metric -> value
    roc: pd.DataFrame                      # batch, fpr, tpr (binary problems)
    confusion: dict[str, list[list[int]]]  # batch -> matrix, rows = true class in `labels` order
    labels: list


def thin_curve(fpr: np.ndarray, tpr: np.ndarray, points: int) -> tuple[np.ndarray, np.ndarray]:
    """Keep about `points` points of a ROC curve, evenly spread in FPR, always including both ends."""
    grid = np.linspace(0.0, 1.0, points)
    return grid, np.interp(grid, fpr, tpr)


def evaluate_model(
    model: TrainedModel, spec: FeatureSpec, batches: dict[str, pd.DataFrame], *, threshold: float, roc_points: int,
) -> Evaluation:
    """Headline metrics per batch; ROC curve and confusion matrix per batch for classifiers."""
    metrics, curves, confusion = {}, [], {}
    for batch, frame in batches.items():
        x, y = split_xy(frame, spec)
        proba = predictions(model.pipeline, x, spec)  # scored once: the metrics, curve and matrix all use it
        metrics[batch] = {"rows": len(frame), **metrics_from_predictions(y, proba, spec, threshold)}
        if spec.problem_type == "regression":
            continue
        if len(spec.classes) == 2:
            fpr, tpr, _ = roc_curve(y.to_numpy() == spec.classes[1], proba[:, 1])
            grid, values = thin_curve(fpr, tpr, roc_points)
            curves.append(pd.DataFrame({"batch": batch, "fpr": grid.round(4), "tpr": values.round(4)}))
            pred = np.where(proba[:, 1] >= threshold, spec.classes[1], spec.classes[0])
        else:
            pred = np.asarray(spec.classes)[proba.argmax(axis=1)]
        confusion[batch] = confusion_matrix(y, pred, labels=spec.classes).tolist()
    roc = pd.concat(curves, ignore_index=True) if curves else pd.DataFrame(columns=["batch", "fpr", "tpr"])
    return Evaluation(metrics=metrics, roc=roc, confusion=confusion, labels=list(spec.classes))
