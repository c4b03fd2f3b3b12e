"""The Dask path on a local cluster of two worker processes gives what the single-process path gives."""

import numpy as np
import pandas as pd
import pytest
import yaml

from tasks.adapters import distributed
from tasks.core.config import DistributedConfig, load_params
from tasks.core.feature_options import FeatureOptions
from tasks.core.io import write_json
from tasks.ml.preprocess import build_preprocessor
from tasks.stages import ingest
from tasks.stages.featurize import build_spec
from tasks.stages.train import load_model, save_model, split_xy, train_model
from tasks.stages.train_dask import train_booster

# no row or column subsampling: each worker would draw its own rows, so only the deterministic settings can match
BOOSTER = {"n_estimators": 30, "max_depth": 4, "learning_rate": 0.3, "n_jobs": 1}


@pytest.fixture(scope="module")
def client():
    from distributed import Client, LocalCluster

    cfg = DistributedConfig(n_workers=2, threads_per_worker=1, memory_limit="1GiB")
    with LocalCluster(**distributed.local_cluster_kwargs(cfg)) as cluster, Client(cluster) as client:
        yield client


@pytest.fixture(scope="module")
def problem(acs_sample, params):
    cfg = params.ingest["employment"]
    parts = ingest.split(acs_sample, cfg, seed=params.seed)
    return parts, build_spec(parts["train"], cfg, params.featurize["employment"], "train")


@pytest.fixture(scope="module")
def partitioned(problem, tmp_path_factory):
    """The training split as three Parquet parts, read back lazily with Dask."""
    parts, spec = problem
    folder = tmp_path_factory.mktemp("partitioned")
    for i, chunk in enumerate(np.array_split(np.arange(len(parts["train"])), 3)):
        parts["train"].iloc[chunk].to_parquet(folder / f"part-{i:05d}.parquet", index=False)
    return distributed.read_rows(folder, [*spec.features, spec.target])


def test_settings_pick_a_scheduler_or_a_local_cluster():
    assert distributed.task_runner_kwargs(DistributedConfig(scheduler="tcp://dask:8786")) == {
        "address": "tcp://dask:8786"}
    local = distributed.task_runner_kwargs(DistributedConfig(n_workers=3))
    assert local["cluster_class"] == "distributed.LocalCluster" and local["cluster_kwargs"]["n_workers"] == 3


def test_dask_xgboost_matches_the_single_process_model(tmp_path, client, problem, partitioned, params):
    parts, spec = problem
    cfg = params.train["employment-xgboost"].model_copy(update={"hyperparameters": BOOSTER})
    options = params.featurize["employment"].options
    on_dask = train_booster(client, "m", cfg, spec, partitioned, seed=params.seed, problem_features=options,
                            valid=parts["valid"])
    single = train_model("m", cfg, spec, parts["train"], parts["valid"], seed=params.seed, problem_features=options)
    assert on_dask.meta["engine"] == "dask" and on_dask.meta["train_rows"] == len(parts["train"])
    holdout = parts["holdout"].drop(columns=spec.target)
    np.testing.assert_allclose(on_dask.pipeline.predict_proba(holdout), single.pipeline.predict_proba(holdout),
                               atol=1e-6)
    assert on_dask.meta["validation"] == single.meta["validation"]
    save_model(on_dask, tmp_path / "m")
    np.testing.assert_allclose(load_model(tmp_path / "m").pipeline.predict_proba(holdout),
                               on_dask.pipeline.predict_proba(holdout))


def test_dask_lightgbm_scores_like_the_single_process_booster(client, problem, partitioned, params):
    """LightGBM's data-parallel training finds bin boundaries on each worker's rows, so its trees differ a little
    from a single-process fit: the two score the same within 0.02 ROC AUC (XGBoost above matches exactly)."""
    from lightgbm import LGBMClassifier
    from sklearn.metrics import roc_auc_score

    parts, spec = problem
    x, y = split_xy(parts["train"], spec)
    preprocess = build_preprocessor(spec, FeatureOptions(categorical_encoding="ordinal", numeric_scaling="none"))
    preprocess.fit(x)
    booster = distributed.booster_params("lightgbm", {"n_estimators": 30, "num_leaves": 15, "min_child_samples": 10},
                                         params.seed)
    model = distributed.dask_booster("lightgbm", spec.problem_type, booster)
    model.client = client
    model.fit(distributed.transformed(partitioned.drop(columns=spec.target), preprocess), partitioned[spec.target])
    local = distributed.to_local(model, "lightgbm", spec.problem_type, booster)
    names = preprocess.get_feature_names_out()
    single = LGBMClassifier(**booster).fit(pd.DataFrame(preprocess.transform(x).astype(np.float32), columns=names), y)
    holdout = pd.DataFrame(preprocess.transform(parts["holdout"]).astype(np.float32), columns=names)
    on_dask, alone = local.predict_proba(holdout)[:, 1], single.predict_proba(holdout)[:, 1]
    truth = parts["holdout"][spec.target]
    assert abs(roc_auc_score(truth, on_dask) - roc_auc_score(truth, alone)) < 0.02
    assert np.abs(on_dask - alone).mean() < 0.05


def test_only_boosters_have_a_dask_interface(client, problem, partitioned, params):
    from tasks.core.errors import ConfigError

    _, spec = problem
    with pytest.raises(ConfigError, match="has no Dask interface"):
        train_booster(client, "lr", params.train["employment-logreg"], spec, partitioned, seed=0)


def test_a_two_worker_cluster_fits_the_same_models_as_this_process(tmp_path, client, problem, repo_root):
    """The train stage's fan-out (one Prefect task per model on the Dask cluster) saves exactly the models the
    in-process fit gives, for deterministic families."""
    from prefect import flow
    from prefect.testing.utilities import prefect_test_harness

    from flows.fan_out import run_each
    from flows.train import fit, fit_model, model_keys

    parts, spec = problem
    data, features = tmp_path / "validated", tmp_path / "features"
    data.mkdir()
    features.mkdir()
    for name in ("train", "valid"):
        parts[name].to_parquet(data / f"{name}.parquet", index=False)
    write_json(data / "meta.json", {"sha256": "test"})
    write_json(features / "spec.json", spec.to_dict())
    raw = yaml.safe_load((repo_root / "params.yaml").read_text())
    models = raw["problems"]["employment"]["models"]
    raw["problems"] = {"employment": {**raw["problems"]["employment"], "models": {
        "logreg": models["logreg"], "forest": {**models["forest"], "hyperparameters": {"n_estimators": 10}}}}}
    raw["gpu"] = {"routing": False}
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(raw))
    local = load_params(tmp_path / "params.yaml")
    keys = model_keys(local, "employment", data, features)
    cluster = local.distributed.model_copy(update={"scheduler": client.scheduler.address})

    @flow
    def fan_out() -> dict:
        return run_each(fit_model, {key: {"model": key, "key": keys[key], "data": data, "features": features,
                                          "out": tmp_path / "models", "params_path": tmp_path / "params.yaml"}
                                    for key in keys}, cluster, "train employment")

    with prefect_test_harness():
        results = fan_out()
    holdout = parts["holdout"].drop(columns=spec.target)
    for key, cfg in local.train.items():
        here = fit(cfg, local, data, features, device="cpu")
        there = load_model(tmp_path / "models" / key)
        assert results[key]["validation"] == here.meta["validation"]
        np.testing.assert_array_equal(there.pipeline.predict_proba(holdout), here.pipeline.predict_proba(holdout))
