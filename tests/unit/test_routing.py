import warnings
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tasks.core.config import GpuConfig
from tasks.families import get_family
from tasks.ml.device import device_used
from tasks.ops.routing import WorkerBeat, alive, live_workers, routes_to_gpu
from tasks.stages import ingest
from tasks.stages.featurize import build_spec
from tasks.stages.train import train_model

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def beat(name: str, ago: float, status: str = "ONLINE", every: float | None = 10) -> WorkerBeat:
    return WorkerBeat(name=name, status=status, last_heartbeat=NOW - timedelta(seconds=ago), heartbeat_seconds=every)


def test_only_gpu_families_are_routed_and_only_when_routing_is_on():
    assert routes_to_gpu(get_family("xgboost"), GpuConfig())
    assert not routes_to_gpu(get_family("xgboost"), GpuConfig(routing=False))
    assert not routes_to_gpu(get_family("random_forest"), GpuConfig())


def test_a_worker_is_alive_until_three_heartbeats_are_missed():
    assert alive(beat("a", 29), NOW) and not alive(beat("a", 31), NOW)
    assert not alive(beat("a", 1, status="OFFLINE"), NOW)
    assert alive(beat("a", 89, every=None), NOW)  # Prefect's default interval: 30 s
    assert not alive(WorkerBeat("a", "ONLINE", None, 10), NOW)
    assert live_workers([beat("b", 5), beat("a", 5), beat("dead", 60)], NOW) == ["a", "b"]


@pytest.fixture(scope="module")
def employment(acs_sample, params):
    parts = ingest.split(acs_sample, params.ingest["employment"], seed=params.seed)
    spec = build_spec(parts["train"], params.ingest["employment"], params.featurize["employment"], "train")
    return parts, spec


def test_device_used_reads_what_xgboost_actually_did(employment, params):
    """device="cuda" on a host without a visible GPU: XGBoost trains on CPU with only a warning."""
    parts, spec = employment
    cfg = params.train["employment-xgboost"].model_copy(update={"hyperparameters": {"n_estimators": 5}})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        trained = train_model("m", cfg, spec, parts["train"], parts["valid"], seed=0, device="cuda")
    assert device_used(trained.pipeline, "cuda") == ("cuda" if Path("/dev/nvidia0").exists() else "cpu")
    assert device_used(trained.pipeline, "cpu") == "cpu"
    assert trained.meta["device"] == device_used(trained.pipeline, "cuda"), "meta.json records the device used"


@pytest.mark.parametrize(("beats", "expected", "waits"), [
    (None, None, False),                                  # no such pool: nothing to wait for
    ([], [], False),                                      # a pool no worker ever joined
    ([beat("gpu-1", ago=3600, status="OFFLINE")], [], True),  # its worker is down: wait for it to come back
])
def test_waiting_for_a_gpu_worker_is_bounded_and_skipped_when_none_can_come(monkeypatch, beats, expected, waits):
    import time

    from tasks.ops import gpu

    calls = []
    monkeypatch.setattr(gpu.deploy, "pool_workers", lambda client, pool: calls.append(pool) or beats)
    monkeypatch.setattr(gpu, "POLL_SECONDS", 0.01)
    assert gpu.wait_for_live_worker(None, "gpu", time.monotonic() + 0.2) == expected
    assert (len(calls) > 1) is waits
