"""Run one Prefect task per model of a problem, in parallel on a Dask cluster (prefect-dask's task runner).

The cluster is `distributed:` in params.yaml: a running scheduler's address, or a `LocalCluster` sized to the
machine for the stage's lifetime. Each task run is named after its model and sits under the stage's flow run.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from typing import Any

from prefect import Task
from prefect.states import State

from flows.common import log
from tasks.adapters import distributed
from tasks.core.config import DistributedConfig
from tasks.core.errors import PipelineError
from tasks.ops import deploy


def run_each(task: Task, calls: Mapping[str, dict[str, Any]], cfg: DistributedConfig, stage: str) -> dict[str, Any]:
    """`task(**kwargs)` for every name -> kwargs of `calls`, each a task run named after its name; name -> result.

    Two or more calls go to the Dask cluster when a Prefect server records the runs (workers report to it); one
    call, or Prefect's ephemeral API (which Dask worker processes cannot share), runs here. Every call runs to its
    end before the first failure is raised, so what succeeded is saved.
    """
    named = {name: task.with_options(task_run_name=name) for name in calls}
    if len(calls) < 2 or deploy.api_url() is None:
        if len(calls) > 1:
            log.warning("%s: no Prefect server, so the %d models run one after another in this process", stage,
                        len(calls))
        states = {name: named[name](**kwargs, return_state=True) for name, kwargs in calls.items()}
        return _results(states, stage)
    from prefect_dask import DaskTaskRunner

    quiet_workers()
    runner_kwargs = distributed.task_runner_kwargs(cfg)
    log.info("%s: %d models in parallel on %s", stage, len(calls),
             cfg.scheduler or f"a local Dask cluster of {runner_kwargs['cluster_kwargs']['n_workers']} workers")
    with DaskTaskRunner(**runner_kwargs) as runner:
        futures = {name: runner.submit(named[name], parameters=kwargs) for name, kwargs in calls.items()}
        for future in futures.values():
            future.wait()
        states = {name: future.state for name, future in futures.items()}
    return _results(states, stage)


def quiet_workers() -> None:
    """Dask settings for the stage's workers, set before they start (they inherit this environment): not daemonic,
    so a model's own parallelism (joblib, n_jobs) still works inside them; Dask's own logging at warnings only."""
    os.environ.setdefault("DASK_DISTRIBUTED__WORKER__DAEMON", "False")
    os.environ.setdefault("DASK_LOGGING__DISTRIBUTED", "warning")
    import dask

    dask.config.set({"distributed.worker.daemon": False, "logging.distributed": "warning"})
    logging.getLogger("distributed").setLevel(logging.WARNING)


def _results(states: Mapping[str, State], stage: str) -> dict[str, Any]:
    """name -> result of every completed state; the failures, each with its model's name, as one error."""
    failed = {name: state for name, state in states.items() if not state.is_completed()}
    if failed:
        messages = []
        for name, state in failed.items():
            try:
                state.result()
            except Exception as exc:  # noqa: BLE001 - every model's failure is reported, not only the first
                messages.append(f"{name}: {exc}")
        raise PipelineError(f"{stage}: {len(failed)} of {len(states)} models failed: " + "; ".join(messages))
    return {name: state.result() for name, state in states.items()}
