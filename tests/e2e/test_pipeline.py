"""The real pipeline (real DVC, real Prefect server, warm runner) on a 5% sample, in a temporary copy of the repo."""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
import yaml

from tests.conftest import ROOT

pytestmark = pytest.mark.e2e
STAGES = {"check", "ingest", "validate", "featurize", "train", "evaluate", "report", "recommend"}


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


@pytest.fixture(scope="module")
def repo(tmp_path_factory):
    """A committed copy of the working tree (tracked and unignored files), with a 5% sample and its own server."""
    base = tmp_path_factory.mktemp("e2e")
    work = base / "repo"
    files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=ROOT, capture_output=True,
                           check=True).stdout.decode().split("\0")
    for name in filter(None, files):
        if (ROOT / name).is_file():
            (work / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, work / name)
    params = yaml.safe_load((work / "params.yaml").read_text())
    params["ingest"]["employment"]["sample_fraction"] = 0.05
    params["recommend"]["data"]["sample_users"] = 150
    params["recommend"]["ranker"]["n_estimators"] = 50
    for model in params["train"].values():
        if "n_estimators" in model["hyperparameters"]:
            model["hyperparameters"]["n_estimators"] = 40
    (work / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
           "PREFECT_HOME": str(base / "prefect-home"), "MLP_PREFECT_PORT": str(free_port()),
           "MLP_RUNNER_IDLE": "120", "DVC_NO_ANALYTICS": "1", "DO_NOT_TRACK": "1"}
    env.pop("PREFECT_API_URL", None)
    for cmd in (["git", "init", "-q"], ["git", "add", "-A"],
                ["git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "copy"]):
        run(cmd, work, env)
    yield work, env
    run([sys.executable, "-m", "flows.stack", "stop"], work, env, check=False)


def flow_runs(api: str) -> list[dict]:
    request = urllib.request.Request(f"{api}/flow_runs/filter", data=json.dumps({"limit": 200}).encode(),
                                     headers={"Content-Type": "application/json"}, method="POST")
    with urllib.request.urlopen(request, timeout=10) as response:
        runs = json.load(response)
    request = urllib.request.Request(f"{api}/flows/filter", data=b"{}", headers={"Content-Type": "application/json"},
                                     method="POST")
    with urllib.request.urlopen(request, timeout=10) as response:
        names = {f["id"]: f["name"] for f in json.load(response)}
    return [{"flow": names[r["flow_id"]], "state": r["state_type"]} for r in runs]


def test_full_pipeline_records_every_stage_in_prefect(repo):
    work, env = repo
    result = run(["dvc", "repro"], work, env)
    ran = stages_run(result.stdout)
    assert {s.split("@")[0] for s in ran} == STAGES
    assert len(ran) == 1 + 1 + 1 + 1 + 3 + 3 + 1 + 1
    index = (work / "reports/index.html").read_text()
    assert "evaluation-employment.html" in index and "employment-xgboost" in index
    metrics = json.loads((work / "reports/evaluate/employment-xgboost/metrics.json").read_text())
    assert set(metrics) == {"holdout", "batch_2016", "batch_2017", "batch_2018"}
    assert all(m["roc_auc"] > 0.85 for m in metrics.values())
    meta = json.loads((work / "models/employment-xgboost/meta.json").read_text())
    assert meta["family"] == "xgboost" and meta["lineage"]["data"] and meta["fit_seconds"] > 0

    api = f"http://127.0.0.1:{env['MLP_PREFECT_PORT']}/api"
    runs = flow_runs(api)
    assert {r["flow"] for r in runs} == STAGES
    assert len(runs) == len(ran) and all(r["state"] == "COMPLETED" for r in runs)
    assert (work / ".prefect").exists() is False, "Prefect state goes to PREFECT_HOME, not the work tree"

    again = run(["dvc", "repro"], work, env)
    assert stages_run(again.stdout) == [], "a second repro is a no-op"


def test_changing_one_hyperparameter_reruns_only_that_model(repo):
    work, env = repo
    params = yaml.safe_load((work / "params.yaml").read_text())
    params["train"]["employment-forest"]["hyperparameters"]["min_samples_leaf"] = 7
    (work / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    before = (work / "models/employment-xgboost/model.joblib").stat().st_mtime_ns
    result = run(["dvc", "repro"], work, env)
    assert stages_run(result.stdout) == ["check", "train@employment-forest", "evaluate@employment-forest", "report"]
    assert (work / "models/employment-xgboost/model.joblib").stat().st_mtime_ns == before


def test_push_and_pull_through_the_default_remote(repo):
    work, env = repo
    run(["dvc", "push", "-q"], work, env)
    assert any((work.parent / "mlplatform-dvc-remote").rglob("*")), "remote is a sibling directory of the checkout"
    for model in (work / "models").iterdir():  # what a fresh clone lacks (models/.gitignore is in git)
        if model.is_dir():
            shutil.rmtree(model)
    run(["dvc", "pull", "-q"], work, env)
    assert (work / "models/employment-xgboost/model.joblib").exists()
    assert stages_run(run(["dvc", "repro"], work, env).stdout) == []


@pytest.mark.parametrize(
    ("breakage", "message"),
    [
        ("truncate", "cannot be read"),
        ("bad_family", "unknown model family 'no_such_family'"),
        ("bad_type", "ingest.employment.holdout_fraction"),
        ("impossible_range", "expect_column_values_to_be_between"),
    ],
)
def test_bad_input_fails_clearly_and_keeps_last_good_outputs(repo, breakage, message):
    work, env = repo
    source = work / "data/raw/acs_employment_ma.parquet"
    params_file, contract = work / "params.yaml", work / "data/contracts/employment.json"
    saved_source, saved_params, saved_contract = source.read_bytes(), params_file.read_text(), contract.read_text()
    models_before = {p: p.read_bytes() for p in (work / "models").rglob("*") if p.is_file()}
    index_before = (work / "reports/index.html").read_bytes()
    try:
        if breakage == "truncate":
            source.chmod(0o644)
            source.write_bytes(saved_source[: len(saved_source) // 3])
        elif breakage == "impossible_range":  # a user edits the contract to require ages 200-300
            suite = json.loads(saved_contract)
            for expectation in suite["expectations"]:
                if expectation["kwargs"].get("column") == "AGEP" and "min_value" in expectation["kwargs"]:
                    expectation["kwargs"].update(min_value=200, max_value=300)
                    expectation["meta"]["severity"] = "error"
            contract.write_text(json.dumps(suite))
        else:
            params = yaml.safe_load(saved_params)
            if breakage == "bad_family":
                params["train"]["employment-xgboost"]["family"] = "no_such_family"
            else:
                params["ingest"]["employment"]["holdout_fraction"] = "twenty percent"
            params_file.write_text(yaml.safe_dump(params, sort_keys=False))
        result = run(["dvc", "repro"], work, env, check=False)
        assert result.returncode != 0
        assert message in result.stdout + result.stderr
        assert "Traceback" not in result.stderr, "a user error prints a message, not a traceback"
        assert {p: p.read_bytes() for p in (work / "models").rglob("*") if p.is_file()} == models_before
        assert (work / "reports/index.html").read_bytes() == index_before
        if breakage == "impossible_range":
            assert "Running stage 'validate@employment'" in result.stdout
            assert "AGEP" in result.stderr and "rows" in result.stderr
    finally:
        source.write_bytes(saved_source)
        params_file.write_text(saved_params)
        contract.write_text(saved_contract)
