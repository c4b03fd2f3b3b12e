"""train flow: fit one model (a family on a problem) and save the pipeline with its metadata.

GPU-capable families are routed to the GPU work pool when `gpu.routing` is on (see flows/gpu.py): `train-gpu` is
the flow a worker there runs; it returns the fitted model, which this stage saves like any other.
"""

from __future__ import annotations

import argparse
from dataclasses import replace
from pathlib import Path

from prefect import flow
from prefect.runtime import flow_run

from flows import gpu
from flows.common import log, read_meta, read_split, stage_task
from flows.featurize import SPEC_FILE
from tasks import train
from tasks.config import Params, load_params
from tasks.errors import ConfigError
from tasks.families import get_family
from tasks.featurize import FeatureSpec
from tasks.io import read_json
from tasks.lineage import lineage
from tasks.routing import device_used, routes_to_gpu


def arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", required=True, help="a key under train: in params.yaml")
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--features", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)


def load_model_params(model: str, params_path: Path) -> Params:
    params = load_params(params_path)
    if model not in params.train:
        raise ConfigError(f"train.{model}: no such model in {params_path}; expected one of {sorted(params.train)}")
    return params


def fit(model: str, params: Params, data: Path, features: Path, device: str) -> train.TrainedModel:
    cfg = params.train[model]
    spec = FeatureSpec.from_dict(read_json(features / SPEC_FILE))
    return stage_task(train.train_model)(
        model, cfg, spec, read_split(data, "train"), read_split(data, "valid"), seed=params.seed, device=device,
        problem_features=params.featurize[cfg.problem].options,
        lineage=lineage(read_meta(data)["sha256"], cfg.model_dump()),
    )


@flow(name="train")
def train_flow(model: str, data: Path, features: Path, out: Path, params_path: Path = Path("params.yaml")) -> dict:
    params = load_model_params(model, params_path)
    trained, note = None, ""
    if routes_to_gpu(get_family(params.train[model].family), params.gpu):
        outcome = gpu.train_on_gpu_pool(model, gpu.stage_parameters(model, data, features, params_path), params.gpu)
        trained, note = outcome.model, outcome.reason
    if trained is None:
        trained = fit(model, params, data, features, device="cpu")
        trained = replace(trained, meta={**trained.meta, "placement": gpu.placement(
            pool=None, run_name=flow_run.name, requested="cpu", note=note)})
    stage_task(train.save_model)(trained, out)
    log.info("train %s: fit in %.1f s on %s, validation %s", model, trained.meta["fit_seconds"],
             trained.meta["device"], trained.meta["validation"])
    return trained.meta["validation"]


@flow(name="train-gpu", persist_result=True)
def train_gpu_flow(model: str, data: str, features: str, params_path: str, device: str = "cuda") -> train.TrainedModel:
    """Fit on this worker's device while holding a GPU slot; the model returns through result storage."""
    params = load_model_params(model, Path(params_path))
    with gpu.gpu_slot(params.gpu):
        trained = fit(model, params, Path(data), Path(features), device=device)
    used = device_used(trained.pipeline, device)
    if used != device:
        log.warning("train-gpu %s: %s was requested but the fit ran on %s (no visible GPU here)", model, device, used)
    return replace(trained, meta={**trained.meta, "device": used, "placement": gpu.placement(
        pool=params.gpu.pool, run_name=flow_run.name, requested=device)})


def run(args: argparse.Namespace) -> None:
    train_flow(args.model, args.data, args.features, args.out, args.params)
