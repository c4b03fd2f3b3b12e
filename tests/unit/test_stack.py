import json
import subprocess
import sys
import time

import yaml

from flows import stack
from tests.conftest import ROOT

STUBBORN = """
import os, signal, subprocess, sys, time
signal.signal(signal.SIGTERM, signal.SIG_IGN)
child = subprocess.Popen([sys.executable, "-c", "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
                          "time.sleep(120)"], start_new_session=True)
print(child.pid, flush=True)
time.sleep(120)
"""


def alive(pid: int) -> bool:
    """Running (a zombie waiting for its parent to reap it counts as gone)."""
    state = subprocess.run(["ps", "-o", "stat=", "-p", str(pid)], capture_output=True, text=True).stdout.strip()
    return bool(state) and not state.startswith("Z")


def test_declared_deployments_match_prefect_yaml():
    spec = yaml.safe_load((ROOT / "prefect.yaml").read_text())
    assert stack.declared_deployments() == [d["name"] for d in spec["deployments"]]
    assert {"retrain", "drift-check", "train-gpu"} <= set(stack.declared_deployments())


def test_server_down_when_a_stage_starts_means_a_warning_and_the_ephemeral_api(capsys):
    env = {"PREFECT_API_URL": "http://127.0.0.1:9/api"}
    assert stack.resolve_api(env) is None
    assert "PREFECT_API_URL" not in env
    assert "is not answering; this stage runs on a temporary local API" in capsys.readouterr().err


def test_stop_kills_a_worker_that_ignores_sigterm_and_its_flow_run_processes(tmp_path, monkeypatch):
    """Process workers ignore SIGTERM at times, and start each flow run in a session of its own."""
    monkeypatch.setenv("PREFECT_HOME", str(tmp_path))
    worker = subprocess.Popen([sys.executable, "-c", STUBBORN], stdout=subprocess.PIPE, text=True,
                              start_new_session=True)
    child = int(worker.stdout.readline())
    (tmp_path / "worker-x.pid").write_text(json.dumps({"pid": worker.pid}))
    assert stack.running("worker-x") == worker.pid
    started = time.monotonic()
    assert stack.stop("worker-x", timeout=1.0)
    worker.wait(timeout=10)
    deadline = time.monotonic() + 10
    while alive(child) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not alive(child) and time.monotonic() - started < 10
    assert stack.running("worker-x") is None and not (tmp_path / "worker-x.pid").exists()
