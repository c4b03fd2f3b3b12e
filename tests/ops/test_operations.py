"""Operations on a real stack: `python -m tasks.ops.stack up` (Prefect server, `cpu` and `gpu` process workers,
deployments from prefect.yaml) in a temporary copy of the repo with a 5% sample; everything is checked through the
Prefect API and stopped by PID (process groups) at the end. The GPU family is the real XGBoost family with
device="cuda", which on a host without a GPU trains on CPU and must say so in its metadata.

The tests pass with or without a GPU: what the GPU worker fits is checked against `gpu_device()` (cuda where
`nvidia-smi` lists a GPU, else cpu); a model that falls back to the train stage is fitted with device="cpu" by
design (flows/train.py), so its metadata says cpu on any host."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest
import yaml

from tasks.adapters import registry
from tasks.core.artefacts import SPEC_FILE, FeatureSpec
from tasks.core.config import load_params
from tasks.core.lock import exclusive
from tasks.ml.metrics import score
from tasks.stages import drift_check
from tasks.stages.train import load_model, split_xy
from tests.conftest import copy_repo, small_params

pytestmark = pytest.mark.e2e
HOST = socket.gethostname()
TERMINAL = {"COMPLETED", "FAILED", "CRASHED", "CANCELLED"}
GPU_WAIT = 15  # gpu.wait_seconds in the copy (a loaded 2-core host takes several seconds to start a run)
XGB = "employment-xgboost"


def train_xgb(work: Path, out: Path) -> list[str]:
    """The train stage of the employment problem cut to its XGBoost model, into `out` (a problem's models
    directory) with its record beside it."""
    params = yaml.safe_load((work / "params.yaml").read_text())
    models = params["problems"]["employment"]["models"]
    params["problems"]["employment"]["models"] = {"xgboost": models["xgboost"]}
    out.parent.mkdir(parents=True, exist_ok=True)
    (out.parent / f"{out.name}-params.yaml").write_text(yaml.safe_dump(params))
    return ["-m", "flows", "train", "--problem", "employment", "--data", "data/interim/employment",
            "--features", "data/features/employment", "--out", str(out),
            "--record", str(out.parent / f"{out.name}.json"), "--params", str(out.parent / f"{out.name}-params.yaml")]


def placement(out: Path) -> dict:
    """Where the stage run that wrote `out` fitted the XGBoost model (its record)."""
    return json.loads((out.parent / f"{out.name}.json").read_text())["models"][XGB]["placement"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Stack:
    work: Path
    env: dict[str, str]
    api: str
    up_seconds: float

    def run(self, *args: str, check: bool = True, env: dict | None = None, timeout: float = 600):
        result = subprocess.run([sys.executable, *args], cwd=self.work, env=env or self.env, capture_output=True,
                                text=True, timeout=timeout)
        if check and result.returncode != 0:
            raise AssertionError(f"{args} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
        return result

    def call(self, path: str, body: dict | None = None, method: str = "POST", attempts: int = 3):
        """One API call. A timeout (a busy SQLite server on two shared cores) is retried up to `attempts` times;
        a 503 (the server's SQLite was locked and it rolled the request back) up to five times, as Prefect's own
        client does."""
        data = None if method == "GET" else json.dumps(body or {}).encode()
        request = urllib.request.Request(f"{self.api}/{path}", data=data, method=method,
                                         headers={"Content-Type": "application/json"})
        timeouts, locked = 0, 0
        while True:
            try:
                with urllib.request.urlopen(request, timeout=60) as response:
                    return json.load(response)
            except TimeoutError:
                timeouts += 1
                if timeouts >= attempts:
                    raise
            except urllib.error.HTTPError as exc:
                locked += 1
                if exc.code != 503 or locked >= 5:
                    raise
                time.sleep(locked)

    def deployment(self, flow: str, name: str) -> dict:
        return self.call(f"deployments/name/{flow}/{name}", method="GET")

    def start(self, flow: str, name: str, parameters: dict | None = None) -> str:
        deployment = self.deployment(flow, name)
        return self.call(f"deployments/{deployment['id']}/create_flow_run", {"parameters": parameters or {}},
                         attempts=1)["id"]

    def flow_run(self, run_id: str) -> dict:
        return self.call(f"flow_runs/{run_id}", method="GET")

    def wait(self, run_id: str, timeout: float = 600, until=lambda run: run["state_type"] in TERMINAL) -> dict:
        deadline = time.monotonic() + timeout
        while not until(run := self.flow_run(run_id)):
            assert time.monotonic() < deadline, f"flow run {run['name']} still {run['state_type']}"
            time.sleep(1)
        return run

    def runs_of(self, flow: str, since: datetime | None = None) -> list[dict]:
        body = {"flows": {"name": {"any_": [flow]}}, "sort": "EXPECTED_START_TIME_ASC", "limit": 200}
        if since:
            body["flow_runs"] = {"expected_start_time": {"after_": since.isoformat()}}
        return self.call("flow_runs/filter", body)

    def artifacts(self, key: str, flow_run_id: str) -> list[dict]:
        return self.call("artifacts/filter", {"artifacts": {"key": {"any_": [key]},
                                                            "flow_run_id": {"any_": [flow_run_id]}}})

    def task_runs(self, flow_run_id: str) -> list[dict]:
        return self.call("task_runs/filter", {"flow_runs": {"id": {"any_": [flow_run_id]}}})

    def pid(self, name: str) -> int:
        return json.loads((Path(self.env["PREFECT_HOME"]) / f"{name}.pid").read_text())["pid"]


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    base = tmp_path_factory.mktemp("ops")
    work = base / "repo"
    copy_repo(work)
    params = small_params(yaml.safe_load((work / "params.yaml").read_text()))
    params["gpu"]["wait_seconds"] = GPU_WAIT
    params["retrain"].update(retry_delay_seconds=2, push_retries=2)
    (work / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    port = free_port()
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
           "PREFECT_HOME": str(base / "prefect-home"), "MLP_PREFECT_PORT": str(port), "MLP_RUNNER_IDLE": "120",
           "PREFECT_WORKER_HEARTBEAT_SECONDS": "4", "PREFECT_WORKER_QUERY_SECONDS": "2",
           "DVC_NO_ANALYTICS": "1", "DO_NOT_TRACK": "1", "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}
    env.pop("PREFECT_API_URL", None)
    for cmd in (["git", "init", "-q"], ["git", "add", "-A"],
                ["git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "copy"]):
        subprocess.run(cmd, cwd=work, env=env, check=True, capture_output=True)
    ops = Stack(work, env, f"http://127.0.0.1:{port}/api", 0.0)
    started = time.monotonic()
    try:
        ops.run("-m", "tasks.ops.stack", "up")
        ops.up_seconds = time.monotonic() - started
        yield ops
    finally:
        ops.run("-m", "tasks.ops.stack", "down", check=False)


def test_up_starts_the_server_both_workers_and_the_deployments(stack):
    print(f"stack up: {stack.up_seconds:.1f} s")
    for pool in ("cpu", "gpu"):
        workers = stack.call(f"work_pools/{pool}/workers/filter")
        assert [w["status"] for w in workers if w["name"] == f"{pool}-{HOST}"] == ["ONLINE"]
        assert stack.call(f"work_pools/{pool}", method="GET")["type"] == "process"
    retrain = stack.deployment("retrain", "retrain")
    assert retrain["work_pool_name"] == "cpu"
    assert [(s["schedule"]["cron"], s["active"]) for s in retrain["schedules"]] == [("0 2 * * *", True)]
    assert stack.deployment("drift-check", "drift-check")["work_pool_name"] == "cpu"
    assert stack.deployment("train-gpu", "train-gpu")["work_pool_name"] == "gpu"
    [zombies] = [a for a in stack.call("automations/filter") if a["name"].startswith("crash flow runs")]
    assert zombies["enabled"] and zombies["actions"][0]["state"] == "CRASHED"
    pids = (stack.pid("server"), stack.pid("worker-cpu"), stack.pid("worker-gpu"))
    again = stack.run("-m", "tasks.ops.stack", "up").stdout
    assert "deployments: all present" in again, "a second `up` keeps deployments (and UI schedule edits) as they are"
    assert (stack.pid("server"), stack.pid("worker-cpu"), stack.pid("worker-gpu")) == pids


def test_the_scheduler_turns_the_nightly_cron_into_scheduled_runs(stack):
    """Prefect's scheduler service creates the retrain deployment's runs from its cron schedule. On prefect 3.8.8
    with sqlalchemy 2.1 it created none ("Can't evaluate bulk DML statement"); prefect 3.9.1 needs no pin."""
    deployment = stack.deployment("retrain", "retrain")
    body = {"deployments": {"id": {"any_": [deployment["id"]]}},
            "flow_runs": {"state": {"type": {"any_": ["SCHEDULED"]}}}, "limit": 50}
    deadline = time.monotonic() + 120
    while not (runs := [r for r in stack.call("flow_runs/filter", body) if r["auto_scheduled"]]):
        assert time.monotonic() < deadline, "the scheduler created no run of retrain/retrain within 120 s"
        time.sleep(2)
    starts = [datetime.fromisoformat(r["expected_start_time"]).astimezone(UTC) for r in runs]
    assert all((t.hour, t.minute) == (2, 0) and t > datetime.now(UTC) for t in starts), starts
    assert "bulk DML" not in (Path(stack.env["PREFECT_HOME"]) / "server.log").read_text(errors="replace")


def test_retrain_trains_gpu_families_on_the_gpu_worker_and_pushes_a_new_model_version(stack):
    since = datetime.now(UTC)
    run = stack.wait(stack.start("retrain", "retrain"), timeout=900)
    assert run["state_type"] == "COMPLETED", run["state"]["message"]

    [record] = stack.artifacts("retrain", run["id"])
    name = re.search(r"DVC experiment \*\*(retrain-[\d-]+)\*\*", record["data"]).group(1)
    assert name in subprocess.run(["git", "for-each-ref", "refs/exps"], cwd=stack.work, capture_output=True,
                                  text=True).stdout
    assert stack.artifacts("retrain-metrics", run["id"]), "metrics recorded on the flow run"
    lock = yaml.safe_load((stack.work / "dvc.lock").read_text())
    md5 = next(o["md5"] for o in lock["stages"]["train@employment"]["outs"] if o["path"] == "models/employment")
    assert md5 in record["data"]
    remote = stack.work.parent / "mlplatform-dvc-remote" / "files" / "md5"
    assert (remote / md5[:2] / md5[2:]).exists(), "the new models version is in the DVC remote"

    gpu_runs = stack.runs_of("train-gpu", since)
    assert [r["parameters"]["model"] for r in gpu_runs] == ["employment-xgboost"], \
        f"only the GPU-capable family, once: {[(r['name'], r['state_type'], r['created']) for r in gpu_runs]}"
    [gpu_run] = gpu_runs
    assert gpu_run["state_type"] == "COMPLETED" and gpu_run["work_pool_name"] == "gpu"
    assert gpu_run["labels"]["prefect.worker.name"] == f"gpu-{HOST}"
    slots = stack.call("v2/concurrency_limits/gpu", method="GET")
    assert (slots["limit"], slots["active_slots"]) == (1, 0), "one training per GPU; the slot was given back"

    model = load_model(stack.work / "models/employment" / XGB)
    record = json.loads((stack.work / "reports/train/employment.json").read_text())["models"]
    assert model.meta["device"] == gpu_device(), "the device actually used is recorded"
    assert record[XGB]["placement"] | {"host": None} == {
        "host": None, "pool": "gpu", "worker": f"gpu-{HOST}", "flow_run": gpu_run["name"],
        "device_requested": "cuda", "note": ""}
    spec = _spec(stack.work)
    x, y = split_xy(pd.read_parquet(stack.work / "data/interim/employment/valid.parquet"), spec)
    assert score(model.pipeline, x, y, spec) == model.meta["validation"], "the model came back whole"
    forest = load_model(stack.work / "models/employment/employment-forest").meta
    assert record["employment-forest"]["placement"]["pool"] is None and forest["device"] == "cpu", \
        "CPU families stay in the train stage"
    assert json.loads((stack.work / "reports/evaluate/employment" / XGB / "metrics.json").read_text())["holdout"]


def test_predict_deployment_scores_a_file_with_the_promoted_version(stack, tmp_path):
    """The `predict/predict` deployment on the cpu worker scores a label-free file with the promoted version (the
    retrain's, registered here when no model passes every gate on the sample): its flow run is named after the
    version and has the summary table."""
    promoted = registry.promoted(stack.work, "employment")
    if promoted is None:  # on the 5% sample no model passes every gate: register the retrain's models by hand
        [retrain_run] = [r for r in stack.runs_of("retrain") if r["state_type"] == "COMPLETED"][-1:]
        [why] = stack.artifacts("retrain-promotion", retrain_run["id"])
        assert "no model of the problem passes every gate" in str(why["data"]), why["data"]
        [record] = stack.artifacts("retrain", retrain_run["id"])
        rev = re.search(r"\(commit `([0-9a-f]{7,40})`\)", record["data"]).group(1)
        top = json.loads((stack.work / "models/employment-champion.json").read_text())["ranking"][0]["model"]
        for setting in (["user.name", "t"], ["user.email", "t@t"]):
            subprocess.run(["git", "config", *setting], cwd=stack.work, check=True)
        registry.promote(stack.work, "employment", rev, {"model": top, "threshold": 0.5,
                                                         "classes": _spec(stack.work).classes}, "ops test")
        promoted = registry.promoted(stack.work, "employment")
    batch = pd.read_parquet(stack.work / "data/validated/employment/batch_2016.parquet").drop(columns="employed")
    batch.head(300).to_parquet(stack.work / "new.parquet")
    out = tmp_path / "scored"
    run = stack.wait(stack.start("predict", "predict", {"problem": "employment", "input": "new.parquet",
                                                          "out": str(out)}), timeout=300)
    assert run["state_type"] == "COMPLETED", run["state"]["message"]
    assert run["name"] == f"predict employment {promoted.version} ({promoted.model})"
    scored = pd.read_parquet(out / "predictions.parquet")
    assert scored["id"].tolist() == batch["id"].head(300).tolist()
    assert set(scored["model_version"]) == {promoted.version}
    [table] = stack.artifacts("predict-employment", run["id"])
    assert promoted.version in str(table["data"]) and "cbpe_accuracy" in str(table["data"])


def gpu_device() -> str:
    """The device a GPU-capable family lands on when the GPU worker runs it: cuda where this host has a GPU."""
    found = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True) if shutil.which("nvidia-smi") else None
    return "cuda" if found is not None and found.returncode == 0 and "GPU" in found.stdout else "cpu"


def _spec(work: Path) -> FeatureSpec:
    return FeatureSpec.from_dict(json.loads((work / "data/features/employment" / SPEC_FILE).read_text()))


def _flow_run_processes(stack: Stack, worker: str) -> list[int]:
    """A worker's children: the processes executing its flow runs (each in a session of its own)."""
    found = subprocess.run(["pgrep", "-P", str(stack.pid(worker))], capture_output=True, text=True).stdout
    return [int(pid) for pid in found.split()]


def test_gpu_worker_killed_mid_run_is_marked_crashed_and_the_retry_succeeds(stack):
    """The GPU host dies while its worker runs the model's flow: the train stage notices the worker's heartbeats
    stop, marks the run Crashed, retries (no GPU worker left, so on CPU after the bound) and writes a whole model,
    never a partial one."""
    out = stack.work.parent / "models-kill" / "employment"
    command = train_xgb(stack.work, out)
    params_file = Path(command[-1])
    params = yaml.safe_load(params_file.read_text())
    params["problems"]["employment"]["models"]["xgboost"]["hyperparameters"]["n_estimators"] = 400
    params_file.write_text(yaml.safe_dump(params))
    since = datetime.now(UTC)
    stage = subprocess.Popen([sys.executable, *command], cwd=stack.work,
                             env={**stack.env, "MLP_WARM_RUNNER": "0"}, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 180
        while not (flow_runs := _flow_run_processes(stack, "worker-gpu")):  # watched locally: no API latency
            assert stage.poll() is None and time.monotonic() < deadline, "the GPU worker never started the run"
            time.sleep(0.1)
        for group in (stack.pid("worker-gpu"), *flow_runs):  # the host is gone: worker and flow run at once
            os.killpg(group, signal.SIGKILL)
        stdout, stderr = stage.communicate(timeout=300)
    finally:
        stage.kill()
    assert stage.returncode == 0, stderr
    [killed] = stack.runs_of("train-gpu", since)
    assert killed["state_type"] == "CRASHED" and "stopped heartbeating" in killed["state"]["message"]
    assert "GPU attempt 1 of 2 crashed" in stderr and "GPU routing fell back to CPU" in stderr
    model = load_model(out / XGB)
    assert model.meta["device"] == "cpu" and placement(out)["pool"] is None
    holdout = pd.read_parquet(stack.work / "data/interim/employment/holdout.parquet")
    assert model.pipeline.predict_proba(split_xy(holdout, _spec(stack.work))[0]).shape == (len(holdout), 2)
    assert sorted(p.name for p in out.iterdir()) == [XGB], "no half-written model"


def test_with_the_gpu_worker_stopped_the_family_trains_on_cpu_within_the_bound(stack):
    stack.run("-m", "tasks.ops.stack", "down", "worker-gpu")
    out = stack.work.parent / "models-fallback" / "employment"
    since = datetime.now(UTC)
    started = time.monotonic()
    result = stack.run(*train_xgb(stack.work, out), env={**stack.env, "MLP_WARM_RUNNER": "0"})
    elapsed = time.monotonic() - started
    waited = float(re.search(r"GPU routing fell back to CPU: .*\(waited ([\d.]+) s\)", result.stderr).group(1))
    print(f"fallback after {waited:.1f} s (bound {GPU_WAIT} s); stage {elapsed:.1f} s")
    assert GPU_WAIT <= waited < GPU_WAIT + 3
    meta, where = load_model(out / XGB).meta, placement(out)
    assert meta["device"] == "cpu" and where["pool"] is None and "waited" in where["note"]
    [train_run] = [r for r in stack.runs_of("train", since) if r["name"] == where["flow_run"]]
    [warning] = stack.artifacts("gpu-fallback", train_run["id"])
    assert "trains on **CPU**" in warning["data"]


def test_push_is_retried_after_a_transient_error_and_only_io_tasks_retry(stack):
    remote, away = stack.work.parent / "mlplatform-dvc-remote", stack.work.parent / "remote-away"
    remote.rename(away)
    remote.write_text("the storage is briefly unavailable")
    try:
        run_id = stack.start("retrain", "retrain", {"targets": ["check"]})
        deadline = time.monotonic() + 300
        while not any(t["name"].startswith("push") and t["state_name"] == "AwaitingRetry"
                      for t in stack.task_runs(run_id)):
            assert stack.flow_run(run_id)["state_type"] not in TERMINAL and time.monotonic() < deadline
            time.sleep(0.5)
    finally:
        remote.unlink()
        away.rename(remote)
    run = stack.wait(run_id)
    assert run["state_type"] == "COMPLETED", run["state"]["message"]
    tasks = {t["name"].rsplit("-", 1)[0]: t for t in stack.task_runs(run_id)}
    assert tasks["push"]["run_count"] == 2 and tasks["push"]["empirical_policy"]["retries"] == 2
    assert tasks["run_experiment"]["run_count"] == 1 and tasks["run_experiment"]["empirical_policy"]["retries"] == 0


def test_a_second_pipeline_run_in_the_same_working_copy_waits_then_fails_clearly(stack):
    with exclusive(stack.work / ".dvc/tmp/pipeline.lock", 0, holder="the test's own run"):
        run = stack.wait(stack.start("retrain", "retrain", {"lock_wait_seconds": 3}))
    assert run["state_type"] == "FAILED"
    assert re.search(r"another pipeline run holds .*pipeline\.lock in this working copy \(the test's own run, "
                     r"pid \d+\); waited 3 s", run["state"]["message"])


def test_drift_check_scores_the_newest_batch_and_triggers_retrain_when_the_gate_fails(stack):
    newest = pd.read_parquet(stack.work / "data/interim/employment/batch_2018.parquet")
    drifted = stack.work.parent / "batch_2019.parquet"
    newest[newest["AGEP"] >= 60].to_parquet(drifted)  # a batch of older people only
    since = datetime.now(UTC)
    run = stack.wait(stack.start("drift-check", "drift-check", {"batch_file": str(drifted)}))
    assert run["state_type"] == "COMPLETED", run["state"]["message"]
    [summary] = stack.artifacts("drift-check", run["id"])
    champion = _expected_champion(stack.work, "employment")  # which model wins on the sample depends on versions
    assert f"| employment | {champion} | batch_2019.parquet |" in summary["data"], summary["data"]
    assert "| fail |" in summary["data"] and "Started `retrain/retrain` run" in summary["data"]
    report = json.loads((stack.work / "reports/drift-check/employment.json").read_text())
    assert report["columns"]["AGEP"]["drifted"] and report["status"] == "fail"
    name = re.search(r"Started `retrain/retrain` run \*\*([\w-]+)\*\*", summary["data"]).group(1)
    [retrain] = [r for r in stack.runs_of("retrain", since) if r["name"] == name]
    assert retrain["parent_task_run_id"], "started from the drift-check run (a subflow link in the UI)"
    stack.wait(retrain["id"], timeout=120, until=lambda r: r["state_type"] != "SCHEDULED")  # a worker took it


def _expected_champion(work: Path, problem: str) -> str:
    """The model drift-check should score with: the champion file's, else the best on the leaderboard."""
    params = load_params(work / "params.yaml")
    models = {name: m.problem for name, m in params.train.items() if m.problem == problem}
    files = [work / f"models/{problem}-champion.json", work / "reports/leaderboard.json"]
    found = [json.loads(f.read_text()) if f.exists() else None for f in files]
    return drift_check.champion(problem, models, *found,
                                params.champion.metric[params.ingest[problem].problem_type])[0]


def test_a_stage_still_runs_when_the_prefect_server_is_down(stack):
    """The documented behaviour: a warning, Prefect's ephemeral API, and a GPU-capable family on CPU at once."""
    out = stack.work.parent / "models-offline" / "employment"
    env = {**stack.env, "PREFECT_API_URL": f"http://127.0.0.1:{free_port()}/api", "MLP_WARM_RUNNER": "0"}
    result = stack.run(*train_xgb(stack.work, out), env=env)
    assert "is not answering; this stage runs on a temporary local API" in result.stderr
    assert "GPU routing fell back to CPU: no Prefect server" in result.stderr
    assert load_model(out / XGB).meta["device"] == "cpu"
