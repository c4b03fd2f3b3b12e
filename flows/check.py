"""check flow: validate the whole of params.yaml (types, problems, families) before anything runs."""

from __future__ import annotations

import argparse
from pathlib import Path

from prefect import flow

from flows.common import log
from tasks.check import check_models
from tasks.config import load_params
from tasks.io import write_json


def arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", type=Path, required=True)


@flow(name="check")
def check_flow(out: Path, params_path: Path = Path("params.yaml")) -> int:
    catalogue = check_models(load_params(params_path))
    write_json(out, catalogue)
    log.info("check: %d models buildable", len(catalogue))
    return len(catalogue)


def run(args: argparse.Namespace) -> None:
    check_flow(args.out, args.params)
