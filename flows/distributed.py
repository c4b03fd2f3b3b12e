"""Scale-out on Dask, as its own command (not a DVC stage; `dvc repro` still runs one train stage per model).

    python -m flows.distributed train-all [--models KEY ...]
        every (or the named) model of params.yaml trained at once, one Prefect task per model fanned out over a
        Dask cluster by prefect-dask's DaskTaskRunner; writes models/<key>/ exactly as the train stage does
    python -m flows.distributed train-dask --model KEY --train PARQUET [--valid PARQUET] --out DIR
        one XGBoost or LightGBM model trained through the library's Dask interface on partitioned Parquet that
        need not fit in one worker's memory

The cluster is `distributed:` in params.yaml: a scheduler address, or (null) a local cluster for the run. Workers
import this project's `tasks` package and read the paths given, so a remote cluster needs the same code and a
shared filesystem or object store (see the README).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd
from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from flows.common import log, read_meta, read_split, stage_task
from flows.featurize import SPEC_FILE
from tasks import distributed, train
from tasks.config import load_params
from tasks.errors import ConfigError
from tasks.featurize import FeatureSpec
from tasks.io import read_json
from tasks.lineage import lineage


@task(cache_policy=NO_CACHE, task_run_name="train-{model}")
def train_one(model: str, data: Path, features: Path, out: Path, params_path: Path) -> dict:
    """What the train stage does for one model, in whichever Dask worker the task lands on."""
    params = load_params(params_path)
    cfg = params.train[model]
    spec = FeatureSpec.from_dict(read_json(features / cfg.problem / SPEC_FILE))
    problem_data = data / cfg.problem
    trained = train.train_model(model, cfg, spec, read_split(problem_data, "train"), read_split(problem_data, "valid"),
                                seed=params.seed, problem_features=params.featurize[cfg.problem].options,
                                lineage=lineage(read_meta(problem_data)["sha256"], cfg.model_dump()))
    train.save_model(trained, out / model)
    return {"fit_seconds": trained.meta["fit_seconds"], "validation": trained.meta["validation"]}


@flow(name="train_all")
def train_all_flow(models: list[str], data: Path, features: Path, out: Path,
                   params_path: Path = Path("params.yaml")) -> dict[str, dict]:
    """Submit every model at once; the task runner (DaskTaskRunner when run from the command line) runs them in
    parallel on its cluster."""
    futures = {m: train_one.submit(m, data, features, out, params_path) for m in models}
    results = {m: f.result() for m, f in futures.items()}
    log.info("train_all: %d models: %s", len(results), {m: r["validation"] for m, r in results.items()})
    return results


@flow(name="train_dask")
def train_dask_flow(model: str, train_path: Path, features: Path, out: Path, valid_path: Path | None = None,
                    params_path: Path = Path("params.yaml")) -> dict:
    params = load_params(params_path)
    if model not in params.train:
        raise ConfigError(f"train.{model}: no such model in {params_path}; expected one of {sorted(params.train)}")
    cfg = params.train[model]
    spec = FeatureSpec.from_dict(read_json(features / SPEC_FILE))
    valid = pd.read_parquet(valid_path) if valid_path else None
    with distributed.connect(params.distributed) as client:
        frame = distributed.read_rows(train_path, [*spec.features, spec.target],
                                      distributed.reference_rows(train_path, params.ingest[cfg.problem]))
        trained = stage_task(distributed.train_booster)(
            client, model, cfg, spec, frame, seed=params.seed, problem_features=params.featurize[cfg.problem].options,
            fit_sample_rows=params.distributed.fit_sample_rows, valid=valid,
            lineage=lineage(str(train_path), cfg.model_dump()))
    stage_task(train.save_model)(trained, out)
    log.info("train_dask %s: %d rows on %d workers in %.1f s, validation %s", model, trained.meta["train_rows"],
             trained.meta["workers"], trained.meta["fit_seconds"], trained.meta["validation"])
    return trained.meta["validation"]


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="python -m flows.distributed", description=__doc__.splitlines()[0])
    root.add_argument("--params", type=Path, default=Path("params.yaml"))
    sub = root.add_subparsers(dest="command", required=True)
    fan = sub.add_parser("train-all", help="train many models in parallel on a Dask cluster")
    fan.add_argument("--models", nargs="*", help="keys under train: (default: all)")
    fan.add_argument("--data", type=Path, default=Path("data/validated"), help="per-problem validated splits")
    fan.add_argument("--features", type=Path, default=Path("data/features"), help="per-problem feature specs")
    fan.add_argument("--out", type=Path, default=Path("models"))
    big = sub.add_parser("train-dask", help="train one XGBoost/LightGBM model through its Dask interface")
    big.add_argument("--model", required=True, help="a key under train: whose family is xgboost or lightgbm")
    big.add_argument("--train", type=Path, required=True,
                     help="a Parquet file or directory of parts; only the reference period's rows when it has the "
                          "problem's time column")
    big.add_argument("--valid", type=Path, help="validation rows (one Parquet file) for the validation metrics")
    big.add_argument("--features", type=Path, required=True, help="the problem's feature directory (spec.json)")
    big.add_argument("--out", type=Path, required=True)
    return root


def main(argv: list[str] | None = None) -> int:
    from prefect_dask import DaskTaskRunner

    from flows import stack
    from flows.common import stage_settings
    from tasks.errors import PipelineError

    args = parser().parse_args(argv)
    stack.apply_env_defaults()
    stack.resolve_api()  # workers inherit PREFECT_API_URL and report their task runs to the same server
    try:
        params = load_params(args.params)
        with stage_settings():
            if args.command == "train-all":
                models = args.models or list(params.train)
                runner = DaskTaskRunner(**distributed.task_runner_kwargs(params.distributed))
                train_all_flow.with_options(task_runner=runner)(models, args.data, args.features, args.out,
                                                                args.params)
            else:
                train_dask_flow(args.model, args.train, args.features, args.out, args.valid, args.params)
    except PipelineError as exc:
        print(f"error: {args.command}: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
