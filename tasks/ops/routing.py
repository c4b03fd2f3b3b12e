"""GPU routing decisions: which models go to a GPU work pool, whether a worker there is alive, and which device a
fitted model actually used. Pure functions; the Prefect calls live in tasks/ops/gpu.py and tasks/ops/deploy.py."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tasks.core.config import GpuConfig
from tasks.families import Family

# Prefect's foreman marks a worker OFFLINE after this many missed heartbeats; we judge liveness the same way, but
# from the heartbeat time itself, so a killed worker is noticed without waiting for the foreman's next pass.
MISSED_HEARTBEATS = 3
DEFAULT_HEARTBEAT_SECONDS = 30.0


@dataclass(frozen=True)
class WorkerBeat:
    """What the Prefect API says about one worker of a pool."""

    name: str
    status: str                      # ONLINE | OFFLINE
    last_heartbeat: datetime | None
    heartbeat_seconds: float | None


def routes_to_gpu(family: Family, cfg: GpuConfig) -> bool:
    """A family goes to the GPU pool only if it can use a GPU and routing is on."""
    return family.gpu and cfg.routing


def alive(worker: WorkerBeat, now: datetime) -> bool:
    """ONLINE and heard from within MISSED_HEARTBEATS of its own heartbeat interval."""
    if worker.status != "ONLINE" or worker.last_heartbeat is None:
        return False
    interval = worker.heartbeat_seconds or DEFAULT_HEARTBEAT_SECONDS
    return (now - worker.last_heartbeat).total_seconds() <= MISSED_HEARTBEATS * interval


def live_workers(workers: list[WorkerBeat], now: datetime) -> list[str]:
    return sorted(w.name for w in workers if alive(w, now))


def device_used(pipeline: Any, requested: str) -> str:
    """The device a fitted pipeline's estimator actually trained on.

    XGBoost (device="cuda" on a host without a visible GPU) and the Keras estimators fall back to the CPU with only
    a warning, so the requested device is not evidence: read XGBoost's booster configuration, or the estimator's
    `device_used_` attribute; other estimators are taken at their word.
    """
    if requested == "cpu":
        return "cpu"
    estimator = pipeline.steps[-1][1] if hasattr(pipeline, "steps") else pipeline
    while hasattr(estimator, "estimator_"):  # wrappers (label encoding, subsampling) hold the fitted model
        estimator = estimator.estimator_
    if hasattr(estimator, "device_used_"):
        return str(estimator.device_used_)
    if hasattr(estimator, "get_booster"):
        config = json.loads(estimator.get_booster().save_config())
        return config["learner"]["generic_param"]["device"].split(":")[0]
    return requested
