"""train flow: fit one model (a family on a problem) and save the pipeline with its metadata."""

from __future__ import annotations

import argparse
from pathlib import Path

from prefect import flow

from flows.common import log, read_meta, read_split, stage_task
from flows.featurize import SPEC_FILE
from tasks import train
from tasks.config import load_params
from tasks.errors import ConfigError
from tasks.featurize import FeatureSpec
from tasks.io import read_json
from tasks.lineage import lineage


def arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", required=True, help="a key under train: in params.yaml")
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--features", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)


@flow(name="train")
def train_flow(model: str, data: Path, features: Path, out: Path, params_path: Path = Path("params.yaml")) -> dict:
    params = load_params(params_path)
    if model not in params.train:
        raise ConfigError(f"train.{model}: no such model in {params_path}; expected one of {sorted(params.train)}")
    cfg = params.train[model]
    spec = FeatureSpec.from_dict(read_json(features / SPEC_FILE))
    trained = stage_task(train.train_model)(
        model, cfg, spec, read_split(data, "train"), read_split(data, "valid"), seed=params.seed,
        problem_features=params.featurize[cfg.problem].options,
        lineage=lineage(read_meta(data)["sha256"], cfg.model_dump()),
    )
    stage_task(train.save_model)(trained, out)
    log.info("train %s: fit in %.1f s, validation %s", model, trained.meta["fit_seconds"], trained.meta["validation"])
    return trained.meta["validation"]


def run(args: argparse.Namespace) -> None:
    train_flow(args.model, args.data, args.features, args.out, args.params)
