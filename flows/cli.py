"""Argument parsing and error reporting shared by every stage command."""

from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path

STAGES = ("check", "ingest", "validate", "featurize", "train", "evaluate", "fairness", "drift", "champion",
          "report", "recommend")


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="python -m flows", description="Run one pipeline stage as a Prefect flow.")
    sub = root.add_subparsers(dest="stage", required=True)
    for stage in STAGES:
        stage_parser = sub.add_parser(stage, help=f"the {stage} stage")
        stage_parser.add_argument("--params", type=Path, default=Path("params.yaml"))
        importlib.import_module(f"flows.{stage}").arguments(stage_parser)
    return root


def main(argv: list[str]) -> int:
    """Run a stage; a `PipelineError` prints its message (no traceback) and exits with status 2."""
    from flows.common import stage_settings
    from tasks.errors import PipelineError

    args = parser().parse_args(argv)
    try:
        with stage_settings():
            importlib.import_module(f"flows.{args.stage}").run(args)
    except PipelineError as exc:
        print(f"error: {args.stage}: {exc}", file=sys.stderr)
        return 2
    return 0
