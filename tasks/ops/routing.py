"""GPU routing decisions: which models go to a GPU work pool and whether a worker there is alive (the device a
fitted model actually used: tasks/ml/device.py). Pure functions; the Prefect calls live in tasks/ops/gpu.py and
tasks/ops/deploy.py."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

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
