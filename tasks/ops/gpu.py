"""GPU routing for the train stage.

A GPU-capable family is trained by the `train-gpu` deployment on the GPU work pool when a worker there is alive;
the fitted model comes back through Prefect's result storage and the train stage writes it to its DVC output, as
it does for a model fitted in-process. When the pool does not exist or has never had a worker, the model trains
here at once; when its workers are down (or none takes the run) for `gpu.wait_seconds`, or every attempt crashed, the
model is trained here on CPU after a warning in the
log and a `gpu-fallback` artifact on the flow run. One global concurrency limit per pool (`gpu.slots` slots) keeps
a GPU from being oversubscribed.
"""

from __future__ import annotations

import logging
import platform
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

from prefect.artifacts import create_markdown_artifact
from prefect.client.orchestration import SyncPrefectClient
from prefect.concurrency.sync import concurrency
from prefect.runtime import flow_run

from tasks.core.config import GpuConfig
from tasks.core.errors import PipelineError
from tasks.ops import deploy
from tasks.ops.routing import alive, live_workers
from tasks.stages.train import TrainedModel

log = logging.getLogger("mlplatform")  # the project's logger; flows/common.py sets its level

POLL_SECONDS = 1.0
SLOT_LEASE_SECONDS = 60  # a slot held by a worker that died is released after this long


@dataclass(frozen=True)
class Attempt:
    """One submission to the GPU pool: the model, or why not (and whether resubmitting may help)."""

    model: TrainedModel | None = None
    reason: str = ""
    crashed: bool = False


@contextmanager
def gpu_slot(cfg: GpuConfig) -> Iterator[None]:
    """Hold one slot of the pool's global concurrency limit (created or resized to `cfg.slots`) while training."""
    with deploy.client() as prefect_client:
        deploy.ensure_limit(prefect_client, cfg.pool, cfg.slots)
    with concurrency(cfg.pool, occupy=1, strict=True, lease_duration=SLOT_LEASE_SECONDS):
        yield


def placement(pool: str | None, run_name: str | None, requested: str, note: str = "") -> dict[str, str | None]:
    """Where a model was fitted, for the train stage's record (the only place a caller can tell); the worker is
    filled in by the caller, which reads it from the run."""
    return {"host": platform.node(), "pool": pool, "worker": None, "flow_run": run_name,
            "device_requested": requested, "note": note}


def train_on_gpu_pool(model: str, parameters: dict[str, str], cfg: GpuConfig) -> Attempt:
    """Run `cfg.deployment` for `model`: the fitted model, or (after a visible warning) why it must train here."""
    if deploy.api_url() is None:
        return fallback(model, cfg, Attempt(reason="no Prefect server (ephemeral API), so no GPU worker to reach"))
    with deploy.client() as prefect_client:
        for attempt in range(1 + cfg.retries):
            outcome = submit_and_wait(prefect_client, model, parameters, cfg)
            if outcome.model is not None or not outcome.crashed:
                break
            log.warning("train %s: GPU attempt %d of %d crashed: %s", model, attempt + 1, 1 + cfg.retries,
                        outcome.reason)
    return outcome if outcome.model is not None else fallback(model, cfg, outcome)


def submit_and_wait(prefect_client: SyncPrefectClient, model: str, parameters: dict[str, str],
                    cfg: GpuConfig) -> Attempt:
    """Wait (bounded) for a live worker, submit, wait (same bound) until a worker takes the run, then follow it to
    the end, marking it crashed if its worker stops heartbeating."""
    started = time.monotonic()
    deadline = started + cfg.wait_seconds
    workers = wait_for_live_worker(prefect_client, cfg.pool, deadline)
    if not workers:
        where = "does not exist" if workers is None else "has no live worker"  # never had one: at once
        return Attempt(reason=f"work pool {cfg.pool!r} {where} (waited {time.monotonic() - started:.1f} s)")
    run = deploy.submit(cfg.deployment, parameters)
    log.info("train %s: GPU-capable family sent to pool %r (live workers: %s); routing decided in %.2f s",
             model, cfg.pool, ", ".join(workers), time.monotonic() - started)
    while (run := deploy.read_run(prefect_client, run.id)).state.is_scheduled():
        if time.monotonic() > deadline:
            message = f"no worker of pool {cfg.pool!r} took this run within {cfg.wait_seconds:g} s; trained on CPU"
            deploy.cancel(prefect_client, run.id, message)
            return Attempt(reason=f"no worker of pool {cfg.pool!r} took run {run.name} "
                                  f"(waited {time.monotonic() - started:.1f} s)")
        time.sleep(POLL_SECONDS)
    while not run.state.is_final():
        worker = run.labels.get("prefect.worker.name")  # set by the worker shortly after it takes the run
        beats = deploy.pool_workers(prefect_client, cfg.pool) or []
        if not any(alive(b, datetime.now(UTC)) for b in beats if worker in (None, b.name)):
            deploy.crash(prefect_client, run.id, f"worker {worker or '(unknown)'!r} of pool {cfg.pool!r} stopped "
                                                 "heartbeating while running this flow")
        time.sleep(POLL_SECONDS)
        run = deploy.read_run(prefect_client, run.id)
    worker = run.labels.get("prefect.worker.name")
    if run.state.is_completed():
        trained = deploy.result(run)
        run_facts = {**trained.run, "placement": {**trained.run["placement"], "worker": worker}}
        log.info("train %s: fitted by worker %r of pool %r on device %s", model, worker, cfg.pool,
                 trained.meta["device"])
        return Attempt(model=replace(trained, run=run_facts))
    if run.state.is_crashed():
        return Attempt(reason=f"run {run.name} on worker {worker!r} crashed: {run.state.message}", crashed=True)
    raise PipelineError(f"train {model}: GPU run {run.name} ended {run.state.type.value}: {run.state.message}")


def wait_for_live_worker(prefect_client: SyncPrefectClient, pool: str, deadline: float) -> list[str] | None:
    """Names of the pool's live workers as soon as there is one; [] at the deadline. None at once when there is no
    such pool and [] when no worker ever joined it: nothing is coming back (a laptop run without `make up`)."""
    while True:
        beats = deploy.pool_workers(prefect_client, pool)
        names = live_workers(beats or [], datetime.now(UTC))
        if names or not beats or time.monotonic() > deadline:
            return names if beats is not None else None
        time.sleep(POLL_SECONDS)


def fallback(model: str, cfg: GpuConfig, outcome: Attempt) -> Attempt:
    """Say loudly that a GPU-capable model is about to train on CPU, and why; pass the outcome on."""
    reason = outcome.reason
    log.warning("train %s: GPU routing fell back to CPU: %s", model, reason)
    create_markdown_artifact(
        key="gpu-fallback",
        markdown=f"**{model}** trains on **CPU** in the train stage, not on work pool `{cfg.pool}`.\n\n"
                 f"Reason: {reason}.\n\nFlow run `{flow_run.name}`; bound `gpu.wait_seconds` = {cfg.wait_seconds:g} s.",
        description=f"GPU fallback: {model}",
    )
    return outcome


def stage_parameters(model: str, data: Path, features: Path, params_path: Path) -> dict[str, str]:
    """train-gpu parameters: absolute paths, so a GPU worker started from another working copy (or another host
    mounting this one at the same path) reads this copy's inputs."""
    return {"model": model, "data": str(data.resolve()), "features": str(features.resolve()),
            "params_path": str(params_path.resolve())}
