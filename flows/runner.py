"""A warm stage runner: a fork server that keeps heavy third-party libraries imported between DVC stages.

`dvc repro` starts a new Python process per stage, and importing Prefect, pandas and scikit-learn costs several
seconds each time. The runner imports those libraries once (never project code, so edits always take effect),
then forks a child per stage request. The child takes over the caller's stdin/stdout/stderr (passed over a Unix
socket), working directory, environment and arguments, runs the stage and reports its exit code. Signals the
caller receives are forwarded to the child. If no runner is listening the caller runs the stage itself and
starts a runner in the background for the next stage. Set MLP_WARM_RUNNER=0 to disable it.

A runner is keyed by the interpreter, the lock file, this file and the environment, so it is reused only by
callers that would have computed the same thing; it exits after MLP_RUNNER_IDLE seconds without requests.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import os
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from pathlib import Path

from flows import stack

ROOT = Path(__file__).resolve().parent.parent
PREIMPORT = (
    "numpy", "pandas", "pyarrow.parquet", "yaml", "pydantic", "joblib", "scipy.sparse", "sklearn.base",
    "sklearn.compose", "sklearn.ensemble", "sklearn.impute", "sklearn.linear_model", "sklearn.metrics",
    "sklearn.model_selection", "sklearn.pipeline", "sklearn.preprocessing", "xgboost", "matplotlib",
    "matplotlib.pyplot", "prefect", "prefect.flows", "prefect.tasks", "prefect.context", "prefect.settings",
    "prefect.client.orchestration", "prefect.flow_engine", "prefect.task_engine", "prefect.artifacts",
    "great_expectations",  # the validate stage's import: 2.5-5 s
)
# Variables that differ between otherwise identical stage invocations and do not affect imported libraries.
_VOLATILE = ("PWD", "OLDPWD", "SHLVL", "_", "DVC_STAGE", "DVC_ROOT", "DVC_EXP_NAME", "MLP_RUN_TAG")
_HEADER = struct.Struct("!I")


def runner_key(env: dict[str, str]) -> str:
    """Identity of a runner: interpreter, the lock files and which one the venv was synced to (scripts/setup_env.sh's
    stamp), this module and the stable part of the environment."""
    digest = hashlib.sha256(sys.executable.encode())
    for path in (ROOT / "requirements.lock", ROOT / "requirements-gpu.lock", Path(sys.prefix) / ".synced",
                 Path(__file__)):
        digest.update(path.read_bytes() if path.exists() else b"")
    stable = {k: v for k, v in env.items() if k not in _VOLATILE and not k.startswith("DVC_")}
    digest.update(json.dumps(stable, sort_keys=True).encode())
    digest.update(str(ROOT).encode())
    return digest.hexdigest()[:16]


def socket_path(key: str) -> Path:
    return Path(tempfile.gettempdir()) / f"mlp-runner-{os.getuid()}-{key}.sock"


# ---------------------------------------------------------------- client side


def _send(conn: socket.socket, payload: dict, fds: list[int] | None = None) -> None:
    data = json.dumps(payload).encode()
    header = _HEADER.pack(len(data))
    if fds:
        socket.send_fds(conn, [header], fds)
        conn.sendall(data)
    else:
        conn.sendall(header + data)


def _recv(conn: socket.socket, with_fds: int = 0) -> tuple[dict | None, list[int]]:
    fds: list[int] = []
    if with_fds:
        head, fds, _, _ = socket.recv_fds(conn, _HEADER.size, with_fds)
    else:
        head = conn.recv(_HEADER.size)
    while head and len(head) < _HEADER.size:
        more = conn.recv(_HEADER.size - len(head))
        if not more:
            break
        head += more
    if len(head) < _HEADER.size:
        return None, fds
    (size,) = _HEADER.unpack(head)
    body = b""
    while len(body) < size:
        chunk = conn.recv(size - len(body))
        if not chunk:
            return None, fds
        body += chunk
    return json.loads(body), fds


def run_remote(argv: list[str], env: dict[str, str]) -> int | None:
    """Run a stage in a warm runner; None if no runner is listening for this environment."""
    path = socket_path(runner_key(env))
    if not path.exists():
        return None
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        conn.connect(str(path))
    except OSError:
        conn.close()
        return None
    with conn:
        _send(conn, {"argv": argv, "cwd": os.getcwd(), "env": env, "path": sys.path},
              fds=[sys.stdin.fileno(), sys.stdout.fileno(), sys.stderr.fileno()])
        hello, _ = _recv(conn)
        if hello is None:
            return None
        child = hello["pid"]

        def forward(signum: int, _frame: object) -> None:
            try:
                os.kill(child, signum)
            except ProcessLookupError:
                pass

        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, forward)
        done, _ = _recv(conn)
    if done is None:
        print(f"error: the stage process (pid {child}) died without reporting an exit code", file=sys.stderr)
        return 1
    return int(done["code"])


def spawn(env: dict[str, str]) -> None:
    """Start a runner for this environment in the background unless one is already starting.

    It runs in its own session, logs to $PREFECT_HOME/runner.log and records its PID as runner-<key>.pid there.
    """
    key = runner_key(env)
    marker = socket_path(key).with_suffix(".starting")
    try:
        if time.time() - marker.stat().st_mtime < 120:
            return
        marker.unlink()
    except FileNotFoundError:
        pass
    try:
        os.close(os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
    except FileExistsError:
        return
    home = Path(env.get("PREFECT_HOME", ROOT / ".prefect"))
    home.mkdir(parents=True, exist_ok=True)
    with open(home / "runner.log", "ab") as log:
        process = subprocess.Popen([sys.executable, "-m", "flows.runner"], cwd=ROOT, env=env,
                                   stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                   start_new_session=True)
    stack.record(home / f"runner-{key}.pid", process)


# ---------------------------------------------------------------- server side


def _child(conn: socket.socket, request: dict, fds: list[int], run_stage) -> None:
    """In the forked child: become the caller's process and run the stage. Never returns."""
    code = 1
    try:
        for target, fd in enumerate(fds):
            if fd != target:
                os.dup2(fd, target)
                os.close(fd)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        sys.path[:] = request["path"]
        sys.argv = ["python -m flows", *request["argv"]]
        _send(conn, {"pid": os.getpid()})
        try:
            code = run_stage(request["argv"])
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        except BaseException:
            traceback.print_exc()
            code = 1
        sys.stdout.flush()
        sys.stderr.flush()
        _send(conn, {"code": code})
    finally:
        os._exit(code)


def serve(idle_seconds: float) -> None:
    """Import the heavy libraries, then fork a child per request until idle for `idle_seconds`."""
    key = runner_key(dict(os.environ))
    path = socket_path(key)
    marker = path.with_suffix(".starting")
    started = time.perf_counter()
    for module in PREIMPORT:
        importlib.import_module(module)
    if threading.active_count() != 1:
        print(f"runner: {threading.active_count()} threads after imports; forking is unsafe, exiting")
        marker.unlink(missing_ok=True)
        return
    print(f"runner {key}: imports took {time.perf_counter() - started:.1f} s; listening on {path}", flush=True)
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.unlink(missing_ok=True)
    server.bind(str(tmp))
    server.listen(16)
    os.replace(tmp, path)
    inode = path.stat().st_ino
    marker.unlink(missing_ok=True)
    server.settimeout(idle_seconds)
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # children are reaped automatically
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # `make stop`: clean up the socket on the way out
    try:
        while True:
            try:
                conn, _ = server.accept()
            except TimeoutError:
                break
            conn.settimeout(None)
            request, fds = _recv(conn, with_fds=3)
            if request is None:
                conn.close()
                continue
            pid = os.fork()
            if pid == 0:
                server.close()
                from flows.cli import main as run_stage

                _child(conn, request, fds, run_stage)
            print(f"runner {key}: pid {pid} runs {' '.join(request['argv'])} in {request['cwd']}", flush=True)
            for fd in fds:
                os.close(fd)
            conn.close()
    finally:
        server.close()
        if path.exists() and path.stat().st_ino == inode:  # not replaced by a newer runner
            path.unlink(missing_ok=True)
        print(f"runner {key}: idle for {idle_seconds:.0f} s, exiting", flush=True)


if __name__ == "__main__":
    serve(float(os.environ.get("MLP_RUNNER_IDLE", "900")))
