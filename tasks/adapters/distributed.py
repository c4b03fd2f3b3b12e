"""Scale-out on Dask: where the cluster is, and boosters trained through XGBoost's and LightGBM's Dask interfaces
on partitioned Parquet (data larger than one worker's memory: each worker holds only its share of the rows).

The booster is fitted on preprocessed partitions: the model's own preprocessing (its family's "preprocess" step)
is fitted once on a seeded sample of at most `fit_sample_rows` rows, then applied to every partition where it
lies. The result is an ordinary fitted pipeline (preprocessing + a local XGBoost/LightGBM estimator) that
`tasks.stages.train.save_model` saves and every other stage loads like any other model (`train_booster` in
tasks/stages/train_dask.py puts these pieces together for the train stage).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.pipeline import Pipeline

from tasks.core.config import DistributedConfig, IngestConfig
from tasks.core.errors import ConfigError

DASK_FAMILIES = ("xgboost", "lightgbm")


def local_cluster_kwargs(cfg: DistributedConfig) -> dict[str, Any]:
    """Keyword arguments of `distributed.LocalCluster` for the configured local cluster."""
    return {"n_workers": cfg.n_workers or os.cpu_count() or 1, "threads_per_worker": cfg.threads_per_worker,
            "memory_limit": cfg.memory_limit, "processes": True, "dashboard_address": None}


def task_runner_kwargs(cfg: DistributedConfig) -> dict[str, Any]:
    """Keyword arguments of `prefect_dask.DaskTaskRunner`: the scheduler's address, or a local cluster."""
    if cfg.scheduler:
        return {"address": cfg.scheduler}
    return {"cluster_class": "distributed.LocalCluster", "cluster_kwargs": local_cluster_kwargs(cfg)}


@contextmanager
def connect(cfg: DistributedConfig) -> Iterator[Any]:
    """A Dask client on the configured scheduler, or on a local cluster that lives as long as the block."""
    from distributed import Client, LocalCluster

    if cfg.scheduler:
        with Client(cfg.scheduler) as client:
            yield client
        return
    with LocalCluster(**local_cluster_kwargs(cfg)) as cluster, Client(cluster) as client:
        yield client


@contextmanager
def client_here(cfg: DistributedConfig) -> Iterator[Any]:
    """A client on the cluster this code runs in (inside a Dask task: its own, without holding a worker thread),
    else on the configured one (`connect`)."""
    from distributed import get_worker, worker_client

    try:
        get_worker()
    except ValueError:
        with connect(cfg) as client:
            yield client
        return
    with worker_client() as client:
        yield client


def read_rows(path: Path, columns: list[str], filters: list[tuple[str, str, Any]] | None = None) -> Any:
    """A Parquet file or a directory of Parquet parts as a lazy Dask dataframe (one partition per part or row
    group), `filters` pushed down to the reader."""
    import dask.dataframe as dd

    return dd.read_parquet(str(path), columns=columns, filters=filters or None)


def reference_rows(path: Path, cfg: IngestConfig) -> list[tuple[str, str, Any]]:
    """Parquet filters keeping the problem's reference (training) period when the data has its time column."""
    import pyarrow.dataset as ds

    if cfg.time_column is None or cfg.time_column not in ds.dataset(str(path), format="parquet").schema.names:
        return []
    return [(cfg.time_column, "==", cfg.reference_period)]


def booster_params(family: str, hyperparameters: dict[str, Any], seed: int) -> dict[str, Any]:
    """What the registry's families pass their boosters besides the hyperparameters (histogram trees, the seed)."""
    if family == "xgboost":
        return {"tree_method": "hist", "random_state": seed, **hyperparameters}
    if family == "lightgbm":
        return {"random_state": seed, "verbose": -1, **hyperparameters}
    raise ConfigError(f"family {family!r} has no Dask interface here; expected one of {list(DASK_FAMILIES)}")


def dask_booster(family: str, problem_type: str, params: dict[str, Any]) -> BaseEstimator:
    """The Dask estimator of a booster family: xgboost.dask or lightgbm's Dask classes."""
    regression = problem_type == "regression"
    if family == "xgboost":
        from xgboost import dask as dxgb

        return (dxgb.DaskXGBRegressor if regression else dxgb.DaskXGBClassifier)(**params)
    if family == "lightgbm":
        from lightgbm import DaskLGBMClassifier, DaskLGBMRegressor

        return (DaskLGBMRegressor if regression else DaskLGBMClassifier)(**params)
    raise ConfigError(f"family {family!r} has no Dask interface here; expected one of {list(DASK_FAMILIES)}")


def to_local(model: BaseEstimator, family: str, problem_type: str, params: dict[str, Any]) -> BaseEstimator:
    """The fitted Dask estimator as the plain scikit-learn estimator of its library (no cluster needed)."""
    if family == "lightgbm":
        return model.to_local()
    from xgboost import XGBClassifier, XGBRegressor

    local = (XGBRegressor if problem_type == "regression" else XGBClassifier)(**params)
    local.load_model(bytearray(model.get_booster().save_raw("json")))
    return local


def sample_rows(frame: Any, total: int, max_rows: int, seed: int) -> pd.DataFrame:
    """All `total` rows of a Dask dataframe when there are at most `max_rows`, else a seeded sample of about that
    many."""
    if total <= max_rows:
        return frame.compute()
    return frame.sample(frac=max_rows / total, random_state=seed).compute()


def transformed(frame: Any, preprocess: Pipeline) -> Any:
    """`preprocess.transform` applied to every partition where it lies: a lazy float32 Dask dataframe."""
    names = [str(n) for n in preprocess.get_feature_names_out()]
    meta = pd.DataFrame({n: pd.Series(dtype=np.float32) for n in names})

    def part(rows: pd.DataFrame) -> pd.DataFrame:
        return pd.DataFrame(np.asarray(preprocess.transform(rows), dtype=np.float32), columns=names, index=rows.index)

    return frame.map_partitions(part, meta=meta)
