import os
import signal
import subprocess
import sys
import time

from flows import runner, stack
from tests.conftest import ROOT


def test_runner_key_ignores_volatile_variables_only():
    env = {"PATH": "/bin", "PREFECT_API_URL": "http://127.0.0.1:1/api"}
    key = runner.runner_key(env)
    assert runner.runner_key({**env, "PWD": "/elsewhere", "DVC_STAGE": "train@x", "SHLVL": "3"}) == key
    assert runner.runner_key({**env, "PREFECT_API_URL": "http://127.0.0.1:2/api"}) != key
    assert runner.runner_key({**env, "OMP_NUM_THREADS": "1"}) != key


def test_no_runner_means_run_in_process():
    assert runner.run_remote(["check", "--help"], {"MLP_UNIQUE": str(time.time())}) is None


def test_a_stage_runs_in_a_warm_runner_with_the_callers_streams_and_exit_code(tmp_path):
    """A real runner: output reaches the caller's stdout/stderr, exit codes come back, SIGTERM cleans up."""
    env = {**os.environ, "PREFECT_HOME": str(tmp_path), "MLP_RUNNER_IDLE": "60", "MLP_PREFECT_SERVER": "off",
           "MLP_TEST_ID": str(tmp_path)}
    stack.apply_env_defaults(env)  # what the launcher does before computing its key
    server = subprocess.Popen([sys.executable, "-m", "flows.runner"], cwd=ROOT, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        socket_path = runner.socket_path(runner.runner_key(env))
        deadline = time.monotonic() + 120
        while not socket_path.exists() and time.monotonic() < deadline:
            assert server.poll() is None, server.stdout.read()
            time.sleep(0.2)
        assert socket_path.exists()
        ok = subprocess.run([sys.executable, "-m", "flows", "check", "--help"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=60)
        assert ok.returncode == 0 and "--code" in ok.stdout
        bad = subprocess.run([sys.executable, "-m", "flows", "no-such-stage"], cwd=ROOT, env=env,
                             capture_output=True, text=True, timeout=60)
        assert bad.returncode == 2 and "invalid choice: 'no-such-stage'" in bad.stderr
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
    log = server.stdout.read()
    assert "listening on" in log
    assert "runs check --help" in log and "runs no-such-stage" in log, "both requests were served by the runner"
    assert not socket_path.exists(), "the socket is removed when the runner stops"
