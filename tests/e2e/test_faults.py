"""Faults during a real stage (`python -m flows ingest`, reporting to a real Prefect server on 127.0.0.1): the
server killed mid-stage, an exception, SIGTERM and SIGKILL in the middle of writing the outputs, a damaged input.

Each fault is injected exactly once, at a fixed point of the stage's code, by `inject.py` (written below): it wraps
one function of a flow module, fires the fault at its first call, then runs the real function. Prefect's client is
told not to retry (PREFECT_CLIENT_MAX_RETRIES=0) in the server-kill test only, so the lost server surfaces at
once instead of after about a minute of retries (the outcome is the same); the other runs keep the retries, which
ride out a busy server's 503s (SQLite locked on a loaded machine).
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml

from tests.conftest import ROOT, small_params
from tests.e2e.conftest import free_port

pytestmark = pytest.mark.e2e

INJECT = textwrap.dedent('''
    """python inject.py MODULE FUNCTION FAULT STAGE-ARGS...: `python -m flows STAGE-ARGS` with FAULT fired once, at
    the first call of MODULE.FUNCTION: kill-server:PGID:PORT, raise, or signal:NAME (sent to this process)."""
    import importlib, os, signal, socket, sys, time

    module_name, function, fault, *argv = sys.argv[1:]
    module = importlib.import_module(module_name)
    real = getattr(module, function)
    fired = []

    def refused(port):
        with socket.socket() as probe:
            return probe.connect_ex(("127.0.0.1", port)) != 0

    def faulty(*args, **kwargs):
        if not fired:
            fired.append(fault)
            kind, _, rest = fault.partition(":")
            if kind == "kill-server":
                group, port = map(int, rest.split(":"))
                os.killpg(group, signal.SIGKILL)
                while not refused(port):  # until the kernel has closed the listening socket
                    time.sleep(0.05)
            elif kind == "raise":
                raise OSError("injected fault: no space left on device")
            elif kind == "signal":
                os.kill(os.getpid(), getattr(signal, rest))
        return real(*args, **kwargs)

    setattr(module, function, faulty)
    sys.argv = ["python -m flows", *argv]
    from flows.__main__ import main
    sys.exit(main())
''')


def start_server(home: Path) -> tuple[subprocess.Popen, int, str]:
    """A Prefect server of its own on a free port (its own session, so the group can be killed), once healthy."""
    from tasks.ops.stack import healthy

    port = free_port()
    url = f"http://127.0.0.1:{port}/api"
    env = {**os.environ, "PREFECT_HOME": str(home)}
    env.pop("PREFECT_API_URL", None)
    log = open(home.parent / f"server-{port}.log", "wb")  # noqa: SIM115 - closed with the fixture
    process = subprocess.Popen([sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1", "--port",
                                str(port)], env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    while not healthy(url, timeout=2.0):
        assert process.poll() is None, (home.parent / f"server-{port}.log").read_text()[-3000:]
        time.sleep(0.2)  # polling for readiness, asserted above: no result depends on how long this takes
    return process, port, url


def stop_server(process: subprocess.Popen) -> None:
    try:
        os.killpg(process.pid, 9)
    except ProcessLookupError:
        pass
    process.wait()


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    """Two parameter files for the default problem (5% sample) that give different splits (seeds 42 and 7)."""
    base = tmp_path_factory.mktemp("faults")
    params = small_params(yaml.safe_load((ROOT / "params.yaml").read_text()))
    (base / "seed42.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    (base / "seed7.yaml").write_text(yaml.safe_dump({**params, "seed": 7}, sort_keys=False))
    (base / "inject.py").write_text(INJECT)
    (base / "home").mkdir()
    return base


@pytest.fixture(scope="module")
def server(work):
    process, port, url = start_server(work / "home")
    yield url
    stop_server(process)


def stage_env(work: Path, url: str, retries: bool = True) -> dict[str, str]:
    env = {**os.environ, "PREFECT_HOME": str(work / "home"), "PREFECT_API_URL": url, "MLP_WARM_RUNNER": "0",
           "PYTHONPATH": str(ROOT), **({} if retries else {"PREFECT_CLIENT_MAX_RETRIES": "0"})}
    env.pop("MLP_STAGE_STATS", None)
    return env


def ingest(work: Path, url: str, out: Path, params: str, fault: tuple[str, str, str] | None = None,
           retries: bool = True):
    """The ingest stage's real command (through `inject.py` when a fault is given)."""
    argv = ["ingest", "--problem", "employment", "--out", str(out), "--params", str(work / params)]
    command = [sys.executable, str(work / "inject.py"), *fault, *argv] if fault else [sys.executable, "-m", "flows",
                                                                                      *argv]
    return subprocess.run(command, cwd=ROOT, env=stage_env(work, url, retries), capture_output=True, text=True,
                          timeout=600)


def snapshot(directory: Path) -> dict[str, str]:
    """Every file under `directory` (temporaries next to it included) -> its SHA-256."""
    files = [p for p in directory.parent.rglob("*") if p.is_file()]
    return {str(p.relative_to(directory.parent)): hashlib.sha256(p.read_bytes()).hexdigest() for p in files}


def leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.parent.iterdir() if p.name.startswith("."))


def test_a_fault_in_the_middle_of_writing_keeps_the_last_good_outputs(work, server, tmp_path):
    """Run 1 writes; runs 2-4 (other seed, other splits) fail while writing the splits (after the Parquet files,
    before meta.json): an exception, SIGTERM, SIGKILL. Each leaves run 1's files byte for byte; the last run cleans
    what SIGKILL left and writes the new splits."""
    out = tmp_path / "interim" / "employment"
    first = ingest(work, server, out, "seed42.yaml")
    assert first.returncode == 0, first.stderr
    good = snapshot(out)
    assert set(good) == {f"employment/{n}" for n in ("train.parquet", "valid.parquet", "holdout.parquet",
                                                     "batch_2016.parquet", "batch_2017.parquet",
                                                     "batch_2018.parquet", "meta.json")}

    failed = ingest(work, server, out, "seed7.yaml", ("flows.ingest", "write_json", "raise"))
    assert failed.returncode != 0 and "injected fault" in failed.stderr
    assert snapshot(out) == good and leftovers(out) == []

    terminated = ingest(work, server, out, "seed7.yaml", ("flows.ingest", "write_json", "signal:SIGTERM"))
    assert terminated.returncode == 143, terminated.stderr[-3000:]
    assert snapshot(out) == good and leftovers(out) == []

    killed = ingest(work, server, out, "seed7.yaml", ("flows.ingest", "write_json", "signal:SIGKILL"))
    assert killed.returncode == -9
    assert {k: v for k, v in snapshot(out).items() if k.startswith("employment/")} == good
    stale = leftovers(out)
    assert len(stale) == 1 and stale[0].startswith(".employment.") and stale[0].endswith(".tmp"), stale

    again = ingest(work, server, out, "seed7.yaml")
    assert again.returncode == 0, again.stderr
    assert f"ingest: removed what an interrupted run left: {out.parent / stale[0]}" in again.stderr
    assert leftovers(out) == []
    new = snapshot(out)
    assert set(new) == set(good) and new != good  # the faulty runs would have changed the files
    meta = json.loads((out / "meta.json").read_text())
    assert {name: len(pd.read_parquet(out / f"{name}.parquet")) for name in meta["rows"]} == meta["rows"]


def test_killing_the_prefect_server_mid_stage_finishes_the_stage_on_a_temporary_api(work, tmp_path):
    """The server is killed after the flow run started and its tasks ran, just before the splits are written: the
    stage warns in one line, runs again on a temporary local API and writes the same splits as an undisturbed run."""
    (tmp_path / "home").mkdir()
    process, port, url = start_server(tmp_path / "home")
    try:
        reference = tmp_path / "reference" / "employment"
        assert ingest(work, url, reference, "seed7.yaml").returncode == 0
        out = tmp_path / "interim" / "employment"
        assert ingest(work, url, out, "seed42.yaml").returncode == 0
        kill = ("flows.ingest", "atomic_dir", f"kill-server:{process.pid}:{port}")
        result = ingest(work, url, out, "seed7.yaml", kill, retries=False)
    finally:
        stop_server(process)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
    warnings = [line for line in result.stderr.splitlines() if line.startswith("warning: ingest:")]
    assert len(warnings) == 1 and f"the Prefect server at {url} stopped answering mid-stage" in warnings[0]
    assert "python -m tasks.ops.stack start" in warnings[0]
    assert {k.split("/", 1)[1]: v for k, v in snapshot(out).items()} == {
        k.split("/", 1)[1]: v for k, v in snapshot(reference).items()}
    assert leftovers(out) == []


def test_a_damaged_input_stops_the_next_stage_with_one_line_naming_the_file(work, server, tmp_path):
    interim = tmp_path / "interim" / "employment"
    assert ingest(work, server, interim, "seed42.yaml").returncode == 0
    meta = interim / "meta.json"
    meta.write_bytes(meta.read_bytes()[:40])  # truncated, as a damaged cache copy would be
    out = tmp_path / "validated" / "employment"
    command = [sys.executable, "-m", "flows", "validate", "--problem", "employment", "--data", str(interim),
               "--contract", "data/contracts/employment.json", "--out", str(out), "--quarantine",
               str(tmp_path / "quarantine"), "--report", str(tmp_path / "report"), "--params",
               str(work / "seed42.yaml")]
    result = subprocess.run(command, cwd=ROOT, env=stage_env(work, server), capture_output=True, text=True,
                            timeout=600)
    assert result.returncode == 2, result.stderr[-3000:]
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: validate:")]
    assert len(errors) == 1 and f"{meta} is unreadable (JSONDecodeError" in errors[0], result.stderr[-2000:]
    assert "dvc checkout --force" in errors[0] and "or re-run the stage that writes it" in errors[0]
    assert not out.exists()
