"""bin/python, the interpreter every dvc.yaml stage command runs: the project's venv whatever the shell's PATH."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import yaml

from tests.conftest import ROOT

PLAIN_PATH = "/usr/bin:/bin"  # a shell with no virtual environment on PATH (its python, if any, lacks pandas)


def plain_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "MLP_PYTHON", "PYTHONPATH")}
    return {**env, "PATH": PLAIN_PATH, **extra}


def test_every_stage_command_runs_the_launcher():
    stages = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]
    commands = [(stage.get("do") or stage)["cmd"] for stage in stages.values()]
    assert commands and all(cmd.startswith("bin/python -m flows ") for cmd in commands), commands


def test_launcher_runs_the_project_venv_from_a_plain_path():
    result = subprocess.run(["bin/python", "-c", "import sys, pandas, prefect; print(sys.prefix)"], cwd=ROOT,
                            env=plain_env(), capture_output=True, text=True, check=True)
    assert Path(result.stdout.strip()).resolve() == (ROOT / ".venv").resolve()


def test_a_stage_command_parses_from_a_plain_path():
    result = subprocess.run(["bin/python", "-m", "flows", "featurize", "--help"], cwd=ROOT, env=plain_env(),
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "--problem" in result.stdout


def test_launcher_without_a_venv_says_make_setup(tmp_path):
    (tmp_path / "bin").mkdir()
    shutil.copy2(ROOT / "bin/python", tmp_path / "bin/python")
    result = subprocess.run(["bin/python", "-c", "pass"], cwd=tmp_path, env=plain_env(), capture_output=True,
                            text=True)
    assert result.returncode == 127
    assert result.stderr.count("\n") == 1 and "make setup" in result.stderr and str(tmp_path) in result.stderr


def test_launcher_falls_back_to_a_venv_first_on_path(tmp_path):
    """Copies of the repository (tests, benchmarks) have no .venv: the venv first on PATH is used."""
    (tmp_path / "bin").mkdir()
    shutil.copy2(ROOT / "bin/python", tmp_path / "bin/python")
    venv_bin = (ROOT / ".venv/bin").resolve()
    result = subprocess.run(["bin/python", "-c", "import pandas, sys; print(sys.prefix)"], cwd=tmp_path,
                            env=plain_env(PATH=f"{venv_bin}:{PLAIN_PATH}"), capture_output=True, text=True,
                            check=True)
    assert Path(result.stdout.strip()).resolve() == venv_bin.parent


def test_mlp_python_overrides(tmp_path):
    result = subprocess.run(["bin/python", "-c", "print('ok')"], cwd=ROOT, capture_output=True, text=True,
                            env=plain_env(MLP_PYTHON=str((ROOT / ".venv/bin/python").resolve())), check=True)
    assert result.stdout.strip() == "ok"
