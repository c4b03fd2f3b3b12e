"""The local Prefect server: environment defaults, start on demand, health checks, stop by PID.

Standard library only, so the stage launcher can decide where flow runs are recorded before paying for any
heavy import.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TELEMETRY_OFF = {"DO_NOT_TRACK": "1", "DVC_NO_ANALYTICS": "1", "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}
DEFAULT_PORT = 4200


def state_dir() -> Path:
    """Where this checkout keeps Prefect's home (database, logs, PID files); ignored by git."""
    return Path(os.environ.get("PREFECT_HOME", ROOT / ".prefect"))


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


def start_server(port: int | None = None, wait: float = 60.0) -> str:
    """Start a Prefect server on 127.0.0.1 in its own session unless one already answers; return its API URL."""
    url = local_api_url(port)
    if healthy(url):
        return url
    home = state_dir()
    home.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    apply_env_defaults(env)
    env.pop("PREFECT_API_URL", None)
    port = int(url.rsplit(":", 1)[1].split("/")[0])
    with open(home / "server.log", "ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1", "--port", str(port)],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env, start_new_session=True,
        )
    _pid_file("server").write_text(json.dumps({"pid": process.pid, "url": url}))
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        if healthy(url, timeout=0.5):
            return url
        if process.poll() is not None:
            raise RuntimeError(f"Prefect server exited with code {process.returncode}; see {home / 'server.log'}")
        time.sleep(0.2)
    raise RuntimeError(f"Prefect server did not become healthy at {url} within {wait:.0f} s; see {home / 'server.log'}")


def stop(name: str = "server", timeout: float = 15.0) -> bool:
    """Stop a process this module started (its whole process group), by the PID it recorded."""
    pid_file = _pid_file(name)
    if not pid_file.exists():
        return False
    pid = json.loads(pid_file.read_text())["pid"]
    try:
        os.killpg(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            os.killpg(pid, 0)
            time.sleep(0.1)
        os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    pid_file.unlink(missing_ok=True)
    return True


def stop_all() -> list[str]:
    """Stop the server and every warm runner recorded in this checkout's state directory."""
    names = sorted(p.stem for p in state_dir().glob("*.pid"))
    return [name for name in names if stop(name)]


def resolve_api(env: dict[str, str] | os._Environ = os.environ) -> str | None:
    """Decide where this process records its flow runs; set PREFECT_API_URL accordingly and return it.

    - PREFECT_API_URL set and healthy: use it.
    - PREFECT_API_URL set but not answering: warn and run on Prefect's ephemeral API (the stage still runs).
    - unset, MLP_PREFECT_SERVER=auto (default): start or reuse this checkout's local server.
    - unset, MLP_PREFECT_SERVER=off: ephemeral API, nothing left running.
    """
    url = env.get("PREFECT_API_URL")
    if url:
        if healthy(url):
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


def main(argv: list[str] | None = None) -> int:
    """`python -m flows.stack {start,stop,status}`: manage this checkout's Prefect server."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m flows.stack", description=main.__doc__)
    parser.add_argument("action", choices=["start", "stop", "status"])
    args = parser.parse_args(argv)
    apply_env_defaults()
    if args.action == "start":
        print(f"Prefect server: {start_server()} (UI at {local_api_url().removesuffix('/api')})")
    elif args.action == "stop":
        stopped = stop_all()
        print(f"stopped: {', '.join(stopped)}" if stopped else "nothing was running")
    else:
        url = local_api_url()
        print(f"{url}: {'healthy' if healthy(url) else 'not answering'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
