"""Argument parsing, error reporting and fault handling shared by every stage command.

A stage first removes what killed runs left next to its outputs (`tasks.core.io.remove_temporaries`), turns SIGTERM
into SystemExit so that an interrupted write removes its temporary, and, if the Prefect server it reports to goes
away mid-stage, runs the stage again on a temporary local API after a one-line warning (its outputs are written
atomically, and train and evaluate reuse what was already saved).
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import resource
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tasks.core.artefacts import STAGES

COMMANDS = ("promote", "rollback", "predict")  # the production loop: not DVC stages (README "Registry")
# The options naming each stage's outputs (dvc.yaml's outs: and metrics:; tests/unit/test_faults.py checks them)
OUTPUTS = {"check": ("code",), "ingest": ("out",), "validate": ("out", "quarantine", "report"),
           "featurize": ("out",), "train": ("out", "record"),
           "evaluate": ("out", "predictions", "curves", "speed"),
           "fairness": ("out", "summary"), "drift": ("out", "summary"), "champion": ("out", "summary"),
           "report": ("index", "pages", "featurize", "leaderboard"), "recommend": ("out",)}


def parser(stages: tuple[str, ...] = STAGES + COMMANDS) -> argparse.ArgumentParser:
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


def remove_temporaries(args: argparse.Namespace) -> list[str]:
    """Clean what killed runs of this stage left next to (and in) its outputs; what was removed or restored."""
    from tasks.core.io import remove_temporaries as clean

    return [done for option in OUTPUTS.get(args.stage, ()) for done in clean(getattr(args, option))]


def _terminate(signum: int, _frame: object) -> None:
    raise SystemExit(128 + signum)


@contextmanager
def sigterm_as_exit() -> Iterator[None]:
    """SIGTERM raises SystemExit(143) in the main thread, so `finally` blocks and the atomic writers' cleanup run
    (SIGTERM's default action ends the process at once and leaves temporaries behind)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def run_flow(args: argparse.Namespace, argv: list[str]) -> int:
    """Run the stage's flow; if its Prefect server is lost mid-stage, warn in one line and run the stage again in a
    fresh process on a temporary local API (as when the server is down from the start, see
    `tasks.ops.stack.resolve_api`): outputs are replaced whole or not at all, and train and evaluate reuse what was
    saved. Returns the exit status."""
    from prefect import tags

    from flows.common import lost_api, stage_settings

    try:
        with stage_settings(), tags(os.environ.get("MLP_RUN_TAG", "manual")):
            importlib.import_module(f"flows.{args.stage}").run(args)
    except Exception as exc:
        url = lost_api(exc)
        if url is None:
            raise
        reason = (str(exc).strip() or type(exc).__name__).splitlines()[0]
        print(f"warning: {args.stage}: the Prefect server at {url} stopped answering mid-stage ({reason}); running "
              "the stage again on a temporary local API, so it will not appear in that server's UI (start the "
              "server again with `python -m tasks.ops.stack start`)", file=sys.stderr, flush=True)
        env = {k: v for k, v in os.environ.items() if k not in ("PREFECT_API_URL", "MLP_STAGE_STATS")}
        env.update(MLP_PREFECT_SERVER="off", MLP_WARM_RUNNER="0")
        again = subprocess.Popen([sys.executable, "-m", "flows", *argv], env=env)
        try:
            return again.wait()
        except BaseException:
            again.terminate()
            again.wait()
            raise
    return 0


def main(argv: list[str]) -> int:
    """Run a stage; a `PipelineError` prints its message (no traceback) and exits with status 2."""
    started, rss_start = time.perf_counter(), peak_rss_mb()
    from tasks.core.errors import PipelineError

    # only the requested stage's module: importing every flow module cost each stage ~0.3 s in a warm runner
    args = parser((argv[0],) if argv and argv[0] in STAGES + COMMANDS else STAGES + COMMANDS).parse_args(argv)
    code = 1
    try:
        with sigterm_as_exit():
            if cleaned := remove_temporaries(args):
                print(f"{args.stage}: removed what an interrupted run left: {', '.join(cleaned)}", file=sys.stderr)
            code = run_flow(args, argv)
    except PipelineError as exc:
        print(f"error: {args.stage}: {exc}", file=sys.stderr)
        code = 2
    finally:
        if os.environ.get("MLP_STAGE_STATS"):
            record_stats(os.environ["MLP_STAGE_STATS"], args.stage, argv, started, rss_start, code)
    return code
