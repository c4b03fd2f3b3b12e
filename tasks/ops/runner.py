"""A warm stage runner: a fork server that keeps heavy third-party libraries imported between DVC stages.

`dvc repro` starts a new Python process per stage, and importing Prefect, pandas and scikit-learn costs several
seconds each time. The runner imports those libraries once (never project code, so edits always take effect),
then forks per stage request a supervisor, which forks the stage in a process group of its own. The stage takes
over the caller's stdin/stdout/stderr (passed over a Unix socket), working directory, environment and arguments;
the supervisor reports its exit code. Signals the caller receives are passed on to the stage; if the caller goes
away (even killed by SIGKILL) the stage is ended, and whatever it leaves in its process group is killed when it
exits. If no runner is listening the caller runs the stage itself and starts a runner in the background for the
next stage. Set MLP_WARM_RUNNER=0 to disable it.

The socket lives in a directory private to the user (mode 0700: `$XDG_RUNTIME_DIR/mlplatform`, else `run/` in
the checkout's Prefect home); a directory that is not private is refused, and both ends check from the kernel
(SO_PEERCRED) that the other is the same user before the caller's environment, credentials included, is sent.

A runner is keyed by the interpreter, the lock file, this file and the environment, so it is reused only by
callers that would have computed the same thing; it exits after MLP_RUNNER_IDLE seconds without requests.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import os
import select
import signal
import socket
import stat
import struct
import subprocess
import sys
import threading
import time
import traceback
from collections.abc import Mapping
from pathlib import Path
from typing import NoReturn

from tasks.ops import stack

ROOT = Path(__file__).resolve().parents[2]
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
_CREDENTIALS = struct.Struct("3i")  # struct ucred: pid, uid, gid
_GRACE = 5.0  # seconds a stage whose caller went away has to end on SIGTERM before its process group is killed


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


class UnsafeDirectory(RuntimeError):
    """The runner directory exists but is not private to this user."""


def runner_dir(env: Mapping[str, str]) -> Path:
    """Where this user's runner sockets and start markers live: `$XDG_RUNTIME_DIR/mlplatform` when that runtime
    directory is the user's own (mode 0700), else `run/` in this checkout's state directory (Prefect's home)."""
    runtime = env.get("XDG_RUNTIME_DIR")
    try:
        if runtime and _unsafe(Path(runtime)) is None:
            return Path(runtime) / "mlplatform"
    except FileNotFoundError:
        pass
    return stack.state_dir(env) / "run"


def _unsafe(path: Path) -> str | None:
    """Why `path` is not a directory private to this user (None when it is one); FileNotFoundError if absent."""
    info = path.lstat()
    if not stat.S_ISDIR(info.st_mode):
        return "is not a directory"
    if info.st_uid != os.getuid():
        return f"is owned by uid {info.st_uid}, not by you (uid {os.getuid()})"
    if info.st_mode & 0o077:
        return f"has mode {stat.S_IMODE(info.st_mode):04o}, not 0700"
    return None


def private_dir(env: Mapping[str, str], create: bool = False) -> Path:
    """`runner_dir(env)`, created with mode 0700 if `create`; UnsafeDirectory if it is not private to this user,
    FileNotFoundError if it does not exist."""
    path = runner_dir(env)
    if create:
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            path.mkdir(mode=0o700)
            os.chmod(path, 0o700)  # whatever the umask
        except FileExistsError:
            pass
    problem = _unsafe(path)
    if problem:
        raise UnsafeDirectory(f"the warm runner's directory {path} {problem}; remove it (rm -r {path}) or make it "
                              f"yours and private (chmod 700 {path})")
    return path


def socket_path(key: str, env: Mapping[str, str] = os.environ) -> Path:
    return runner_dir(env) / f"{key}.sock"


def peer_credentials(conn: socket.socket) -> tuple[int, int, int]:
    """(pid, uid, gid) of the process at the other end of a connected Unix socket, from the kernel (SO_PEERCRED)."""
    return _CREDENTIALS.unpack(conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, _CREDENTIALS.size))


def _same_user(conn: socket.socket) -> bool:
    return peer_credentials(conn)[1] == os.getuid()


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


def run_remote(argv: list[str], env: dict[str, str], entry: str) -> int | None:
    """Run a stage in a warm runner: `entry` ('module:function', the caller's own stage entry point) called with
    `argv`; None if no runner of this user is listening for this environment (or its directory is not private: then
    with a one-line warning), so the caller runs the stage itself."""
    if not hasattr(socket, "SO_PEERCRED"):  # the runner's peer could not be verified (not Linux)
        return None
    try:
        path = private_dir(env) / f"{runner_key(env)}.sock"
    except FileNotFoundError:
        return None
    except UnsafeDirectory as exc:
        print(f"warning: {exc}; this stage runs without the warm runner", file=sys.stderr)
        return None
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        conn.connect(str(path))
    except OSError:
        conn.close()
        return None
    with conn:
        if not _same_user(conn):  # never hand the environment (credentials included) to another user's process
            print(f"warning: {path} is served by another user's process; this stage runs without the warm runner",
                  file=sys.stderr)
            return None
        _send(conn, {"argv": argv, "entry": entry, "cwd": os.getcwd(), "env": env, "path": sys.path},
              fds=[sys.stdin.fileno(), sys.stdout.fileno(), sys.stderr.fileno()])
        hello, _ = _recv(conn)
        if hello is None:
            return None
        child = hello["pid"]

        def forward(signum: int, _frame: object) -> None:
            """Pass the signal on to the stage through the runner (which knows that PID is still the stage's)."""
            try:
                _send(conn, {"signal": signum})
            except OSError:
                pass

        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, forward)
        done, _ = _recv(conn)
    if done is None:  # the runner's supervisor was killed: the stage died with it (see _child); so do its leftovers
        _kill(child, signal.SIGKILL, group=True)
        print(f"error: the warm runner was killed while it ran the stage (pid {child}); run the stage again",
              file=sys.stderr)
        return 1
    return int(done["code"])


def spawn(env: dict[str, str]) -> None:
    """Start a runner for this environment in the background unless one is already starting.

    It runs in its own session, logs to $PREFECT_HOME/runner.log and records its PID as runner-<key>.pid there.
    """
    if not hasattr(socket, "SO_PEERCRED"):
        return
    key = runner_key(env)
    try:
        marker = private_dir(env, create=True) / f"{key}.starting"
    except UnsafeDirectory:  # run_remote has said so
        return
    try:
        if time.time() - marker.stat().st_mtime < 120:
            return
        marker.unlink()
    except FileNotFoundError:
        pass
    try:
        os.close(os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
    except FileExistsError:
        return
    home = stack.state_dir(env)
    home.mkdir(parents=True, exist_ok=True)
    with open(home / "runner.log", "ab") as log:
        process = subprocess.Popen([sys.executable, "-m", "tasks.ops.runner"], cwd=ROOT, env=env,
                                   stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                   start_new_session=True)
    stack.record(home / f"runner-{key}.pid", process)


# ---------------------------------------------------------------- server side


def _die_with(parent: int) -> None:
    """Have the kernel SIGKILL this process when `parent` dies (Linux PR_SET_PDEATHSIG)."""
    import ctypes

    if ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL) == 0 and os.getppid() != parent:
        os._exit(1)  # it died before the request took effect


def _child(request: dict, fds: list[int], run_stage, supervisor: int) -> NoReturn:
    """In the stage process: lead a process group of our own, die with the supervisor (the runner's group killed),
    become the caller's process, run the stage and exit with its code."""
    code = 1
    try:
        os.setpgid(0, 0)
        _die_with(supervisor)
        for target, fd in enumerate(fds):
            if fd != target:
                os.dup2(fd, target)
                os.close(fd)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.signal(signal.SIGHUP, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        sys.path[:] = request["path"]
        sys.argv = ["python -m flows", *request["argv"]]
        try:
            code = run_stage(request["argv"])
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        except BaseException:
            traceback.print_exc()
            code = 1
        sys.stdout.flush()
        sys.stderr.flush()
    finally:
        os._exit(code)


def _kill(pid: int, signum: int, group: bool = False) -> None:
    try:
        (os.killpg if group else os.kill)(pid, signum)
    except (ProcessLookupError, PermissionError):
        pass


def _end(stage: int, pidfd: int, grace: float) -> int:
    """Once the stage has exited, or after `grace` seconds, kill whatever is left in its process group (the
    group's ID cannot be reused before the stage is reaped); reap it and return its exit code (128 + N for
    signal N, as a shell reports it)."""
    select.select([pidfd], [], [], grace)
    _kill(stage, signal.SIGKILL, group=True)
    code = os.waitstatus_to_exitcode(os.waitpid(stage, 0)[1])
    return code if code >= 0 else 128 - code


def _wait(conn: socket.socket, stage: int, pidfd: int) -> int | None:
    """The stage's exit code once it exits, passing on to it the signals the caller forwards; None as soon as
    the caller is gone (its end of the connection closed: killed, even by SIGKILL)."""
    while True:
        ready, _, _ = select.select([conn, pidfd], [], [])
        if pidfd in ready:
            return _end(stage, pidfd, 0.0)
        message, _ = _recv(conn)
        if message is None:
            return None
        _kill(stage, int(message["signal"]))


def _supervise(conn: socket.socket, request: dict, fds: list[int], key: str) -> NoReturn:
    """In a fork of the runner, one per request: start the stage in a process group of its own, pass on to it the
    signals the caller forwards (or this process receives), report its exit code. If the caller goes away nobody
    waits for the stage: it gets SIGTERM, and SIGKILL after _GRACE seconds. Whatever the stage leaves running in its
    group (Prefect's temporary API server, say) is killed when it exits."""
    try:
        module, _, function = request["entry"].partition(":")
        run_stage = getattr(importlib.import_module(module), function)  # the caller's entry point, not this layer's

        signal.signal(signal.SIGCHLD, signal.SIG_DFL)  # the runner's SIG_IGN would reap the stage before we wait
        supervisor = os.getpid()
        stage = os.fork()
        if stage == 0:
            conn.close()
            _child(request, fds, run_stage, supervisor)
        try:
            os.setpgid(stage, stage)  # also here, so that the group exists before the first signal is passed on
        except OSError:
            pass
        for fd in fds:
            os.close(fd)
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, lambda signum, _frame: _kill(stage, signum))
        pidfd = os.pidfd_open(stage)
        print(f"runner {key}: pid {stage} runs {' '.join(request['argv'])} in {request['cwd']}", flush=True)
        try:
            _send(conn, {"pid": stage})
            code = _wait(conn, stage, pidfd)
        except OSError:
            code = None
        if code is None:
            _kill(stage, signal.SIGTERM)
            code = _end(stage, pidfd, _GRACE)
            print(f"runner {key}: the caller of pid {stage} went away; the stage ended with {code}", flush=True)
        else:
            _send(conn, {"code": code})
    except BaseException:
        traceback.print_exc()
    finally:
        os._exit(0)


def _admit(conn: socket.socket) -> bool:
    """Keep a connection only from a process of this user (its credentials from the kernel); close any other."""
    if _same_user(conn):
        return True
    pid, uid, _ = peer_credentials(conn)
    print(f"runner: refused a connection from pid {pid} of uid {uid} (not uid {os.getuid()})", flush=True)
    conn.close()
    return False


def serve(idle_seconds: float) -> None:
    """Import the heavy libraries, then serve each request in a fork until idle for `idle_seconds`."""
    key = runner_key(dict(os.environ))
    try:
        directory = private_dir(os.environ, create=True)
    except UnsafeDirectory as exc:
        print(f"runner {key}: {exc}; exiting", flush=True)
        return
    path, marker = directory / f"{key}.sock", directory / f"{key}.starting"
    started = time.perf_counter()
    for module in PREIMPORT:
        importlib.import_module(module)
    if threading.active_count() != 1:
        print(f"runner: {threading.active_count()} threads after imports; forking is unsafe, exiting")
        marker.unlink(missing_ok=True)
        return
    print(f"runner {key}: imports took {time.perf_counter() - started:.1f} s; listening on {path}", flush=True)
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    tmp = directory / f"{key}.{os.getpid()}.tmp"
    try:
        server.bind(str(tmp))
        server.listen(16)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    inode = path.stat().st_ino
    marker.unlink(missing_ok=True)
    server.settimeout(idle_seconds)
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # request forks are reaped automatically
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # `make stop`: clean up the socket on the way out
    try:
        while True:
            try:
                conn, _ = server.accept()
            except TimeoutError:
                break
            if not _admit(conn):
                continue
            conn.settimeout(None)
            request, fds = _recv(conn, with_fds=3)
            if request is not None and os.fork() == 0:
                server.close()
                _supervise(conn, request, fds, key)
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
