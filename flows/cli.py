"""Argument parsing and error reporting shared by every stage command."""

from __future__ import annotations

import argparse
import importlib
import json
import os
import resource
import sys
import time
from pathlib import Path

STAGES = ("check", "ingest", "validate", "featurize", "train", "evaluate", "fairness", "drift", "champion",
          "report", "recommend")


def parser(stages: tuple[str, ...] = STAGES) -> argparse.ArgumentParser:
    """The command line of `stages` (each stage's flow module is imported to declare its options)."""
    root = argparse.ArgumentParser(prog="python -m flows", description="Run one pipeline stage as a Prefect flow.",
                                   epilog="python -m flows scaffold --help: add a problem from a CSV or Parquet file")
    sub = root.add_subparsers(dest="stage", required=True)
    for stage in stages:
        stage_parser = sub.add_parser(stage, help=f"the {stage} stage")
        stage_parser.add_argument("--params", type=Path, default=Path("params.yaml"))
        importlib.import_module(f"flows.{stage}").arguments(stage_parser)
    return root


def peak_rss_mb() -> float:
    """Peak resident memory of this process or of its largest finished child, in MiB (Linux reports KiB)."""
    scale = 1 if sys.platform == "darwin" else 1024
    peak = max(resource.getrusage(who).ru_maxrss for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))
    return peak * scale / 2**20


def record_stats(path: str, stage: str, argv: list[str], started: float, rss_start: float, code: int) -> None:
    """Append one JSON line about this stage run to `path` (MLP_STAGE_STATS; the benchmark sets it): wall and CPU
    seconds, peak RSS, parent process. In a warm runner's fork the peak includes the libraries shared with the
    runner, which `rss_start_mb` shows."""
    cpu = sum(u.ru_utime + u.ru_stime for u in map(resource.getrusage, (resource.RUSAGE_SELF,
                                                                        resource.RUSAGE_CHILDREN)))
    line = {"stage": stage, "argv": argv, "seconds": round(time.perf_counter() - started, 3),
            "cpu_seconds": round(cpu, 3), "rss_start_mb": round(rss_start, 1), "peak_rss_mb": round(peak_rss_mb(), 1),
            "ppid": os.getppid(), "code": code}
    with open(path, "a") as out:
        out.write(json.dumps(line) + "\n")


def main(argv: list[str]) -> int:
    """Run a stage; a `PipelineError` prints its message (no traceback) and exits with status 2."""
    started, rss_start = time.perf_counter(), peak_rss_mb()
    from flows.common import stage_settings
    from tasks.errors import PipelineError

    # only the requested stage's module: importing every flow module cost each stage ~0.3 s in a warm runner
    args = parser((argv[0],) if argv and argv[0] in STAGES else STAGES).parse_args(argv)
    code = 1
    try:
        from prefect import tags

        with stage_settings(), tags(os.environ.get("MLP_RUN_TAG", "manual")):
            importlib.import_module(f"flows.{args.stage}").run(args)
        code = 0
    except PipelineError as exc:
        print(f"error: {args.stage}: {exc}", file=sys.stderr)
        code = 2
    finally:
        if os.environ.get("MLP_STAGE_STATS"):
            record_stats(os.environ["MLP_STAGE_STATS"], args.stage, argv, started, rss_start, code)
    return code
