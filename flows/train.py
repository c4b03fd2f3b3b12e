"""train flow: fit every model of one problem, each a Prefect task fanned out on Dask, reusing unchanged models.

A model is re-fitted only when its key changed (`tasks.core.model_key`): its config, the problem's data and feature
spec, its feature options, the code it runs (its family module and every shared module, from the imports), the
versions of the libraries it uses, the seed. The log, the flow run's table artifact and reports/train/<problem>.json
say which models were reused and why the others were fitted. A model no longer in params.yaml loses its directory.

GPU-capable families are routed to the GPU work pool when `gpu.routing` is on (see tasks/ops/gpu.py): `train-gpu` is
the flow a worker there runs; it returns the fitted model, which the model's task saves like any other.
"""

from __future__ import annotations

import argparse
import hashlib
from dataclasses import replace
from pathlib import Path
from typing import Any

from prefect import flow, task
from prefect.artifacts import create_table_artifact
from prefect.cache_policies import NO_CACHE
from prefect.runtime import flow_run
from threadpoolctl import threadpool_limits

from flows.common import log, read_meta, read_spec, read_split
from flows.fan_out import run_each
from flows.gates import artifact_key
from tasks.adapters import distributed
from tasks.core.artefacts import KEY_FILE, META_FILE, MODEL_FILE, SPEC_FILE, VALID, FeatureSpec
from tasks.core.code_fingerprint import model_code
from tasks.core.config import ModelConfig, Params, load_params
from tasks.core.errors import ConfigError
from tasks.core.io import read_json, remove_stale, write_json
from tasks.core.lineage import provenance, run_stamp
from tasks.core.model_key import library_versions, make_key, stale_reason
from tasks.families import explicit_features, get_family
from tasks.families.ensemble import FAMILY_NAME, load_member, member_names
from tasks.ops import gpu
from tasks.ops.routing import routes_to_gpu
from tasks.stages import train, train_dask, tune

REPO = Path(".")  # DVC runs every stage in the repository root


def arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--problem", required=True, help="a key under problems: in params.yaml")
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--features", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True, help="directory of the problem's models")
    parser.add_argument("--record", type=Path, required=True, help="JSON: per model, reused or fitted, and how")


def ensemble_members(params: Params, problem: str) -> dict[str, list[str]]:
    """Ensemble model key -> its members' keys."""
    models = params.models(problem)
    supervised = {m.key for m in models if get_family(m.family).kind == "supervised"}
    return {cfg.key: member_names(cfg, models, supervised) for cfg in models if cfg.family == FAMILY_NAME}


def model_keys(params: Params, problem: str, data: Path, features: Path) -> dict[str, dict[str, Any]]:
    """Model key -> its key record (`tasks.core.model_key.make_key`); an ensemble's adds its members' keys and the
    ranking metric it optimises, so it is fitted again exactly when one of them changes."""
    data_hash = read_meta(data)["sha256"]
    spec_hash = hashlib.sha256((features / SPEC_FILE).read_bytes()).hexdigest()
    problem_options = params.featurize[problem].options
    ensembles = ensemble_members(params, problem)
    keys: dict[str, dict[str, Any]] = {}
    for cfg in sorted(params.models(problem), key=lambda c: c.key in ensembles):  # members first
        family = get_family(cfg.family)
        config = {"family": cfg.family, "hyperparameters": cfg.hyperparameters, "engine": cfg.engine}
        if cfg.tune is not None:  # an untuned model's key is what it was before tuning existed
            config["tune"] = {**cfg.tune.model_dump(mode="json"), "metric": params.ranking_metric(problem)}
        stacked = ({"members": {m: keys[m]["key"] for m in ensembles[cfg.key]},
                    "metric": params.ranking_metric(problem)} if cfg.key in ensembles else {})
        keys[cfg.key] = make_key({**stacked,
            "config": config,
            "features": explicit_features(problem_options, cfg.features),
            "data": {"rows": data_hash, "spec": spec_hash},
            "seed": params.seed,
            "code": model_code(REPO / "flows" / "train.py", cfg.family, REPO),
            "libraries": library_versions([*family.libraries, *(["optuna"] if cfg.tune else [])]),
        })
    return keys


def fit(cfg: ModelConfig, params: Params, data: Path, features: Path, device: str) -> train.TrainedModel:
    """Fit one model here, after its hyperparameter search when it has one (trials on the CPU); BLAS is held to one
    thread so a model is the same in a Dask worker (where Dask sets that) and in this process."""
    spec = read_spec(features)
    meta = read_meta(data)
    libraries = library_versions(get_family(cfg.family).libraries)
    with threadpool_limits(limits=1, user_api="blas"):
        if cfg.engine == "dask":
            return fit_on_dask(cfg, params, spec, data, libraries)
        train_rows, valid_rows = read_split(data, "train"), read_split(data, VALID)
        options = params.featurize[cfg.problem].options
        search = None
        if cfg.tune is not None:
            search = tune.tune(cfg, spec, train_rows, valid_rows, seed=params.seed,
                               metric=params.ranking_metric(cfg.problem), problem_features=options)
            log.info("train %s: tuned in %.1f s, %s %.4f -> %.4f (trial %d of %d)", cfg.key, search.seconds,
                     search.metric, search.default_value, search.best_value, search.best_trial, len(search.trials))
        fitted_cfg = cfg if search is None else cfg.model_copy(update={"hyperparameters": search.hyperparameters})
        trained = train.train_model(
            cfg.key, fitted_cfg, spec, train_rows, valid_rows, seed=params.seed, device=device,
            problem_features=options, lineage=provenance(meta["sha256"], cfg.model_dump()), libraries=libraries)
    if search is None:
        return trained
    return replace(trained, tuning=search.summary(), run={
        **trained.run, "tune_seconds": search.seconds, "tune_trials": len(search.trials),
        "tune_gain": round(search.gain, 6)})


def fit_on_dask(cfg: ModelConfig, params: Params, spec: FeatureSpec, data: Path,
                libraries: dict[str, str]) -> train.TrainedModel:
    """`engine: dask`: the booster's Dask interface over the partitioned training split, on the stage's cluster
    when this runs in one of its workers, else on the configured one."""
    train_path = data / "train.parquet"
    with distributed.client_here(params.distributed) as client:
        frame = distributed.read_rows(train_path, [*spec.features, spec.target])
        trained = train_dask.train_booster(
            client, cfg.key, cfg, spec, frame, seed=params.seed,
            problem_features=params.featurize[cfg.problem].options,
            fit_sample_rows=params.distributed.fit_sample_rows, valid=read_split(data, VALID),
            lineage=provenance(read_meta(data)["sha256"], cfg.model_dump()))
    return replace(trained, meta={**trained.meta, "libraries": libraries})


@task(cache_policy=NO_CACHE)
def fit_model(model: str, key: dict[str, Any], data: Path, features: Path, out: Path, params_path: Path) -> dict:
    """Fit and save one model (in whichever Dask worker the task lands on); its run facts for the stage record."""
    params = load_params(params_path)
    cfg = params.train[model]
    trained, note = None, ""
    if cfg.engine == "local" and routes_to_gpu(get_family(cfg.family), params.gpu):
        outcome = gpu.train_on_gpu_pool(model, gpu.stage_parameters(model, data, features, params_path), params.gpu)
        trained, note = outcome.model, outcome.reason
    if trained is None:
        trained = fit(cfg, params, data, features, device="cpu")
        trained = replace(trained, run={**trained.run, "placement": gpu.placement(
            pool=None, run_name=flow_run.name, requested="cpu", note=note)})
    train.save_model(trained, out / cfg.key, key)
    log.info("train %s: fit in %.1f s on %s, validation %s", model, trained.run["fit_seconds"],
             trained.meta["device"], trained.meta["validation"])
    return {**trained.run, "device": trained.meta["device"], "validation": trained.meta["validation"]}


@task(cache_policy=NO_CACHE)
def fit_ensemble(model: str, key: dict[str, Any], data: Path, features: Path, out: Path, params_path: Path) -> dict:
    """Fit and save one ensemble over its members' saved models (the second wave, after they are fitted)."""
    params = load_params(params_path)
    cfg = params.train[model]
    members = {m: load_member(out / m / MODEL_FILE) for m in ensemble_members(params, cfg.problem)[model]}
    trained = train.train_ensemble(
        cfg.key, cfg, read_spec(features), members, read_split(data, VALID),
        metric=params.ranking_metric(cfg.problem), seed=params.seed,
        lineage=provenance(read_meta(data)["sha256"], cfg.model_dump()))
    trained = replace(trained, run={**trained.run, "placement": gpu.placement(
        pool=None, run_name=flow_run.name, requested="cpu")})
    train.save_model(trained, out / cfg.key, key)
    log.info("train %s: weights %s, validation %s", model, trained.meta["ensemble"]["weights"],
             trained.meta["validation"])
    return {**trained.run, "device": "cpu", "validation": trained.meta["validation"]}


def previous_key(directory: Path) -> dict[str, Any] | None:
    """The key a model directory was saved with; None when it is missing or incomplete."""
    if not all((directory / name).is_file() for name in (MODEL_FILE, META_FILE, KEY_FILE)):
        return None
    return read_json(directory / KEY_FILE)


@flow(name="train", flow_run_name="train {problem}")
def train_flow(problem: str, data: Path, features: Path, out: Path, record: Path,
               params_path: Path = Path("params.yaml")) -> dict[str, dict]:
    params = load_params(params_path)
    models = {cfg.key: cfg for cfg in params.models(problem)}
    removed = remove_stale(out, set(models))
    keys = model_keys(params, problem, data, features)
    reasons = {key: stale_reason(previous_key(out / key), keys[key]) for key in models}
    todo = {key: reason for key, reason in reasons.items() if reason is not None}
    old = read_json(record)["models"] if record.exists() else {}
    for key in models:
        if key not in todo:
            log.info("train %s: reused (inputs unchanged, key %s)", key, keys[key]["key"])
    for key, reason in todo.items():
        log.info("train %s: fitting (%s)", key, reason)
    if removed:
        log.info("train %s: removed %s (no longer in params.yaml)", problem, ", ".join(removed))
    ensembles = ensemble_members(params, problem)
    calls = {key: {"model": key, "key": keys[key], "data": data, "features": features, "out": out,
                   "params_path": params_path} for key in todo}
    fitted = run_each(fit_model, {k: v for k, v in calls.items() if k not in ensembles}, params.distributed,
                      f"train {problem}")
    fitted |= run_each(fit_ensemble, {k: v for k, v in calls.items() if k in ensembles}, params.distributed,
                       f"train {problem} ensembles")
    stamp = run_stamp()
    entries = {key: ({"status": "fitted", "reason": todo[key], "key": keys[key]["key"], **stamp, **fitted[key]}
                     if key in todo else {**old.get(key, {}), "status": "reused", "reason": "inputs unchanged"})
               for key in models}
    write_json(record, {"problem": problem, "models": entries})
    create_table_artifact(
        table=[{"model": key, "status": e["status"], "reason": e["reason"], "fit_seconds": e.get("fit_seconds"),
                "device": e.get("device")} for key, e in entries.items()],
        key=artifact_key("train", problem), description=f"train {problem}: fitted and reused models")
    log.info("train %s: %d fitted, %d reused", problem, len(todo), len(models) - len(todo))
    return entries


@flow(name="train-gpu", persist_result=True)
def train_gpu_flow(model: str, data: str, features: str, params_path: str, device: str = "cuda") -> train.TrainedModel:
    """Fit on this worker's device while holding a GPU slot; the model returns through result storage."""
    params = load_params(Path(params_path))
    if model not in params.train:
        raise ConfigError(f"{model}: no such model in {params_path}; expected one of {sorted(params.train)}")
    with gpu.gpu_slot(params.gpu):
        trained = fit(params.train[model], params, Path(data), Path(features), device=device)
    used = trained.meta["device"]  # what the estimator really used (tasks.ml.device.device_used)
    if used != device:
        log.warning("train-gpu %s: %s was requested but the fit ran on %s (no visible GPU here)", model, device, used)
    return replace(trained, run={**trained.run, "placement": gpu.placement(
        pool=params.gpu.pool, run_name=flow_run.name, requested=device)})


def run(args: argparse.Namespace) -> None:
    train_flow(args.problem, args.data, args.features, args.out, args.record, args.params)
