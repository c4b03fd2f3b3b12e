"""The one adapter for Prefect's client-side deployment API: workers of a pool, concurrency limits, and runs of
deployments (submit, watch, cancel, crash, result). Deployments themselves are declared in prefect.yaml and
applied by `python -m tasks.ops.stack up|deploy` (the `prefect deploy` command)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from uuid import UUID, uuid4

from prefect.client.orchestration import SyncPrefectClient, get_client
from prefect.client.schemas.objects import FlowRun
from prefect.deployments import run_deployment
from prefect.exceptions import PrefectHTTPStatusError
from prefect.settings import get_current_settings
from prefect.states import Cancelled, Crashed

from tasks.ops.routing import WorkerBeat


def api_url() -> str | None:
    """The Prefect API this process talks to; None on Prefect's ephemeral API (no server, no workers)."""
    return get_current_settings().api.url


@contextmanager
def client() -> Iterator[SyncPrefectClient]:
    with get_client(sync_client=True) as prefect_client:
        yield prefect_client


def pool_workers(prefect_client: SyncPrefectClient, pool: str) -> list[WorkerBeat] | None:
    """The workers registered in `pool` (None if the pool does not exist)."""
    try:
        workers = prefect_client.read_workers_for_work_pool(pool)
    except PrefectHTTPStatusError as exc:  # this call does not map a missing pool to ObjectNotFound
        if exc.response.status_code == 404:
            return None
        raise
    return [WorkerBeat(name=w.name, status=str(getattr(w.status, "value", w.status)),
                       last_heartbeat=w.last_heartbeat_time, heartbeat_seconds=w.heartbeat_interval_seconds)
            for w in workers]


def ensure_limit(prefect_client: SyncPrefectClient, name: str, slots: int) -> None:
    """A global concurrency limit `name` with `slots` slots (created, or its size updated)."""
    prefect_client.upsert_global_concurrency_limit_by_name(name, slots)


def submit(deployment: str, parameters: dict[str, Any]) -> FlowRun:
    """Schedule one run of `deployment` now and return at once (a subflow run when called inside a flow).

    The request carries a fresh idempotency key: Prefect's client resends a request whose response timed out (a
    loaded server), and the server then returns the run it already created instead of creating a second one.
    """
    return run_deployment(deployment, parameters=parameters, timeout=0, idempotency_key=uuid4().hex)


def read_run(prefect_client: SyncPrefectClient, run_id: UUID) -> FlowRun:
    return prefect_client.read_flow_run(run_id)


def cancel(prefect_client: SyncPrefectClient, run_id: UUID, message: str) -> None:
    prefect_client.set_flow_run_state(run_id, Cancelled(message=message), force=True)


def crash(prefect_client: SyncPrefectClient, run_id: UUID, message: str) -> None:
    prefect_client.set_flow_run_state(run_id, Crashed(message=message), force=True)


def result(run: FlowRun) -> Any:
    """A completed run's return value, read back from Prefect's result storage."""
    return run.state.result()
