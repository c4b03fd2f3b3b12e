"""Train: fit one family's pipeline on the training split and describe what was fitted."""

from __future__ import annotations

import platform
import time
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Any

import joblib
import pandas as pd
from sklearn.base import BaseEstimator

from tasks.config import ModelConfig
from tasks.families import BuildContext, build_estimator, get_family
from tasks.featurize import FeatureSpec
from tasks.io import atomic_dir, read_json, write_json
from tasks.metrics import score

MODEL_FILE, META_FILE = "model.joblib", "meta.json"
_LIBRARIES = ("scikit-learn", "xgboost", "pandas", "numpy")


@dataclass(frozen=True)
class TrainedModel:
    pipeline: BaseEstimator
    meta: dict[str, Any]


def split_xy(frame: pd.DataFrame, spec: FeatureSpec) -> tuple[pd.DataFrame, pd.Series]:
    return frame.drop(columns=[spec.target]), frame[spec.target]


def train_model(
    name: str, cfg: ModelConfig, spec: FeatureSpec, train: pd.DataFrame, valid: pd.DataFrame,
    *, seed: int, device: str = "cpu", lineage: dict[str, Any] | None = None,
) -> TrainedModel:
    """Fit `cfg.family` on `train`; report validation metrics and timings in the metadata."""
    family = get_family(cfg.family)
    estimator = build_estimator(family, BuildContext(spec=spec, seed=seed, device=device), cfg.hyperparameters)
    x_train, y_train = split_xy(train, spec)
    started = time.perf_counter()
    estimator.fit(x_train, y_train)
    fit_seconds = time.perf_counter() - started
    x_valid, y_valid = split_xy(valid, spec)
    meta = {
        "name": name,
        "problem": cfg.problem,
        "family": cfg.family,
        "problem_type": spec.problem_type,
        "hyperparameters": cfg.hyperparameters,
        "seed": seed,
        "device": device,
        "train_rows": len(train),
        "features": spec.features,
        "fit_seconds": round(fit_seconds, 3),
        "validation": score(estimator, x_valid, y_valid, spec),
        "lineage": lineage or {},
        "python": platform.python_version(),
        "libraries": {lib: version(lib) for lib in _LIBRARIES},
    }
    return TrainedModel(pipeline=estimator, meta=meta)


def save_model(model: TrainedModel, target: Path) -> None:
    """Write the fitted pipeline and its metadata as one directory, atomically."""
    with atomic_dir(target) as tmp:
        joblib.dump(model.pipeline, tmp / MODEL_FILE, compress=3)
        write_json(tmp / META_FILE, model.meta)


def load_model(directory: Path) -> TrainedModel:
    return TrainedModel(pipeline=joblib.load(directory / MODEL_FILE), meta=read_json(directory / META_FILE))
