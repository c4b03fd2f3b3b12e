"""featurize flow: the feature specification every model of a problem is built from."""

from __future__ import annotations

import argparse
from pathlib import Path

from prefect import flow

from flows.common import log, read_split, stage_task
from tasks import featurize
from tasks.config import load_params
from tasks.io import atomic_dir, write_json

SPEC_FILE = "spec.json"


def arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--problem", required=True)
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)


@flow(name="featurize")
def featurize_flow(problem: str, data: Path, out: Path, params_path: Path = Path("params.yaml")) -> list[str]:
    params = load_params(params_path)
    train = read_split(data, "train")
    spec = stage_task(featurize.build_spec)(train, params.ingest[problem], params.featurize[problem],
                                            str(data / "train.parquet"))
    with atomic_dir(out) as tmp:
        write_json(tmp / SPEC_FILE, spec.to_dict())
    log.info("featurize %s: %d features, dropped %s", problem, len(spec.features), spec.dropped)
    return spec.features


def run(args: argparse.Namespace) -> None:
    featurize_flow(args.problem, args.data, args.out, args.params)
