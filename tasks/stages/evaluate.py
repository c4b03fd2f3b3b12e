"""Evaluate: score a trained model on the holdout and on every later batch, with bootstrap intervals.

Classifiers: confusion matrix and per-class precision, recall, specificity and F1 per batch; ROC and
precision-recall curves with their areas, calibration, and (binary) a threshold sweep on the validation split where
the decision threshold is chosen by a rule. Regression: residuals and binned predicted-versus-observed means. Text
problems get the terms the model responds to most per class; image problems a grid of misclassified examples.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import average_precision_score, confusion_matrix, precision_recall_curve, roc_curve

from tasks.core.artefacts import (
    BATCH,
    LABEL,
    PREDICTED,
    PROBA,
    ROW_ID,
    SCORE,
    SUPERVISED,
    EvaluationMetrics,
    FeatureSpec,
    row_ids,
)
from tasks.core.config import EvaluateConfig
from tasks.core.errors import ConfigError
from tasks.ml import stats
from tasks.ml.metrics import Scored, encode, intervals, model_output
from tasks.stages.train import TrainedModel, final_step, split_xy

CURVE_COLUMNS = ["curve", "series", "x", "y"]
SWEEP, ROC, PR, CALIBRATION, RESIDUALS = ("threshold sweep (validation)", "ROC", "precision-recall",
                                          "calibration", "residuals (holdout)")
RESIDUAL_POINTS, TOP_TERMS, VOCABULARY, MISCLASSIFIED = 1000, 15, 2000, 24
_TOKEN = re.compile(r"[a-z][a-z']+")


@dataclass(frozen=True)
class Evaluation:
    metrics: EvaluationMetrics   # the threshold (binary) and batch -> metric -> point value: the DVC metrics file
    details: dict[str, Any]      # everything the report shows: intervals, confusion, per-class tables, extras
    curves: pd.DataFrame         # CURVE_COLUMNS, long format: one file renders every curve of the model
    predictions: pd.DataFrame    # batch, row id, y, pred and the model's scores: what fairness, drift, champion read


def thin_curve(fpr: np.ndarray, tpr: np.ndarray, points: int) -> tuple[np.ndarray, np.ndarray]:
    """Keep about `points` points of a ROC curve, evenly spread in FPR, always including both ends."""
    grid = np.linspace(0.0, 1.0, points)
    return grid, np.interp(grid, fpr, tpr)


def thin_pr_curve(y: np.ndarray, proba: np.ndarray, points: int) -> tuple[np.ndarray, np.ndarray]:
    """Interpolated precision (the best precision at recall >= r) on an even recall grid."""
    precision, recall, _ = precision_recall_curve(y, proba)
    best = np.maximum.accumulate(precision)          # recall falls along the arrays, so this is max over recall >= r
    grid = np.linspace(0.0, 1.0, points)
    at = np.searchsorted(recall[::-1], grid, side="left").clip(max=len(recall) - 1)
    return grid, best[::-1][at]


def _curve(name: str, series: Any, x: np.ndarray, y: np.ndarray) -> pd.DataFrame:
    return pd.DataFrame({"curve": name, "series": str(series), "x": np.round(x, 5), "y": np.round(y, 5)})


def _binary_extras(scored: Scored, batch: str, cfg: EvaluateConfig) -> tuple[dict, list[pd.DataFrame]]:
    if len(np.unique(scored.y)) < 2:
        return {}, []
    fpr, tpr, _ = roc_curve(scored.y, scored.proba)
    calibration = stats.calibration_table(scored.y, scored.proba, cfg.calibration_bins)
    curves = [_curve(ROC, batch, *thin_curve(fpr, tpr, cfg.roc_points)),
              _curve(PR, batch, *thin_pr_curve(scored.y, scored.proba, cfg.roc_points)),
              _curve(CALIBRATION, batch, calibration["mean_predicted"], calibration["observed_rate"])]
    extras = {"average_precision": float(average_precision_score(scored.y, scored.proba)),
              "calibration": calibration.to_dict("records")}
    return extras, curves


def _multiclass_curves(scored: Scored, classes: list, cfg: EvaluateConfig) -> list[pd.DataFrame]:
    """One-vs-rest ROC and precision-recall curves per class."""
    curves = []
    for code, label in enumerate(classes):
        truth = (scored.y == code).astype(int)
        if 0 < truth.sum() < len(truth):
            fpr, tpr, _ = roc_curve(truth, scored.proba[:, code])
            curves.append(_curve(f"{ROC} one-vs-rest", label, *thin_curve(fpr, tpr, cfg.roc_points)))
            curves.append(_curve(f"{PR} one-vs-rest", label, *thin_pr_curve(truth, scored.proba[:, code],
                                                                             cfg.roc_points)))
    return curves


def _regression_extras(scored: Scored, batch: str, cfg: EvaluateConfig, seed: int,
                       primary: bool = True) -> tuple[dict, list]:
    """Residual summary, binned predicted-versus-observed means and (primary batch) a sample of residuals."""
    residual = scored.y - scored.pred
    bins = pd.qcut(scored.pred, q=min(cfg.calibration_bins, len(np.unique(scored.pred))), duplicates="drop")
    binned = pd.DataFrame({"p": scored.pred, "y": scored.y}).groupby(bins, observed=True).mean()
    curves = [_curve(CALIBRATION, batch, binned["p"].to_numpy(), binned["y"].to_numpy())]
    if primary:
        rows = np.random.default_rng(seed).permutation(len(residual))[:RESIDUAL_POINTS]
        curves.append(_curve(RESIDUALS, batch, scored.pred[rows], residual[rows]))
    quantiles = np.quantile(residual, [0.05, 0.25, 0.5, 0.75, 0.95])
    extras = {"residuals": {"mean": float(residual.mean()), "std": float(residual.std()),
                            **{f"q{int(q * 100):02d}": float(v) for q, v in zip((0.05, 0.25, 0.5, 0.75, 0.95),
                                                                                quantiles, strict=True)}},
              "histogram": dict(zip(("counts", "edges"), (a.tolist() for a in np.histogram(residual, bins=30)),
                                    strict=True))}
    return extras, curves


def informative_terms(model: TrainedModel, spec: FeatureSpec, train: pd.DataFrame) -> list[dict[str, Any]]:
    """Per class, the terms whose one-word document the model scores highest for that class (other features
    missing), over the training split's most frequent terms: what the model as a whole responds to."""
    frequency: Counter = Counter()
    for column in spec.text:
        for text in train[column].dropna().astype(str):
            frequency.update(set(_TOKEN.findall(text.lower())))
    terms = [term for term, count in frequency.most_common(VOCABULARY) if count >= 3]
    if not terms:
        return []
    probe = pd.DataFrame({c: pd.Series([np.nan] * len(terms), dtype=train[c].dtype) for c in train.columns
                          if c != spec.target})
    for column in spec.text:
        probe[column] = terms
    proba = model_output(model.pipeline, probe, spec)
    rows = []
    for code, label in enumerate(spec.classes):
        for rank, i in enumerate(np.argsort(-proba[:, code], kind="stable")[:TOP_TERMS], start=1):
            rows.append({"class": str(label), "rank": rank, "term": terms[i], "probability": float(proba[i, code])})
    return rows


def misclassified_examples(frame: pd.DataFrame, spec: FeatureSpec, scored: Scored, shape: list[int]) -> list[dict]:
    """The most confident mistakes: pixels (the numeric features in order), true and predicted class."""
    if int(np.prod(shape)) != len(spec.numeric):
        raise ConfigError(f"features.image_shape: shape {shape} needs {int(np.prod(shape))} pixel columns; the problem "
                          f"declares {len(spec.numeric)} numeric features")
    confidence = scored.proba.max(axis=1) if scored.proba.ndim == 2 else np.abs(scored.proba - 0.5) + 0.5
    wrong = np.flatnonzero(scored.pred != scored.y)
    chosen = wrong[np.argsort(-confidence[wrong], kind="stable")[:MISCLASSIFIED]]
    pixels = frame[spec.numeric].to_numpy(dtype=float)
    return [{"row": int(i), "true": str(spec.classes[scored.y[i]]), "predicted": str(spec.classes[scored.pred[i]]),
             "caption": f"{spec.classes[scored.y[i]]} → {spec.classes[scored.pred[i]]}",
             "confidence": float(confidence[i]), "pixels": pixels[i].round(4).tolist()} for i in chosen]


def _prediction_frame(batch: str, rows: pd.DataFrame, y: pd.Series, scored: Scored, output: np.ndarray,
                      spec: FeatureSpec) -> pd.DataFrame:
    """One batch's rows of the predictions file (`tasks.core.artefacts`): batch, row id, label, prediction, scores."""
    frame = pd.DataFrame({BATCH: batch, ROW_ID: row_ids(rows, spec.id_column).to_numpy(), LABEL: y.to_numpy()})
    if spec.problem_type == "regression":
        frame[PREDICTED] = output
        return frame
    frame[PREDICTED] = np.asarray(spec.classes, dtype=object)[scored.pred]
    frame[PREDICTED] = frame[PREDICTED].astype(frame[LABEL].dtype)
    if spec.problem_type == "binary":
        frame[SCORE] = output[:, 1]
    else:
        for code, label in enumerate(spec.classes):
            frame[f"{PROBA}{label}"] = output[:, code]
    return frame


def family_insights(model: TrainedModel) -> dict[str, Any]:
    """What `tasks.ml.model_insights` explains about a supervised model (importances, coefficients, the OLS table and
    residual plot, tree, class evidence, ...): JSON tables and SVG figures. The statsmodels Logit of logistic
    regression is left out (a minute on 44,000 rows). A model it cannot explain gets the reason instead, so an
    explanation never costs the evaluation."""
    from tasks.ml.figures import svg
    from tasks.ml.model_insights import insights

    try:
        found = insights(model.pipeline, model.meta["family"])
    except Exception as exc:  # recorded in the report; the metrics stand without it
        return {"tables": {}, "figures": {}, "unavailable": f"{type(exc).__name__}: {exc}"}
    return {"tables": found.tables, "figures": {name: svg(fig) for name, fig in found.figures.items()}}


def unsupervised_details(model: TrainedModel, seed: int, image_shape: list[int] | None) -> dict[str, Any]:
    """What an unsupervised model can show: its final step's `summary()` (e.g. inertia and silhouette by k,
    explained variance), and for a generator with `sample(n)` on an image problem, generated images."""
    final = final_step(model.pipeline)
    details: dict[str, Any] = {"summary": final.summary() if callable(getattr(final, "summary", None)) else {}}
    if image_shape and callable(getattr(final, "sample", None)):
        samples = np.asarray(final.sample(MISCLASSIFIED, random_state=seed), dtype=float)
        details["generated"] = {"shape": image_shape,
                                "examples": [{"caption": "", "pixels": row.round(4).tolist()} for row in samples]}
    return details


def scores_from_predictions(rows: pd.DataFrame, spec: FeatureSpec, threshold: float | None) -> Scored:
    """The `Scored` outputs of one batch back from the prediction rows this module wrote (in their order: align
    them to the data with `tasks.core.artefacts.batch_predictions` first)."""
    if spec.problem_type == "regression":
        output = rows[PREDICTED].to_numpy(dtype=float)
    elif spec.problem_type == "binary":
        positive = rows[SCORE].to_numpy(dtype=float)
        output = np.column_stack([1 - positive, positive])
    else:
        output = rows[[f"{PROBA}{label}" for label in spec.classes]].to_numpy(dtype=float)
    return encode(spec.problem_type, spec.classes, rows[LABEL], output, threshold)


def prediction_column(rows: pd.DataFrame, spec: FeatureSpec) -> pd.Series:
    """What a model predicts, as one column: P(positive) for binary, the label or value otherwise."""
    return rows[SCORE] if spec.problem_type == "binary" else rows[PREDICTED]


def choose_threshold(model: TrainedModel, spec: FeatureSpec, valid: pd.DataFrame,
                     cfg: EvaluateConfig) -> tuple[float, pd.DataFrame]:
    """The binary decision threshold `cfg.threshold_rule` picks on the validation split, and the sweep."""
    x, y = split_xy(valid, spec)
    scored = encode("binary", spec.classes, y, model_output(model.pipeline, x, spec))
    sweep = stats.threshold_sweep(scored.y, scored.proba, np.linspace(0, 1, cfg.sweep_points).round(6))
    return stats.choose_threshold(sweep, cfg.threshold_rule), sweep


def evaluate_model(
    model: TrainedModel, spec: FeatureSpec, valid: pd.DataFrame, batches: dict[str, pd.DataFrame],
    cfg: EvaluateConfig, *, seed: int, train: pd.DataFrame | None = None, image_shape: list[int] | None = None,
) -> Evaluation:
    """Every batch: headline metrics with bootstrap intervals (same seed, so all models share resamples) and the
    problem type's tables and curves. `train` enables informative terms (text problems); `image_shape` the grid.
    An unsupervised model (clustering, decomposition, generation) is described, not scored."""
    kind, model_kind = spec.problem_type, model.meta.get("kind", "supervised")
    metrics: dict[str, dict[str, float | None]] = {}
    details: dict[str, Any] = {"problem_type": kind, "kind": model_kind, "classes": [str(c) for c in spec.classes],
                               "batches": {}}
    curves, predictions = [], []
    threshold = None
    if model_kind != "supervised" or kind not in SUPERVISED:
        return Evaluation(metrics=EvaluationMetrics({batch: {"rows": len(frame)} for batch, frame in batches.items()}),
                          details={**details, **unsupervised_details(model, seed, image_shape)},
                          curves=pd.DataFrame(columns=CURVE_COLUMNS), predictions=pd.DataFrame(columns=[BATCH]))
    if kind == "binary":
        threshold, sweep = choose_threshold(model, spec, valid, cfg)
        details["threshold"] = {"rule": cfg.threshold_rule, "value": threshold, "chosen_on": "valid"}
        melted = sweep.melt(id_vars="threshold", value_vars=["precision", "recall", "specificity", "f1"])
        curves.append(_curve(SWEEP, "", melted["threshold"], melted["value"]).assign(series=melted["variable"]))
    primary = next(iter(batches), None)  # the batch the champion is chosen on (the holdout, by default)
    for batch, frame in batches.items():
        x, y = split_xy(frame, spec)
        output = model_output(model.pipeline, x, spec)
        scored = encode(kind, spec.classes, y, output, threshold)
        entry: dict[str, Any] = {"rows": len(frame), "intervals": intervals(
            scored, n_resamples=cfg.bootstrap_resamples, confidence=cfg.confidence, seed=seed)}
        metrics[batch] = {"rows": len(frame), **{k: round(v["value"], 6) for k, v in entry["intervals"].items()}}
        if kind == "regression":
            extras, batch_curves = _regression_extras(scored, batch, cfg, seed, batch == primary)
        else:
            codes = list(range(len(spec.classes)))
            entry["confusion"] = confusion_matrix(scored.y, scored.pred, labels=codes).tolist()
            entry["per_class"] = stats.per_class_report(scored.y, scored.pred, codes).assign(
                label=details["classes"]).to_dict("records")
            if kind == "binary":
                extras, batch_curves = _binary_extras(scored, batch, cfg)
            else:
                extras = {}
                batch_curves = _multiclass_curves(scored, list(spec.classes), cfg) if batch == primary else []
            if batch == primary and image_shape:
                details["misclassified"] = {"shape": image_shape,
                                            "examples": misclassified_examples(frame, spec, scored, image_shape)}
        entry.update(extras)
        curves += batch_curves
        details["batches"][batch] = entry
        predictions.append(_prediction_frame(batch, frame, y, scored, output, spec))
    if spec.text and kind in ("binary", "multiclass") and train is not None:
        details["informative_terms"] = informative_terms(model, spec, train)
    details["insights"] = family_insights(model)
    return Evaluation(metrics=EvaluationMetrics(metrics, threshold), details=details,
                      curves=pd.concat(curves, ignore_index=True) if curves else pd.DataFrame(columns=CURVE_COLUMNS),
                      predictions=pd.concat(predictions, ignore_index=True))
