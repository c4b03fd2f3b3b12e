"""One copy of the repository for every end-to-end test: a 5% sample, its own Prefect server, one first `dvc repro`."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.conftest import copy_repo, small_params


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run(cmd: list[str], cwd: Path, env: dict, check: bool = True) -> subprocess.CompletedProcess:
    result = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=900)
    if check and result.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    return result


def stages_run(output: str) -> list[str]:
    return re.findall(r"Running stage '([^']+)'", output)


@pytest.fixture(scope="session")
def repo(tmp_path_factory):
    """A committed copy of the working tree (tracked and unignored files), with a 5% sample and its own server."""
    base = tmp_path_factory.mktemp("e2e")
    work = base / "repo"
    copy_repo(work)
    params = small_params(yaml.safe_load((work / "params.yaml").read_text()))
    (work / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
           "PREFECT_HOME": str(base / "prefect-home"), "MLP_PREFECT_PORT": str(free_port()),
           "MLP_RUNNER_IDLE": "120", "DVC_NO_ANALYTICS": "1", "DO_NOT_TRACK": "1"}
    env.pop("PREFECT_API_URL", None)
    for cmd in (["git", "init", "-q"], ["git", "add", "-A"],
                ["git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "copy"]):
        run(cmd, work, env)
    yield work, env
    run([sys.executable, "-m", "tasks.ops.stack", "stop"], work, env, check=False)


@pytest.fixture(scope="session")
def first_repro(repo) -> subprocess.CompletedProcess:
    """The first `dvc repro` of the copy: every stage runs and the hub exists afterwards."""
    work, env = repo
    return run(["dvc", "repro"], work, env)
