"""validate flow: check every split against the problem's data contract; errors stop the pipeline."""

from __future__ import annotations

import argparse
from dataclasses import asdict
from pathlib import Path

from prefect import flow

from flows.common import log, read_meta, read_split, stage_task
from tasks import validate
from tasks.config import load_params
from tasks.errors import DataError
from tasks.io import atomic_dir, write_json


def arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--problem", required=True)
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)


@flow(name="validate")
def validate_flow(problem: str, data: Path, out: Path, params_path: Path = Path("params.yaml")) -> int:
    params = load_params(params_path)
    meta = read_meta(data)
    splits = {name: read_split(data, name) for name in meta["rows"]}
    result = stage_task(validate.validate_splits)(splits, params.ingest[problem], params.validate_[problem])
    if not result.success:
        raise DataError(f"validate {problem}: {len(result.errors)} error(s) in {data}:\n{result.summary()}")
    with atomic_dir(out) as tmp:
        write_json(tmp / "result.json", {"success": result.success,
                                         "findings": [asdict(f) for f in result.findings]})
    log.info("validate %s: %d finding(s), no errors", problem, len(result.findings))
    return len(result.findings)


def run(args: argparse.Namespace) -> None:
    validate_flow(args.problem, args.data, args.out, args.params)
