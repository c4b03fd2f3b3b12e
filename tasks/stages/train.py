"""Train: fit one family's pipeline on the training split and describe what was fitted.

What a model is (`meta.json`) is kept apart from how this run went (`TrainedModel.run`: fit time, placement, commit,
wall-clock time): the model directory's hash then depends only on its inputs, and the run facts go to the stage's
record (reports/train/<problem>.json).
"""

from __future__ import annotations

import platform
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import joblib
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.pipeline import Pipeline
from sklearn.utils.validation import has_fit_parameter

from tasks.core.artefacts import FEATURES_FILE, KEY_FILE, META_FILE, MODEL_FILE, TUNE_FILE, FeatureSpec
from tasks.core.config import ModelConfig
from tasks.core.errors import ConfigError
from tasks.core.feature_options import FeatureOptions
from tasks.core.io import atomic_dir, load_pickle, read_json, write_json
from tasks.families import BuildContext, build_estimator, explicit_features, get_family
from tasks.ml.device import device_used
from tasks.ml.metrics import score
from tasks.ml.preprocess import feature_summary
from tasks.ml.resample import Resampled, resample


@dataclass(frozen=True)
class TrainedModel:
    pipeline: BaseEstimator
    meta: dict[str, Any]
    features: dict[str, Any] | None = None  # what the preprocessing built (feature_summary), when it can tell
    run: dict[str, Any] = field(default_factory=dict)  # fit_seconds, placement, commit, time: not in the model
    tuning: dict[str, Any] | None = None  # the hyperparameter search it came from (tasks.stages.tune), when tuned


def final_step(estimator: BaseEstimator) -> BaseEstimator:
    return estimator.steps[-1][1] if isinstance(estimator, Pipeline) else estimator


def split_xy(frame: pd.DataFrame, spec: FeatureSpec) -> tuple[pd.DataFrame, pd.Series]:
    return frame.drop(columns=[spec.target]), frame[spec.target]


def describe(
    name: str, cfg: ModelConfig, spec: FeatureSpec, estimator: BaseEstimator, valid: pd.DataFrame, *, seed: int,
    device: str, options: FeatureOptions, train_rows: int, class_counts: dict[str, Any], kind: str,
    lineage: dict[str, Any] | None, libraries: dict[str, str] | None,
) -> dict[str, Any]:
    """What a fitted model is (`meta.json`), its validation metrics included (supervised models)."""
    x_valid, y_valid = split_xy(valid, spec)
    return {
        "name": name,
        "problem": cfg.problem,
        "family": cfg.family,
        "problem_type": spec.problem_type,
        "hyperparameters": cfg.hyperparameters,
        "feature_options": options.model_dump(mode="json"),
        "seed": seed,
        "device": device_used(estimator, device),  # XGBoost and Keras fall back to the CPU when no GPU is visible
        "train_rows": train_rows,
        "class_counts": class_counts,
        "features": spec.features,
        "kind": kind,
        "validation": score(estimator, x_valid, y_valid, spec) if kind == "supervised" else {},
        "lineage": lineage or {},
        "python": platform.python_version(),
        "libraries": libraries or {},
    }


def fit_estimator(
    name: str, cfg: ModelConfig, spec: FeatureSpec, train: pd.DataFrame, *, seed: int, device: str = "cpu",
    problem_features: FeatureOptions = FeatureOptions(),
) -> tuple[BaseEstimator, Resampled]:
    """`cfg.family` built from `cfg.hyperparameters` and fitted on `train` (resampled as the feature options say,
    class weights passed to the final step); the fitted estimator and the resampled rows."""
    family = get_family(cfg.family)
    chosen = explicit_features(problem_features, cfg.features)
    options = FeatureOptions().merged(chosen)
    estimator = build_estimator(family, BuildContext(spec=spec, seed=seed, device=device, features=chosen),
                                cfg.hyperparameters)
    sampled = resample(train, spec.target, options.resampling if family.kind == "supervised" else "none", seed=seed)
    x_train, y_train = split_xy(sampled.frame, spec)
    fit_params = {}
    if sampled.sample_weight is not None:
        if not has_fit_parameter(final_step(estimator), "sample_weight"):
            raise ConfigError(f"train.{name}: family {cfg.family!r} cannot take class weights; use "
                              "features.resampling: downsample or none")
        fit_params = {f"{estimator.steps[-1][0]}__sample_weight" if isinstance(estimator, Pipeline)
                      else "sample_weight": sampled.sample_weight}
    if family.kind == "supervised":
        estimator.fit(x_train, y_train, **fit_params)
    else:
        estimator.fit(x_train)  # clustering, decomposition, generation: the target is not used
    return estimator, sampled


def train_model(
    name: str, cfg: ModelConfig, spec: FeatureSpec, train: pd.DataFrame, valid: pd.DataFrame,
    *, seed: int, device: str = "cpu", problem_features: FeatureOptions = FeatureOptions(),
    lineage: dict[str, Any] | None = None, libraries: dict[str, str] | None = None,
) -> TrainedModel:
    """Fit `cfg.family` on `train` (resampled as the feature options say); report validation metrics, timings and
    what the preprocessing built."""
    family = get_family(cfg.family)
    options = FeatureOptions().merged(explicit_features(problem_features, cfg.features))
    started = time.perf_counter()
    estimator, sampled = fit_estimator(name, cfg, spec, train, seed=seed, device=device,
                                       problem_features=problem_features)
    fit_seconds = time.perf_counter() - started
    counts = {"before": sampled.counts_before, "after": sampled.counts_after}
    meta = describe(name, cfg, spec, estimator, valid, seed=seed, device=device, options=options,
                    train_rows=len(train), class_counts=counts, kind=family.kind, lineage=lineage, libraries=libraries)
    preprocess = estimator.named_steps.get("preprocess") if isinstance(estimator, Pipeline) else None
    summary = None
    if isinstance(preprocess, Pipeline) and "columns" in preprocess.named_steps:
        summary = feature_summary(preprocess, spec, options, train=sampled.frame, resampled=sampled, seed=seed)
    return TrainedModel(pipeline=estimator, meta=meta, features=summary, run={"fit_seconds": round(fit_seconds, 3)})


def train_ensemble(
    name: str, cfg: ModelConfig, spec: FeatureSpec, members: dict[str, BaseEstimator], valid: pd.DataFrame,
    *, metric: str, seed: int, lineage: dict[str, Any] | None = None, libraries: dict[str, str] | None = None,
) -> TrainedModel:
    """Fit an `ensemble` model: greedy selection over its fitted `members` (key -> pipeline) on the validation
    split, optimising `metric` (its own `metric` hyperparameter, else the problem's ranking metric)."""
    estimator = build_estimator(get_family(cfg.family), BuildContext(spec=spec, seed=seed), cfg.hyperparameters)
    estimator.set_params(estimators=list(members.items()), metric=cfg.hyperparameters.get("metric", metric))
    x_valid, y_valid = split_xy(valid, spec)
    started = time.perf_counter()
    estimator.fit(x_valid, y_valid)
    fit_seconds = time.perf_counter() - started
    counts = {str(k): int(v) for k, v in y_valid.value_counts().items()} if spec.problem_type != "regression" else {}
    meta = describe(name, cfg, spec, estimator, valid, seed=seed, device="cpu", options=FeatureOptions(),
                    train_rows=len(valid), class_counts={"before": counts, "after": counts}, kind="supervised",
                    lineage=lineage, libraries=libraries)
    meta["ensemble"] = estimator.summary()
    return TrainedModel(pipeline=estimator, meta=meta, run={"fit_seconds": round(fit_seconds, 3)})


def save_model(model: TrainedModel, target: Path, key: dict[str, Any] | None = None) -> None:
    """Write the fitted pipeline, its metadata, its feature summary, its search (when tuned) and its key (what it
    was fitted from, see `tasks.core.model_key`) as one directory, atomically."""
    with atomic_dir(target) as tmp:
        joblib.dump(model.pipeline, tmp / MODEL_FILE, compress=3)
        write_json(tmp / META_FILE, model.meta)
        if model.features is not None:
            write_json(tmp / FEATURES_FILE, model.features)
        if model.tuning is not None:
            write_json(tmp / TUNE_FILE, model.tuning)
        if key is not None:
            write_json(tmp / KEY_FILE, key)


def load_model(directory: Path) -> TrainedModel:
    return TrainedModel(pipeline=load_pickle(directory / MODEL_FILE), meta=read_json(directory / META_FILE))
