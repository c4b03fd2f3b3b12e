"""The Dask path on a local cluster of two worker processes gives what the single-process path gives."""

import numpy as np
import pandas as pd
import pytest
import yaml

from tasks import distributed, ingest
from tasks.config import DistributedConfig, load_params
from tasks.feature_options import FeatureOptions
from tasks.featurize import build_spec
from tasks.io import write_json
from tasks.preprocess import build_preprocessor
from tasks.train import load_model, save_model, split_xy, train_model

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
    on_dask = distributed.train_booster(client, "m", cfg, spec, partitioned, seed=params.seed,
                                        problem_features=options, valid=parts["valid"])
    single = train_model("m", cfg, spec, parts["train"], parts["valid"], seed=params.seed, problem_features=options)
    assert on_dask.meta["workers"] == 2 and on_dask.meta["train_rows"] == len(parts["train"])
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
    from tasks.errors import ConfigError

    _, spec = problem
    with pytest.raises(ConfigError, match="has no Dask interface"):
        distributed.train_booster(client, "lr", params.train["employment-logreg"], spec, partitioned, seed=0)


def test_train_all_fans_models_out_over_the_cluster(tmp_path, client, problem, params, repo_root):
    """The train_all flow on the cluster (DaskTaskRunner) writes each model as the train stage would, with the
    metrics the single-process path gives."""
    from prefect.testing.utilities import prefect_test_harness
    from prefect_dask import DaskTaskRunner

    from flows.distributed import train_all_flow

    parts, spec = problem
    data, features = tmp_path / "validated", tmp_path / "features"
    for name in ("train", "valid"):
        (data / "employment").mkdir(parents=True, exist_ok=True)
        parts[name].to_parquet(data / "employment" / f"{name}.parquet", index=False)
    write_json(data / "employment" / "meta.json", {"sha256": "test"})
    write_json(features / "employment" / "spec.json", spec.to_dict())
    raw = yaml.safe_load((repo_root / "params.yaml").read_text())
    raw["train"] = {"employment-logreg": raw["train"]["employment-logreg"],
                    "employment-forest": {**raw["train"]["employment-forest"],
                                          "hyperparameters": {"n_estimators": 10, "n_jobs": 1}}}
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(raw))
    runner = DaskTaskRunner(address=client.scheduler.address)
    with prefect_test_harness():
        results = train_all_flow.with_options(task_runner=runner)(
            list(raw["train"]), data, features, tmp_path / "models", tmp_path / "params.yaml")
    local = load_params(tmp_path / "params.yaml")
    for name, cfg in local.train.items():
        single = train_model(name, cfg, spec, parts["train"], parts["valid"], seed=local.seed,
                             problem_features=local.featurize["employment"].options)
        assert results[name]["validation"] == single.meta["validation"]
        assert load_model(tmp_path / "models" / name).meta["validation"] == single.meta["validation"]
