"""retrain flow (the `retrain` deployment): the DVC pipeline in this working copy, its data and models pushed to
the DVC remote, and what it produced recorded on the flow run (artifacts `retrain` and `retrain-metrics`).

It runs `dvc exp run`, not `dvc repro`: the same DAG, cache and outputs (results are applied to the workspace),
but every run is also recorded as a named DVC experiment (a git ref holding its dvc.lock, params and metrics)
without committing to the checked-out branch, so a scheduled run that nobody watches is still identified,
comparable (`dvc exp show`) and restorable (`dvc exp apply NAME`, then `dvc pull`).

Then each problem it ran is offered for promotion (flows/promote.py) at the experiment's commit: its champion
replaces the promoted model only when it passes every gate and beats it on the same rows; the artifact
`retrain-promotion` says what was promoted or why not.

An exclusive lock on .dvc/tmp/pipeline.lock keeps two runs out of one working copy: the second waits up to
`retrain.lock_wait_seconds`, then fails naming the holder. Only `dvc push` (I/O) is retried.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import deque
from datetime import UTC, datetime
from pathlib import Path

import yaml
from prefect import flow, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE
from prefect.runtime import flow_run

from flows.common import log
from flows.promote import promote_flow
from tasks.core.config import load_params
from tasks.core.errors import PipelineError
from tasks.core.lineage import git_commit
from tasks.core.lock import exclusive
from tasks.stages import retrain

LOCK_FILE = Path(".dvc/tmp/pipeline.lock")


def _command(args: list[str], label: str, stream: bool = False) -> str:
    """Run a command in the working copy; stream its output to the flow run's log. Prefect's per-run variables are
    not passed on: the stages it starts are flow runs of their own."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT__")}
    with subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env) as process:
        tail: deque[str] = deque(maxlen=30)
        lines = []
        for line in process.stdout:
            tail.append(line.rstrip())
            lines.append(line)
            if stream and line.strip():
                log.info("%s", line.rstrip())
    if process.returncode != 0:
        raise PipelineError(f"{label} failed (exit {process.returncode}):\n" + "\n".join(tail))
    return "".join(lines)


def _dvc(*args: str, stream: bool = False) -> str:
    return _command([sys.executable, "-m", "dvc", *args], label=f"dvc {args[0]}", stream=stream)


@task(cache_policy=NO_CACHE)
def run_experiment(name: str, targets: list[str]) -> None:
    """`dvc exp run` (CPU-bound, deterministic: never retried)."""
    _dvc("exp", "run", "--name", name, *targets, stream=True)


@task(cache_policy=NO_CACHE)
def push() -> str:
    """`dvc push` of every output in dvc.lock to the default remote (I/O: retried, see `retrain_flow`)."""
    return _dvc("push").strip().splitlines()[-1]


@task(cache_policy=NO_CACHE)
def describe(name: str, baseline: str, metrics: list[str]) -> dict:
    """The experiment's commit, the model versions (content hashes now in the remote) and the metrics."""
    refs = _command(["git", "for-each-ref", "--format=%(objectname) %(refname)", "refs/exps"], label="git")
    shown = json.loads(_dvc("metrics", "show", "--json"))
    return {
        "experiment": name,
        "experiment_rev": retrain.experiment_rev(refs, name),
        "baseline_commit": baseline,
        "models": retrain.output_versions(yaml.safe_load(Path("dvc.lock").read_text())),
        "metrics": [row for metric in metrics for row in retrain.metric_rows(shown, metric)],
    }


@flow(name="retrain")
def retrain_flow(targets: list[str] | None = None, push_outputs: bool = True, lock_wait_seconds: float | None = None,
                 params_path: str = "params.yaml", promote: bool = True) -> dict:
    """Run the pipeline (or `targets`, e.g. ["champion@employment"]) as a DVC experiment, push it, and promote each
    problem's champion where it beats the promoted model (`promote`)."""
    params = load_params(params_path)
    cfg = params.retrain
    name = retrain.experiment_name(datetime.now(UTC))
    ranking = sorted({params.ranking_metric(key) for key in params.ingest})
    wait = cfg.lock_wait_seconds if lock_wait_seconds is None else lock_wait_seconds
    def waiting(holder: str) -> None:
        log.warning("retrain: waiting up to %g s for the pipeline lock held by %s", wait, holder)

    with exclusive(LOCK_FILE, wait, holder=f"flow run {flow_run.name} ({name})", on_wait=waiting):
        baseline = git_commit()  # the experiment's parent; `+dirty` if the working copy had uncommitted changes
        run_experiment(name, targets or [])
        pushed = push.with_options(retries=cfg.push_retries, retry_delay_seconds=cfg.retry_delay_seconds)() \
            if push_outputs else "not pushed"
        record = {**describe(name, baseline, ranking), "push": pushed}
        record["promotion"] = [promote_flow(problem, rev=record["experiment_rev"] or "HEAD",
                                            params_path=Path(params_path))
                               for problem in retrain.problems_run(targets or [], list(params.ingest))
                               if promote and Path(f"models/{problem}-champion.json").exists()]
    versions = "\n".join(f"| `{path}` | `{md5}` |" for path, md5 in record["models"].items())
    create_markdown_artifact(
        key="retrain",
        markdown=f"DVC experiment **{name}** (commit `{record['experiment_rev']}`) on `{record['baseline_commit']}`."
                 f"\n\nDVC push: {pushed}\n\n| output | version (md5) |\n|---|---|\n{versions}\n",
        description=f"retrain {name}",
    )
    create_table_artifact(key="retrain-metrics", table=record["metrics"],
                          description=f"{', '.join(ranking)} of experiment {name}")
    create_table_artifact(key="retrain-promotion", description=f"promotion after experiment {name}",
                          table=[{"problem": r["problem"], "candidate": r["candidate"],
                                  "promoted": r["promoted"] or "no", "why": r["reason"]} for r in record["promotion"]])
    log.info("retrain: experiment %s (%s); %s; promoted: %s", name, record["experiment_rev"], pushed,
             {r["problem"]: r["promoted"] for r in record["promotion"]})
    return record
