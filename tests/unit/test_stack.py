import json
import os
import signal
import subprocess
import sys
import time

import psutil
import pytest
import yaml

from tasks.ops import stack
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
    stack.record(tmp_path / "worker-x.pid", worker)
    assert stack.running("worker-x") == worker.pid
    started = time.monotonic()
    assert stack.stop("worker-x", timeout=1.0)
    worker.wait(timeout=10)
    deadline = time.monotonic() + 10
    while alive(child) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not alive(child) and time.monotonic() - started < 10
    assert stack.running("worker-x") is None and not (tmp_path / "worker-x.pid").exists()


def test_a_recorded_server_that_is_slow_to_answer_is_waited_for_not_started_twice(tmp_path, monkeypatch):
    """Under load a health check can time out; starting a second server would orphan the first one's PID."""
    monkeypatch.setenv("PREFECT_HOME", str(tmp_path))
    port = stack.DEFAULT_PORT + 1  # nothing needs to listen: the recorded "server" is a sleeping process
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"], start_new_session=True)
    try:
        stack.record(tmp_path / "server.pid", sleeper, url=stack.local_api_url(port))
        record = json.loads((tmp_path / "server.pid").read_text())
        answers = [False, False, True]
        monkeypatch.setattr(stack, "healthy", lambda url, timeout=1.0: bool(answers) and answers.pop(0))
        assert stack.start_server(port, wait=10) == record["url"]
        assert json.loads((tmp_path / "server.pid").read_text()) == record, "no second server was started"
        with pytest.raises(RuntimeError, match="stop it first"):
            stack.start_server(port + 1, wait=1)
    finally:
        sleeper.kill()
        sleeper.wait()


def test_a_pid_file_records_the_start_time_and_command_line(tmp_path):
    sleeper = subprocess.Popen(["sleep", "60"])
    try:
        stack.record(tmp_path / "x.pid", sleeper, url="u")
        entry = json.loads((tmp_path / "x.pid").read_text())
        [line] = subprocess.run(["ps", "-o", "lstart=", "-p", str(sleeper.pid)], capture_output=True, text=True,
                                check=True).stdout.splitlines()
        started = time.mktime(time.strptime(line.strip(), "%a %b %d %H:%M:%S %Y"))  # ps's clock, not psutil's
        assert entry["pid"] == sleeper.pid and entry["url"] == "u" and entry["cmdline"] == ["sleep", "60"]
        assert abs(entry["create_time"] - started) <= 1.0
    finally:
        sleeper.kill()
        sleeper.wait()


@pytest.mark.parametrize("stale", ["start time", "command", "no identity"])
def test_a_pid_file_naming_an_unrelated_process_signals_nothing(tmp_path, monkeypatch, capsys, stale):
    """A PID reused by another program (after a reboot, say): stop() leaves it alone and removes the stale file."""
    monkeypatch.setenv("PREFECT_HOME", str(tmp_path))
    unrelated = subprocess.Popen(["sleep", "60"], start_new_session=True)  # a group of its own, as a worker has
    try:
        process = psutil.Process(unrelated.pid)
        entry = {"pid": unrelated.pid, "create_time": process.create_time(), "cmdline": ["sleep", "60"]}
        if stale == "start time":
            entry["create_time"] -= 3600
        elif stale == "command":
            entry["cmdline"] = [sys.executable, "-m", "prefect", "worker", "start"]
        else:
            entry = {"pid": unrelated.pid}
        (tmp_path / "worker-x.pid").write_text(json.dumps(entry))
        assert stack.stop("worker-x", timeout=1.0) is False
        assert alive(unrelated.pid) and unrelated.poll() is None, "the unrelated process was not signalled"
        assert not (tmp_path / "worker-x.pid").exists()
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and f"removed the stale PID file {tmp_path / 'worker-x.pid'}" in err
        assert f"process {unrelated.pid} now runs something else (sleep 60)" in err
        assert stack.running("worker-x") is None and stack.stop_all() == []
    finally:
        os.kill(unrelated.pid, signal.SIGKILL)
        unrelated.wait()


def test_a_pid_file_of_a_process_that_exited_is_removed(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("PREFECT_HOME", str(tmp_path))
    gone = subprocess.Popen(["sleep", "60"])
    stack.record(tmp_path / "server.pid", gone)
    gone.kill()
    gone.wait()
    assert stack.running("server") is None and not (tmp_path / "server.pid").exists()
    assert f"process {gone.pid} is gone; nothing was signalled" in capsys.readouterr().err


def test_a_checkout_does_not_use_the_server_of_another_checkout(tmp_path, monkeypatch, capsys):
    """Checkout A's real Prefect server on a free port: A reuses it, B refuses it with one line naming the port and
    the fix, and B's stages run on a temporary API rather than recording their runs in A's server."""
    port = stack.free_port()
    url = stack.local_api_url(port)
    home_a, home_b = tmp_path / "a", tmp_path / "b"
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    monkeypatch.setenv("PREFECT_HOME", str(home_a))
    try:
        assert stack.start_server(port, wait=120) == url
        pid = stack.running("server")
        assert stack.server_home(url) == home_a
        assert stack.start_server(port) == url and stack.running("server") == pid, "A reuses its own server"
        monkeypatch.setenv("PREFECT_HOME", str(home_b))
        with pytest.raises(RuntimeError) as refused:
            stack.start_server(port)
        message = str(refused.value)
        assert "\n" not in message and f"the Prefect server on 127.0.0.1:{port} is not this checkout's" in message
        assert f"keeps its database in {home_a}, not in {home_b}" in message and "MLP_PREFECT_PORT=" in message
        assert not (home_b / "server.pid").exists(), "B started nothing"
        env = {"MLP_PREFECT_PORT": str(port)}
        monkeypatch.setenv("MLP_PREFECT_PORT", str(port))
        assert stack.resolve_api(env) is None and "PREFECT_API_URL" not in env
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "is not this checkout's" in err and "temporary local API" in err
    finally:
        monkeypatch.setenv("PREFECT_HOME", str(home_a))
        assert stack.stop("server")
    assert not stack.healthy(url)
