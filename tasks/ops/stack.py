"""The local stack: a Prefect server and the `cpu` and `gpu` process workers; environment defaults, start on
demand, health checks, stop by PID (each process in its own session, stopped with its process group).

A PID file records the process's start time and command line besides its PID, and nothing is signalled unless the
process still matches them (a PID reused after a reboot is not). A healthy server on the local port is used only if
it keeps its database in this checkout's state directory (it says so at /api/admin/settings).

Standard library only (psutil when PID files are read), so the stage launcher can decide where flow runs are
recorded before paying for any heavy import.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TELEMETRY_OFF = {"DO_NOT_TRACK": "1", "DVC_NO_ANALYTICS": "1", "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}
DEFAULT_PORT = 4200
POOLS = ("cpu", "gpu")
# Workers heartbeat often enough that a dead one is noticed in 30 s and poll for runs every few seconds; the flow
# runs they start send a heartbeat every 30 s (Prefect's minimum), which ZOMBIE_AUTOMATION watches.
WORKER_DEFAULTS = {"PREFECT_WORKER_HEARTBEAT_SECONDS": "10", "PREFECT_WORKER_QUERY_SECONDS": "3",
                   "PREFECT_FLOWS_HEARTBEAT_FREQUENCY": "30"}
# Prefect's recipe for runs whose infrastructure vanished (a worker host killed): no heartbeat or final state
# within 90 s of a heartbeat marks the run Crashed, so it does not stay Running in the UI.
ZOMBIE_AUTOMATION = {
    "name": "crash flow runs whose heartbeats stopped",
    "description": "Created by `python -m tasks.ops.stack up` (Prefect's zombie flow run recipe).",
    "enabled": True,
    "trigger": {
        "type": "event", "posture": "Proactive", "threshold": 1, "within": 90,
        "match": {"prefect.resource.id": ["prefect.flow-run.*"]}, "match_related": {},
        "after": ["prefect.flow-run.heartbeat"],
        "expect": ["prefect.flow-run.heartbeat", "prefect.flow-run.Completed", "prefect.flow-run.Failed",
                   "prefect.flow-run.Cancelled", "prefect.flow-run.Crashed"],
        "for_each": ["prefect.resource.id"],
    },
    "actions": [{"type": "change-flow-run-state", "state": "CRASHED",
                 "message": "No heartbeat for 90 s: the process running this flow is gone."}],
}


def state_dir(env: dict[str, str] | os._Environ = os.environ) -> Path:
    """Where this checkout keeps Prefect's home (database, logs, PID files); ignored by git."""
    return Path(env.get("PREFECT_HOME", ROOT / ".prefect"))


def apply_env_defaults(env: dict[str, str] | os._Environ = os.environ) -> None:
    """Telemetry off, Prefect's home inside the checkout, quiet Prefect logging unless set otherwise."""
    for key, value in TELEMETRY_OFF.items():
        env.setdefault(key, value)
    env.setdefault("PREFECT_HOME", str(ROOT / ".prefect"))
    env.setdefault("PREFECT_LOGGING_LEVEL", "INFO")
    env.setdefault("PREFECT_LOGGING_EXTRA_LOGGERS", "mlplatform")
    env.setdefault("PYTHONUNBUFFERED", "1")


def healthy(api_url: str, timeout: float = 1.0) -> bool:
    """True if a Prefect API answers its health check at `api_url` (e.g. http://127.0.0.1:4200/api)."""
    try:
        with urllib.request.urlopen(f"{api_url.rstrip('/')}/health", timeout=timeout) as response:
            return response.status == 200
    except OSError:
        return False


def local_api_url(port: int | None = None) -> str:
    return f"http://127.0.0.1:{port or int(os.environ.get('MLP_PREFECT_PORT', DEFAULT_PORT))}/api"


def _pid_file(name: str) -> Path:
    return state_dir() / f"{name}.pid"


def _identity(pid: int) -> dict | None:
    """What tells a process apart from a later one with the same PID: its start time and command line (None if no
    such process runs, a zombie included)."""
    import psutil

    try:
        process = psutil.Process(pid)
        return {"create_time": process.create_time(), "cmdline": process.cmdline()}
    except psutil.Error:
        return None


def record(path: Path, process: subprocess.Popen, **extra: object) -> None:
    """Write the PID file `path` for `process`, just started: its PID, start time, command line and `extra`. The
    command line is the one started (the kernel shows an empty one for a moment after exec)."""
    now = _identity(process.pid)
    entry = {"pid": process.pid, "create_time": now and now["create_time"], "cmdline": list(map(str, process.args))}
    from tasks.core.io import atomic_write_text

    atomic_write_text(path, json.dumps({**entry, **extra}))  # whole or absent for a concurrent reader


def _matches(entry: dict, now: dict | None) -> bool:
    started = entry.get("create_time")
    return (now is not None and now["cmdline"] == entry.get("cmdline") and isinstance(started, float)
            and abs(now["create_time"] - started) < 0.01)


def running(name: str) -> int | None:
    """PID of the process this module started and recorded as `name`, if that process is still running.

    A stale PID file (the process is gone, or its PID now belongs to another program) is removed with a note on
    stderr; nothing is signalled.
    """
    path = _pid_file(name)
    try:
        entry = json.loads(path.read_text())
    except FileNotFoundError:
        return None
    except ValueError:
        entry = None
    if not isinstance(entry, dict):
        entry = {}
    pid = entry.get("pid")
    now = _identity(pid) if isinstance(pid, int) and pid > 0 else None
    if _matches(entry, now):
        return pid
    path.unlink(missing_ok=True)
    why = "is gone" if now is None else f"now runs something else ({' '.join(now['cmdline'])[:80]})"
    print(f"note: removed the stale PID file {path}: process {pid} {why}; nothing was signalled", file=sys.stderr)
    return None


def _api(url: str, path: str, body: dict | None = None, method: str = "POST") -> object:
    request = urllib.request.Request(f"{url.rstrip('/')}/{path}", data=json.dumps(body or {}).encode(),
                                     headers={"Content-Type": "application/json"}, method=method)
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)


def ensure_pools(url: str, pools: tuple[str, ...] = POOLS) -> None:
    """Create the process work pools that do not exist; the first worker fills in its default job template."""
    for pool in pools:
        try:
            _api(url, "work_pools/", {"name": pool, "type": "process", "base_job_template": {}})
        except urllib.error.HTTPError as exc:
            if exc.code != 409:  # 409: it exists already
                raise


def ensure_zombie_automation(url: str) -> None:
    """Register ZOMBIE_AUTOMATION unless an automation of that name exists."""
    if not any(a["name"] == ZOMBIE_AUTOMATION["name"] for a in _api(url, "automations/filter")):
        _api(url, "automations/", ZOMBIE_AUTOMATION)


def pool_workers(url: str, pool: str) -> list[dict]:
    """The workers registered in `pool` ([] if there is no such pool)."""
    try:
        return _api(url, f"work_pools/{pool}/workers/filter")
    except urllib.error.HTTPError:
        return []


def worker_env(url: str) -> dict[str, str]:
    """A worker's environment: the API, this checkout as the working copy its flow runs use (prefect.yaml's pull
    step reads MLP_ROOT), this interpreter's bin directory first on PATH (dvc, python)."""
    env = dict(os.environ)
    apply_env_defaults(env)
    for key, value in WORKER_DEFAULTS.items():
        env.setdefault(key, value)
    env["PREFECT_API_URL"] = url
    env["MLP_ROOT"] = str(ROOT)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    return env


def start_worker(pool: str, url: str) -> int:
    """Start a process worker for `pool` in its own session (unless one from this checkout runs); return its PID."""
    name = f"worker-{pool}"
    pid = running(name)
    if pid:
        return pid
    home = state_dir()
    home.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "prefect", "worker", "start", "--pool", pool, "--type", "process",
               "--name", f"{pool}-{socket.gethostname()}"]
    with open(home / f"{name}.log", "ab") as log:
        process = subprocess.Popen(command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                   env=worker_env(url), start_new_session=True)
    record(_pid_file(name), process, pool=pool, url=url)
    return process.pid


def wait_for_workers(url: str, pools: list[str], wait: float = 60.0) -> None:
    """Until every pool has a worker whose status is ONLINE (it has sent its first heartbeat)."""
    hostname = socket.gethostname()
    deadline = time.monotonic() + wait
    pending = list(pools)
    while pending:
        pending = [p for p in pending if not any(w["name"] == f"{p}-{hostname}" and w["status"] == "ONLINE"
                                                 for w in pool_workers(url, p))]
        for pool in pending:
            if not running(f"worker-{pool}"):
                raise RuntimeError(f"the {pool} worker exited; see {state_dir() / f'worker-{pool}.log'}")
        if pending and time.monotonic() > deadline:
            raise RuntimeError(f"worker(s) {pending} not online within {wait:.0f} s; see {state_dir()}/worker-*.log")
        time.sleep(0.5)


def declared_deployments(path: Path = ROOT / "prefect.yaml") -> list[str]:
    """Deployment names in prefect.yaml (entries written `  - name: NAME` under `deployments:`)."""
    _, _, entries = path.read_text().partition("\ndeployments:\n")
    return re.findall(r"^  - name: *([\w.-]+)", entries, flags=re.MULTILINE)


def deploy(url: str, force: bool = False) -> list[str]:
    """`prefect deploy` for the deployments in prefect.yaml that the server lacks (all with `force`), so that a
    schedule edited in the UI survives `up`. `prefect deploy` imports every flow: several seconds."""
    names = declared_deployments()
    if not force:
        present = {d["name"] for d in _api(url, "deployments/filter", {"deployments": {"name": {"any_": names}}})}
        names = [name for name in names if name not in present]
    if names:
        result = subprocess.run([sys.executable, "-m", "prefect", "--no-prompt", "deploy",
                                 *(f"--name={name}" for name in names)], cwd=ROOT, env=worker_env(url),
                                capture_output=True, text=True)
        if result.returncode != 0:
            raise RuntimeError(f"prefect deploy failed:\n{result.stdout[-3000:]}{result.stderr[-3000:]}")
    return names


def up(workers: list[str], port: int | None = None) -> dict[str, float]:
    """Server (this checkout's, or the one PREFECT_API_URL names), work pools, deployments, workers; timings."""
    started = time.monotonic()
    url = os.environ.get("PREFECT_API_URL") or start_server(port)
    if not healthy(url):
        raise RuntimeError(f"Prefect server at {url} is not answering")
    timings = {"server": time.monotonic() - started}
    ensure_pools(url)
    ensure_zombie_automation(url)
    for pool in workers:
        start_worker(pool, url)
    deployed = deploy(url)
    print(f"deployed: {', '.join(deployed)}" if deployed else "deployments: all present")
    timings["deployments"] = time.monotonic() - started
    wait_for_workers(url, workers)
    timings["workers"] = time.monotonic() - started
    return timings


def server_home(url: str, timeout: float = 3.0) -> Path | None:
    """The Prefect home (database, logs) of the server at `url`, as its settings API reports it; None if it does not."""
    try:
        with urllib.request.urlopen(f"{url.rstrip('/')}/admin/settings", timeout=timeout) as response:
            home = json.load(response).get("home")
    except (OSError, ValueError, AttributeError):
        return None
    return Path(home) if isinstance(home, str) and home else None


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def check_owner(url: str) -> None:
    """Raise unless the server answering at `url` is this checkout's: the verified process this checkout recorded in
    server.pid for `url` (checked first: a few ms, against ~60 ms for the settings call every stage would pay), or a
    server whose home is this checkout's state directory."""
    if running("server") and json.loads(_pid_file("server").read_text()).get("url") == url:
        return
    home = server_home(url)
    if home is not None and home.resolve() == state_dir().resolve():
        return
    owner = f"keeps its database in {home}" if home else "does not say where it keeps its database"
    where = url.removeprefix("http://").removesuffix("/api")
    raise RuntimeError(f"the Prefect server on {where} is not this checkout's (it {owner}, not in {state_dir()}); "
                       f"give this checkout its own port (MLP_PREFECT_PORT={free_port()}) or stop that server")


def start_server(port: int | None = None, wait: float = 60.0) -> str:
    """Start a Prefect server on 127.0.0.1 in its own session unless this checkout's already answers; return its
    API URL. A healthy server on the port that belongs to another checkout raises (see `check_owner`).

    A server this checkout started that is still coming up, or too busy to answer a health check at once, is waited
    for rather than started twice (a second one could not bind the port, and would orphan the first's PID file).
    """
    url = local_api_url(port)
    if healthy(url):
        check_owner(url)
        return url
    home = state_dir()
    home.mkdir(parents=True, exist_ok=True)
    process = None
    if running("server"):
        recorded = json.loads(_pid_file("server").read_text()).get("url")
        if recorded != url:
            raise RuntimeError(f"this checkout's Prefect server runs at {recorded}, not {url}; stop it first "
                               "(python -m tasks.ops.stack down)")
    else:
        env = dict(os.environ)
        apply_env_defaults(env)
        env.pop("PREFECT_API_URL", None)
        with open(home / "server.log", "ab") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1", "--port",
                 url.rsplit(":", 1)[1].split("/")[0]],
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env, start_new_session=True,
            )
        record(_pid_file("server"), process, url=url)
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        if healthy(url, timeout=2.0):
            return url
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"Prefect server exited with code {process.returncode}; see {home / 'server.log'}")
        if process is None and not running("server"):
            raise RuntimeError(f"this checkout's Prefect server exited; see {home / 'server.log'}")
        time.sleep(0.2)
    raise RuntimeError(f"Prefect server did not become healthy at {url} within {wait:.0f} s; see {home / 'server.log'}")


def _children(pid: int) -> list[int]:
    """Direct children of `pid` (a worker's flow-run processes run in sessions of their own)."""
    try:
        found = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
    except OSError:
        return []
    return [int(p) for p in found.split()]


def stop(name: str = "server", timeout: float = 15.0) -> bool:
    """Stop a process this module started, by the PID it recorded if the process still matches the record: its
    process group and those of its children (a worker's flow runs, which then end Crashed), SIGTERM first, SIGKILL
    after `timeout` (a Prefect worker can ignore SIGTERM, notably while its server is down). False if nothing ran."""
    pid = running(name)
    if pid is None:  # never started, exited, or its PID now names another process: nothing to signal
        return False
    groups = [pid, *_children(pid)]
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for group in groups:
            try:
                os.killpg(group, sig)
            except (ProcessLookupError, PermissionError):
                pass
        deadline = time.monotonic() + timeout
        while groups and time.monotonic() < deadline:
            groups = [g for g in groups if _group_alive(g)]
            time.sleep(0.1)
        if not groups:
            break
    _pid_file(name).unlink(missing_ok=True)
    return True


def _group_alive(group: int) -> bool:
    try:
        os.killpg(group, 0)
    except (ProcessLookupError, PermissionError):
        return False
    return True


def stop_all() -> list[str]:
    """Stop the workers, then the server, then every warm runner recorded in this checkout's state directory."""
    order = {"worker": 0, "server": 1}
    names = sorted((p.stem for p in state_dir().glob("*.pid")), key=lambda n: (order.get(n.split("-")[0], 2), n))
    return [name for name in names if stop(name, timeout=5.0 if name.startswith("worker-") else 15.0)]


def repro_tag(pid: int | None = None) -> str:
    """The Prefect tag shared by every flow run of one `dvc repro` (or `dvc exp run`): `repro-<start>-<pid>` of the
    nearest DVC ancestor process; `manual` when a stage command was run by hand."""
    import psutil

    try:
        for process in psutil.Process(pid).parents():
            words = " ".join(process.cmdline()[:4])
            if "dvc" in words and ("repro" in words or "exp" in words):
                started = time.strftime("%Y%m%d-%H%M%S", time.localtime(process.create_time()))
                return f"repro-{started}-{process.pid}"
    except psutil.Error:
        pass
    return "manual"


def resolve_api(env: dict[str, str] | os._Environ = os.environ) -> str | None:
    """Decide where this process records its flow runs; set PREFECT_API_URL accordingly and return it.

    - PREFECT_API_URL set and healthy: use it.
    - PREFECT_API_URL set but not answering: warn and run on Prefect's ephemeral API (the stage still runs).
    - unset, MLP_PREFECT_SERVER=auto (default): start or reuse this checkout's local server; if another checkout's
      server holds the port, warn and run on the ephemeral API (never record runs in another checkout's server).
    - unset, MLP_PREFECT_SERVER=off: ephemeral API, nothing left running.
    """
    url = env.get("PREFECT_API_URL")
    if url:
        if healthy(url, timeout=3.0):  # a refused connection fails at once; a busy server gets a few seconds
            return url
        print(f"warning: Prefect server at {url} is not answering; this stage runs on a temporary local API "
              "and its flow run will not appear in that server's UI", file=sys.stderr)
        env.pop("PREFECT_API_URL")
        return None
    if env.get("MLP_PREFECT_SERVER", "auto") == "off":
        return None
    try:
        env["PREFECT_API_URL"] = start_server()
    except RuntimeError as exc:
        print(f"warning: {exc}; running on a temporary local API", file=sys.stderr)
        return None
    return env["PREFECT_API_URL"]


def status() -> list[str]:
    """One line for the server and one per process this checkout started, with each pool's workers."""
    url = os.environ.get("PREFECT_API_URL") or local_api_url()
    up_ = healthy(url)
    lines = [f"server {url}: {'healthy' if up_ else 'not answering'}"]
    for pid_file in sorted(state_dir().glob("*.pid")):
        pid = running(pid_file.stem)
        lines.append(f"{pid_file.stem}: {f'running (pid {pid})' if pid else 'not running'}")
    if up_:
        for pool in POOLS:
            workers = ", ".join(f"{w['name']} {w['status']}" for w in pool_workers(url, pool)) or "no workers"
            lines.append(f"pool {pool}: {workers}")
    return lines


def main(argv: list[str] | None = None) -> int:
    """`python -m tasks.ops.stack ACTION`: manage this checkout's Prefect server and workers.

    up: server, work pools, deployments missing from the server, workers; down: stop what `up` started (or the
    named processes); status; deploy [--all]: re-apply prefect.yaml; start/stop: the server alone / everything.
    """
    parser = argparse.ArgumentParser(prog="python -m tasks.ops.stack", description=main.__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("action", choices=["up", "down", "status", "deploy", "start", "stop"])
    parser.add_argument("names", nargs="*", help="down: processes to stop (e.g. worker-gpu); default all")
    parser.add_argument("--workers", default=",".join(POOLS), help="up: pools to start workers for (%(default)s)")
    parser.add_argument("--all", action="store_true", help="deploy: re-apply every deployment, schedules included")
    args = parser.parse_args(argv)
    apply_env_defaults()
    try:
        return _act(args)
    except RuntimeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


def _act(args: argparse.Namespace) -> int:
    """Carry out one `main` action; a RuntimeError is the user's one-line error."""
    if args.action == "up":
        timings = up([p for p in args.workers.split(",") if p])
        print("\n".join(status()))
        print("ready in " + ", ".join(f"{k} {v:.1f} s" for k, v in timings.items()))
    elif args.action == "start":
        print(f"Prefect server: {start_server()} (UI at {local_api_url().removesuffix('/api')})")
    elif args.action in ("down", "stop"):
        stopped = [n for n in args.names if stop(n, timeout=5.0)] if args.names else stop_all()
        print(f"stopped: {', '.join(stopped)}" if stopped else "nothing was running")
    elif args.action == "deploy":
        url = os.environ.get("PREFECT_API_URL") or start_server()
        ensure_pools(url)
        print(f"deployed: {', '.join(deploy(url, force=args.all)) or 'nothing'}")
    else:
        print("\n".join(status()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
