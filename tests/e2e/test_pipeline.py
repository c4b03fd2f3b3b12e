"""The real pipeline (real DVC, real Prefect server, warm runner) on a 5% sample, in a temporary copy of the repo."""

from __future__ import annotations

import json
import shutil
import urllib.request

import pytest
import yaml

from tests.conftest import SMALL_MODELS
from tests.e2e.conftest import run, stages_run

pytestmark = pytest.mark.e2e
STAGES = {"check", "ingest", "validate", "featurize", "train", "evaluate", "fairness", "drift", "champion", "report",
          "recommend"}
MODELS = SMALL_MODELS


def api_post(api: str, path: str, body: dict) -> list[dict]:
    request = urllib.request.Request(f"{api}/{path}", data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"}, method="POST")
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)


def flow_runs(api: str) -> list[dict]:
    names = {f["id"]: f["name"] for f in api_post(api, "flows/filter", {})}
    return [{"flow": names[r["flow_id"]], "state": r["state_type"], "name": r["state_name"], "id": r["id"]}
            for r in api_post(api, "flow_runs/filter", {"limit": 200, "sort": "START_TIME_ASC"})]


def test_full_pipeline_records_every_stage_in_prefect(repo, first_repro):
    work, env = repo
    ran = stages_run(first_repro.stdout)
    assert {s.split("@")[0] for s in ran} == STAGES
    assert len(ran) == 1 + 1 + 1 + 1 + 3 + 3 + 1 + 1 + 1 + 1 + 1  # fairness, drift, champion: per problem
    index = (work / "reports/index.html").read_text()
    assert "pages/problem-employment.html" in index and "employment-xgboost" in index
    metrics = json.loads((work / "reports/evaluate/employment-xgboost/metrics.json").read_text())
    assert set(metrics) == {"threshold", "holdout", "batch_2016", "batch_2017", "batch_2018"}
    assert all(m["roc_auc"] > 0.85 for b, m in metrics.items() if b != "threshold")
    meta = json.loads((work / "models/employment-xgboost/meta.json").read_text())
    assert meta["family"] == "xgboost" and meta["lineage"]["data"] and meta["fit_seconds"] > 0

    api = f"http://127.0.0.1:{env['MLP_PREFECT_PORT']}/api"
    runs = flow_runs(api)
    assert {r["flow"] for r in runs} == STAGES
    assert len(runs) == len(ran) and all(r["state"] == "COMPLETED" for r in runs), "gates warn by default"
    assert (work / ".prefect").exists() is False, "Prefect state goes to PREFECT_HOME, not the work tree"
    artifacts = {a["key"]: a for a in api_post(api, "artifacts/filter", {"limit": 200})}
    links = ["drift-employment-batch-2016-html", "report-hub-index-html", "evaluate-employment-xgboost-metrics-json",
             "fairness-employment-employment-json", "champion-employment-employment-champion-json"]
    assert all("](file:///" in artifacts[k]["data"] for k in links), "links to the files each flow run wrote"
    gates = ["drift-employment-gates", "champion-employment-gates", "fairness-employment-gates"]
    assert all(artifacts[k]["type"] == "table" for k in gates) and artifacts["gate-status"]["type"] == "markdown"

    again = run(["dvc", "repro"], work, env)
    assert stages_run(again.stdout) == [], "a second repro is a no-op"


def test_audit_outputs_on_the_sample(repo, first_repro):
    work, _ = repo
    champion = json.loads((work / "models/employment-champion.json").read_text())
    assert [r["model"] for r in champion["ranking"]] and champion["metric"] == "roc_auc"
    assert {r["model"] for r in champion["ranking"]} == set(MODELS)
    assert all(set(r["gates"]) == {"quality", "drift", "fairness"} for r in champion["ranking"])
    assert all(r["versus_best"] for r in champion["ranking"][1:]), "each runner-up is compared with the best"
    drift = json.loads((work / "reports/drift/employment.json").read_text())
    assert set(drift["batches"]) == {"batch_2016", "batch_2017", "batch_2018"} and set(drift["models"]) == set(MODELS)
    assert all((work / f"reports/drift/employment/{b}.html").stat().st_size > 100_000 for b in drift["batches"])
    fairness = json.loads((work / "reports/fairness/employment/employment-xgboost/metrics.json").read_text())
    assert set(fairness["batches"]["holdout"]) == {"SEX", "RAC1P", "AGEP"}
    board = json.loads((work / "reports/leaderboard.json").read_text())
    assert set(board["employment"]) == {"champion", *MODELS}


def test_metrics_and_plots_diff_work_offline(repo, first_repro):
    work, env = repo
    shown = run(["dvc", "metrics", "show", "--json"], work, env).stdout
    assert "reports/evaluate/employment-xgboost/metrics.json" in shown and "reports/drift/employment.json" in shown
    out = work.parent / "plots"
    run(["dvc", "plots", "show", "--out", str(out)], work, env)
    page = (out / "index.html").read_text()
    assert "vegaEmbed(" in page and "curves.csv" in page and "threshold sweep (validation)" in page
    assert "cdn.jsdelivr.net" not in page and "<script src=" not in page, "the offline template is configured"


def test_changing_one_hyperparameter_reruns_only_that_model(repo, first_repro):
    work, env = repo
    for cmd in (["git", "add", "-A"], ["git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "repro"]):
        run(cmd, work, env)  # dvc.lock of the first run committed: `dvc metrics diff` compares with it
    params = yaml.safe_load((work / "params.yaml").read_text())
    params["train"]["employment-forest"]["hyperparameters"]["min_samples_leaf"] = 7
    (work / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    before = (work / "models/employment-xgboost/model.joblib").stat().st_mtime_ns
    audits = {m: work / f"reports/fairness/employment/employment-{m}/metrics.json" for m in ("forest", "xgboost")}
    keys = {m: json.loads(path.read_text())["key"] for m, path in audits.items()}
    result = run(["dvc", "repro"], work, env)
    ran = stages_run(result.stdout)
    assert ran[:3] == ["check", "train@employment-forest", "evaluate@employment-forest"] and ran[-1] == "report"
    assert set(ran[3:-1]) == {"fairness@employment", "drift@employment", "champion@employment"}
    after = {m: json.loads(path.read_text())["key"] for m, path in audits.items()}
    assert after["xgboost"] == keys["xgboost"] and after["forest"] != keys["forest"], "only the forest is re-audited"
    assert (work / "models/employment-xgboost/model.joblib").stat().st_mtime_ns == before
    diff = run(["dvc", "metrics", "diff", "--json"], work, env).stdout
    assert "reports/evaluate/employment-forest/metrics.json" in diff and "employment-xgboost/metrics" not in diff


@pytest.mark.parametrize(("policy", "state", "exit_code"), [
    ({"on_fail": "warn"}, ("COMPLETED", "Warning"), 0),
    ({"on_fail": "fail"}, ("FAILED", "Failed"), 0),
    ({"on_fail": "fail", "fail_pipeline": True}, ("FAILED", "Failed"), 255),  # DVC's status for a failed stage
])
def test_failing_gate_follows_its_policy(repo, first_repro, policy, state, exit_code):
    work, env = repo
    params_file = work / "params.yaml"
    saved = params_file.read_text()
    params = yaml.safe_load(saved)
    params["fairness"]["gate"].update({"max_equalized_odds_difference": 0.0, **policy})
    params_file.write_text(yaml.safe_dump(params, sort_keys=False))
    try:
        result = run(["dvc", "repro"], work, env, check=False)
        assert result.returncode == exit_code, result.stdout + result.stderr
        api = f"http://127.0.0.1:{env['MLP_PREFECT_PORT']}/api"
        fairness = [r for r in flow_runs(api) if r["flow"] == "fairness"][-1]
        assert (fairness["state"], fairness["name"]) == state
        if exit_code:
            assert "gate failed" in result.stderr and "Traceback" not in result.stderr
            assert "report" not in stages_run(result.stdout)
        else:
            champion = json.loads((work / "models/employment-champion.json").read_text())
            assert champion["champion"] is None and all(r["status"] == "rejected" for r in champion["ranking"])
            assert "no model passes every gate" in (work / "reports/pages/problem-employment.html").read_text()
    finally:
        params_file.write_text(saved)
        run(["dvc", "repro"], work, env)


def test_push_and_pull_through_the_default_remote(repo, first_repro):
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
def test_bad_input_fails_clearly_and_keeps_last_good_outputs(repo, first_repro, breakage, message):
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
