"""Train stage, `engine: dask`: an XGBoost or LightGBM model fitted through its Dask interface on partitioned
Parquet (the cluster and booster plumbing: tasks/adapters/distributed.py)."""

from __future__ import annotations

import time
from typing import Any

import pandas as pd
from sklearn.pipeline import Pipeline

from tasks.adapters.distributed import (
    DASK_FAMILIES,
    booster_params,
    dask_booster,
    sample_rows,
    to_local,
    transformed,
)
from tasks.core.artefacts import FeatureSpec
from tasks.core.config import ModelConfig
from tasks.core.errors import ConfigError
from tasks.core.feature_options import FeatureOptions
from tasks.families import BuildContext, build_estimator, explicit_features, get_family
from tasks.ml.metrics import score
from tasks.stages.train import TrainedModel, split_xy


def train_booster(
    client: Any, name: str, cfg: ModelConfig, spec: FeatureSpec, frame: Any, *, seed: int,
    problem_features: FeatureOptions = FeatureOptions(), fit_sample_rows: int = 1_000_000,
    valid: pd.DataFrame | None = None, lineage: dict[str, Any] | None = None,
) -> TrainedModel:
    """Fit `cfg` (an xgboost or lightgbm model) on the Dask dataframe `frame` (features and target) on `client`'s
    cluster; validation metrics on `valid` when given."""
    if cfg.family not in DASK_FAMILIES:
        raise ConfigError(f"train.{name}: family {cfg.family!r} has no Dask interface; expected one of "
                          f"{list(DASK_FAMILIES)}")
    chosen = explicit_features(problem_features, cfg.features)
    unfitted = build_estimator(get_family(cfg.family), BuildContext(spec=spec, seed=seed, features=chosen),
                               cfg.hyperparameters)
    preprocess = unfitted.named_steps["preprocess"]
    started = time.perf_counter()
    total = int(frame.shape[0].compute())
    x_sample, _ = split_xy(sample_rows(frame, total, fit_sample_rows, seed), spec)
    preprocess.fit(x_sample)
    params = booster_params(cfg.family, cfg.hyperparameters, seed)
    model = dask_booster(cfg.family, spec.problem_type, params)
    model.client = client
    model.fit(transformed(frame.drop(columns=[spec.target]), preprocess), frame[spec.target])
    pipeline = Pipeline([("preprocess", preprocess), ("model", to_local(model, cfg.family, spec.problem_type, params))])
    fit_seconds = time.perf_counter() - started
    meta = {
        "name": name, "problem": cfg.problem, "family": cfg.family, "problem_type": spec.problem_type,
        "hyperparameters": cfg.hyperparameters,
        "feature_options": FeatureOptions().merged(chosen).model_dump(mode="json"), "seed": seed,
        "device": "cpu", "engine": "dask",
        "train_rows": total, "preprocess_fit_rows": len(x_sample),
        "features": spec.features, "kind": "supervised",
        "validation": score(pipeline, *split_xy(valid, spec), spec) if valid is not None else {},
        "lineage": lineage or {},
    }
    return TrainedModel(pipeline=pipeline, meta=meta, run={"fit_seconds": round(fit_seconds, 3)})
