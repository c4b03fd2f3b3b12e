"""Batch scoring with the promoted model: the contract for a batch that may lack labels, the predictions file, and
confidence-based performance estimation (CBPE) where labels are absent. Pure functions; the flow is
flows/predict.py.

CBPE (binary): with calibrated probabilities p, row i is classified right with probability c_i = p_i where
p_i >= threshold, else 1 - p_i, so the expected accuracy is mean(c). Its interval is a parametric bootstrap (each
row right with probability c_i): the spread of the accuracy the labels would show if the model is calibrated on the
batch. How far to trust it: `calibration_gap`, the same estimate's error on the reference holdout (labels known),
is itself measured on a sample, so the stated error is |gap| + the root sum of squares of the batch interval's
half-width and the gap's own normal-interval half-width (z * its standard error on the holdout); drift of the
inputs since then weakens it further (the drift report).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import norm

from tasks.ml.metrics import Scored

PREDICTION, PROBA, VERSION, MODEL = "prediction", "proba", "model_version", "model"


def unlabeled_contract(suite: dict[str, Any], target: str) -> dict[str, Any]:
    """The contract without the target's expectations (and the target left out of the column set), for a batch
    whose labels have not arrived."""
    kept = []
    for expectation in suite["expectations"]:
        kwargs = expectation.get("kwargs", {})
        if kwargs.get("column") == target:
            continue
        if "column_set" in kwargs:
            expectation = {**expectation, "kwargs": {**kwargs,
                                                     "column_set": [c for c in kwargs["column_set"] if c != target]}}
        kept.append(expectation)
    return {**suite, "expectations": kept}


def predictions_frame(ids: pd.Series, output: np.ndarray, problem_type: str, classes: Sequence, threshold: float | None,
                      version: str, model: str) -> pd.DataFrame:
    """Row ids, the predicted label, P(positive) for binary problems, and the model version that scored them."""
    frame = pd.DataFrame({ids.name or "row": ids.to_numpy()})
    if problem_type == "regression":
        frame[PREDICTION] = output
    elif problem_type == "binary":
        frame[PREDICTION] = np.where(output[:, 1] >= threshold, classes[1], classes[0])
        frame[PROBA] = output[:, 1]
    else:
        frame[PREDICTION] = np.asarray(classes, dtype=object)[output.argmax(axis=1)]
    return frame.assign(**{VERSION: version, MODEL: model})


def expected_correct(proba: np.ndarray, threshold: float) -> np.ndarray:
    """Per row, the probability that its predicted label is right, if `proba` (P(positive)) is calibrated."""
    proba = np.asarray(proba, dtype=float)
    return np.where(proba >= threshold, proba, 1 - proba)


def cbpe_accuracy(proba: np.ndarray, threshold: float, *, n_resamples: int, confidence: float,
                  seed: int) -> dict[str, float]:
    """Estimated accuracy {value, low, high} of a binary batch from its probabilities alone."""
    correct = expected_correct(proba, threshold)
    rng = np.random.default_rng(seed)
    draws = np.array([(rng.random(len(correct)) < correct).mean() for _ in range(n_resamples)])
    alpha = (1 - confidence) / 2
    low, high = np.quantile(draws, [alpha, 1 - alpha])
    return {"value": float(correct.mean()), "low": float(low), "high": float(high)}


def cbpe(proba: np.ndarray, threshold: float, reference: Scored, *, n_resamples: int, confidence: float,
         seed: int) -> dict[str, float]:
    """CBPE of accuracy on a batch, with its trust: the reference holdout's gap (actual - estimated), its standard
    error, and the stated error (see the module docstring)."""
    estimate = cbpe_accuracy(proba, threshold, n_resamples=n_resamples, confidence=confidence, seed=seed)
    residual = (np.asarray(reference.pred) == np.asarray(reference.y)) - expected_correct(reference.proba, threshold)
    gap = float(residual.mean())
    gap_se = float(residual.std(ddof=1) / np.sqrt(len(residual)))
    half = (estimate["high"] - estimate["low"]) / 2
    gap_half = float(norm.ppf(1 - (1 - confidence) / 2)) * gap_se
    return {**estimate, "calibration_gap": gap, "calibration_gap_se": gap_se,
            "stated_error": abs(gap) + float(np.hypot(half, gap_half))}


def compare_with_truth(estimate: dict[str, float], scored: Scored) -> dict[str, Any]:
    """The estimate against the accuracy the labels give: the error and whether it is within the stated error."""
    actual = float((scored.pred == scored.y).mean())
    error = estimate["value"] - actual
    return {"actual_accuracy": actual, "error": error, "within_stated_error": abs(error) <= estimate["stated_error"]}
