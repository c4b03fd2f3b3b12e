"""evaluate flow: score every trained model of one problem on the holdout and every later batch, with bootstrap
intervals; each model a Prefect task fanned out on Dask, reused while its model file and inputs are unchanged."""

from __future__ import annotations

import argparse
import hashlib
from pathlib import Path
from typing import Any

from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from flows.common import log, read_meta, read_spec, read_split
from flows.fan_out import run_each
from flows.gates import link_files
from tasks.core.artefacts import (
    DETAILS_FILE,
    HOLDOUT,
    KEY_FILE,
    META_FILE,
    METRICS_FILE,
    MODEL_FILE,
    SPEC_FILE,
    TRAIN,
    VALID,
    curves_file,
    predictions_file,
)
from tasks.core.code_fingerprint import model_code
from tasks.core.config import Params, load_params
from tasks.core.io import atomic_dir, atomic_write_bytes, atomic_write_text, read_json, remove_stale, write_json
from tasks.core.lineage import run_stamp
from tasks.core.model_key import library_versions, make_key, stale_reason
from tasks.families import get_family
from tasks.ml.metrics import model_output, nan_to_null
from tasks.ml.speed import inference_speed
from tasks.stages import evaluate, train

REPO = Path(".")


def arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--problem", required=True, help="a key under problems: in params.yaml")
    parser.add_argument("--models", type=Path, required=True, help="directory of the problem's trained models")
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--features", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True, help="directory: per model metrics, details, curves")
    parser.add_argument("--predictions", type=Path, required=True, help="directory: per model predictions")
    parser.add_argument("--curves", type=Path, required=True, help="directory: per model curves (DVC plots)")
    parser.add_argument("--speed", type=Path, required=True, help="JSON: per model, inference speed (run facts)")


def file_hash(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def evaluation_key(params: Params, problem: str, model_dir: Path, data: Path, features: Path) -> dict[str, Any]:
    """What one model's evaluation is a function of: the fitted model's files, the data, the evaluation settings,
    the seed, the code and the library versions its family uses."""
    meta = read_json(model_dir / META_FILE)
    return make_key({
        "model": {name: file_hash(model_dir / name) for name in (MODEL_FILE, META_FILE)},
        "data": {"rows": read_meta(data)["sha256"], "spec": file_hash(features / SPEC_FILE)},
        "settings": {"evaluate": params.evaluate_for(problem).model_dump(),
                     "image_shape": params.featurize[problem].image_shape},
        "seed": params.seed,
        "code": model_code(REPO / "flows" / "evaluate.py", meta["family"], REPO),
        "libraries": library_versions(get_family(meta["family"]).libraries),
    })


@task(cache_policy=NO_CACHE)
def evaluate_one(model: str, key: dict[str, Any], model_dir: Path, data: Path, features: Path, out: Path,
                 predictions: Path, curves: Path, params_path: Path) -> dict:
    """Score one model (in whichever Dask worker the task lands on) and write its outputs, each atomically."""
    params = load_params(params_path)
    spec = read_spec(features)
    trained = train.load_model(model_dir)
    batches = {name: read_split(data, name) for name in read_meta(data)["evaluation_batches"]}
    result = evaluate.evaluate_model(
        trained, spec, read_split(data, VALID), batches, params.evaluate_for(trained.meta["problem"]), seed=params.seed,
        train=read_split(data, TRAIN) if spec.text else None,
        image_shape=params.featurize[trained.meta["problem"]].image_shape)
    atomic_write_bytes(predictions, result.predictions.to_parquet(index=False))
    atomic_write_text(curves, result.curves.to_csv(index=False))
    with atomic_dir(out) as tmp:  # the key last: outputs without it are recomputed
        write_json(tmp / DETAILS_FILE, result.details)
        write_json(tmp / METRICS_FILE, nan_to_null(result.metrics.to_dict()))
        write_json(tmp / KEY_FILE, key)
    link_files("evaluate", model, [out / METRICS_FILE])
    log.info("evaluate %s: threshold %s, %s", model, result.metrics.threshold, result.metrics.batches.get(HOLDOUT))
    primary = next(iter(batches))
    if trained.meta.get("kind", "supervised") != "supervised" or primary not in result.metrics.batches:
        return {}
    measured = inference_speed(lambda x: model_output(trained.pipeline, x, spec),
                               batches[primary].drop(columns=[spec.target]), seed=params.seed)
    log.info("evaluate %s: %.0f rows/s, %.3f ms per row", model, measured["rows_per_second"], measured["latency_ms"])
    return {**measured, "batch": primary, **run_stamp()}


def previous_key(directory: Path) -> dict[str, Any] | None:
    if not all((directory / name).is_file() for name in (METRICS_FILE, DETAILS_FILE, KEY_FILE)):
        return None
    return read_json(directory / KEY_FILE)


@flow(name="evaluate", flow_run_name="evaluate {problem}")
def evaluate_flow(problem: str, models: Path, data: Path, features: Path, out: Path, predictions: Path,
                  curves: Path, speed: Path, params_path: Path = Path("params.yaml")) -> dict[str, str]:
    params = load_params(params_path)
    names = [cfg.key for cfg in params.models(problem)]
    removed = remove_stale(out, set(names))
    remove_stale(predictions, {predictions_file(name) for name in names})
    remove_stale(curves, {curves_file(name) for name in names})
    keys = {name: evaluation_key(params, problem, models / name, data, features) for name in names}
    todo = {name: reason for name in names
            if (reason := stale_reason(previous_key(out / name), keys[name])) is not None
            or not (predictions / predictions_file(name)).is_file() or not (curves / curves_file(name)).is_file()}
    for name in names:
        log.info("evaluate %s: %s", name, f"scoring ({todo[name] or 'predictions or curves missing'})" if name in todo
                 else "reused (model and inputs unchanged)")
    if removed:
        log.info("evaluate %s: removed %s (no longer in params.yaml)", problem, ", ".join(removed))
    calls = {name: {"model": name, "key": keys[name], "model_dir": models / name, "data": data,
                    "features": features, "out": out / name, "predictions": predictions / predictions_file(name),
                    "curves": curves / curves_file(name), "params_path": params_path} for name in todo}
    measured = run_each(evaluate_one, calls, params.distributed, f"evaluate {problem}")
    old = read_json(speed)["models"] if speed.exists() else {}
    speeds = {name: measured[name] if name in todo else old.get(name, {}) for name in names}
    write_json(speed, {"problem": problem, "models": {name: entry for name, entry in speeds.items() if entry}})
    return {name: "scored" if name in todo else "reused" for name in names}


def run(args: argparse.Namespace) -> None:
    evaluate_flow(args.problem, args.models, args.data, args.features, args.out, args.predictions, args.curves,
                  args.speed, args.params)
