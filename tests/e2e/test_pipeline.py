"""The real pipeline (real DVC, real Prefect server, warm runner) on a 5% sample, in a temporary copy of the repo."""

from __future__ import annotations

import json
import shutil
import urllib.request

import pytest
import yaml

from tests.conftest import ROOT, SMALL_MODELS
from tests.e2e.conftest import run, stages_run

pytestmark = pytest.mark.e2e
STAGES = {"check", "ingest", "validate", "featurize", "train", "evaluate", "fairness", "drift", "champion", "report",
          "recommend"}
MODELS = [f"employment-{name}" for name in SMALL_MODELS]


def api_post(api: str, path: str, body: dict) -> list[dict]:
    request = urllib.request.Request(f"{api}/{path}", data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"}, method="POST")
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)


def flow_runs(api: str) -> list[dict]:
    names = {f["id"]: f["name"] for f in api_post(api, "flows/filter", {})}
    return [{"flow": names[r["flow_id"]], "state": r["state_type"], "name": r["state_name"], "id": r["id"],
             "run": r["name"], "tags": r["tags"]}
            for r in api_post(api, "flow_runs/filter", {"limit": 200, "sort": "START_TIME_ASC"})]


def model_files(work, problem: str = "employment") -> dict[str, bytes]:
    return {str(p.relative_to(work)): p.read_bytes() for p in (work / "models" / problem).rglob("*") if p.is_file()}


def expected_champion(work, problem: str, metric: str, floor: dict[str, float]) -> str | None:
    """The champion derived from the stage outputs alone (not the champion code): the best holdout `metric` among
    models that pass the quality floor and whose drift and fairness files report no failed gate."""
    def failed(summary: dict, model: str) -> bool:
        entry = summary.get("models", {}).get(model, summary) if summary.get("applicable") else {}
        return entry.get("status") == "fail"

    drift = json.loads((work / f"reports/drift/{problem}.json").read_text())
    passing = {}
    for path in sorted((work / "reports/evaluate" / problem).glob("*/metrics.json")):
        model, holdout = path.parent.name, json.loads(path.read_text())["holdout"]
        fairness = json.loads((work / f"reports/fairness/{problem}/{model}/metrics.json").read_text())
        quality = all(holdout[key.partition("_")[2]] >= limit if key.startswith("min_")
                      else holdout[key.partition("_")[2]] <= limit for key, limit in floor.items())
        if quality and not failed(drift, model) and not failed(fairness, model):
            passing[model] = holdout[metric]
    if not passing:
        return None
    return (min if metric in {"rmse", "mae", "log_loss", "brier"} else max)(passing, key=passing.get)


def edit_params(work, change) -> None:
    params = yaml.safe_load((work / "params.yaml").read_text())
    change(params)
    (work / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))


def commit(work, env) -> None:
    for cmd in (["git", "add", "-A"], ["git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "repro"]):
        run(cmd, work, env, check=False)


def test_full_pipeline_records_every_stage_in_prefect(repo, first_repro):
    work, env = repo
    ran = stages_run(first_repro.stdout)
    assert {s.split("@")[0] for s in ran} == STAGES
    assert len(ran) == len(STAGES), "one stage of each kind for the one problem: its models run inside"
    index = (work / "reports/index.html").read_text()
    assert "pages/problem-employment.html" in index and "employment-xgboost" in index
    metrics = json.loads((work / "reports/evaluate/employment/employment-xgboost/metrics.json").read_text())
    assert set(metrics) == {"threshold", "holdout", "batch_2016", "batch_2017", "batch_2018"}
    assert all(m["roc_auc"] > 0.85 for b, m in metrics.items() if b != "threshold")
    meta = json.loads((work / "models/employment/employment-xgboost/meta.json").read_text())
    assert meta["family"] == "xgboost" and meta["lineage"]["data"] and "fit_seconds" not in meta
    record = json.loads((work / "reports/train/employment.json").read_text())["models"]
    assert set(record) == set(MODELS) and all(r["status"] == "fitted" and r["fit_seconds"] > 0 for r in record.values())

    api = f"http://127.0.0.1:{env['MLP_PREFECT_PORT']}/api"
    runs = flow_runs(api)
    assert {r["flow"] for r in runs} == STAGES
    assert len(runs) == len(ran) and all(r["state"] == "COMPLETED" for r in runs), "gates warn by default"
    assert {r["run"] for r in runs} >= {"train employment", "evaluate employment", "champion employment", "report"}
    [tag] = {t for r in runs for t in r["tags"]}
    assert tag.startswith("repro-"), "every flow run of one dvc repro carries the same tag"
    train_run = next(r for r in runs if r["run"] == "train employment")
    tasks = api_post(api, "task_runs/filter", {"flow_runs": {"id": {"any_": [train_run["id"]]}}})
    assert {t["name"] for t in tasks} >= set(MODELS), "a task run per model, named after it, under the stage's run"
    assert (work / ".prefect").exists() is False, "Prefect state goes to PREFECT_HOME, not the work tree"
    artifacts = {a["key"]: a for a in api_post(api, "artifacts/filter", {"limit": 200})}
    links = ["drift-employment-batch-2016-html", "report-hub-index-html", "evaluate-employment-xgboost-metrics-json",
             "fairness-employment-employment-json", "champion-employment-employment-champion-json",
             "champion-employment-employment-json"]
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
    assert all(set(r["gates"]) == {"quality", "drift", "fairness", "latency"} for r in champion["ranking"])
    assert all(r["versus_best"] for r in champion["ranking"][1:]), "each runner-up is compared with the best"
    assert champion["champion"] == expected_champion(work, "employment", "roc_auc", {"min_roc_auc": 0.75})
    drift = json.loads((work / "reports/drift/employment.json").read_text())
    assert set(drift["batches"]) == {"batch_2016", "batch_2017", "batch_2018"} and set(drift["models"]) == set(MODELS)
    assert all((work / f"reports/drift/employment/{b}.html").stat().st_size > 100_000 for b in drift["batches"])
    fairness = json.loads((work / "reports/fairness/employment/employment-xgboost/metrics.json").read_text())
    assert set(fairness["batches"]["holdout"]) == {"SEX", "RAC1P", "AGEP"}
    board = json.loads((work / "reports/leaderboard.json").read_text())
    assert set(board["employment"]) == {"champion", *MODELS}
    summary = json.loads((work / "reports/metrics/employment.json").read_text())["employment"]
    assert set(summary["models"]) == set(SMALL_MODELS) and summary["metric"] == "roc_auc"
    assert all(set(m) == {"holdout", "batch_2016", "batch_2017", "batch_2018", "outcome"}
               for m in summary["models"].values())


def test_metrics_and_plots_diff_work_offline(repo, first_repro):
    work, env = repo
    shown = run(["dvc", "metrics", "show", "--json"], work, env).stdout
    assert "reports/metrics/employment.json" in shown and "reports/evaluate/" not in shown, "one compact file"
    table = run(["dvc", "exp", "show", "--no-pager", "--csv", "--drop", ".*", "--keep",
                 r"Experiment|employment\.(champion|models\..*\.holdout)$"], work, env).stdout
    assert table.splitlines()[0].split(",") == ["Experiment", "employment.champion", *(
        f"employment.models.{m}.holdout" for m in sorted(SMALL_MODELS))]
    out = work.parent / "plots"
    run(["dvc", "plots", "show", "--out", str(out)], work, env)
    page = (out / "index.html").read_text()
    assert "vegaEmbed(" in page and "employment-xgboost.csv" in page and "threshold sweep (validation)" in page
    assert "cdn.jsdelivr.net" not in page and "<script src=" not in page, "the offline template is configured"


def test_changing_one_hyperparameter_reruns_only_that_model(repo, first_repro):
    work, env = repo
    commit(work, env)  # dvc.lock of the first run committed: `dvc metrics diff` compares with it
    edit_params(work, lambda p: p["problems"]["employment"]["models"]["forest"]["hyperparameters"].update(
        min_samples_leaf=7))
    before = model_files(work)
    audits = {m: work / f"reports/fairness/employment/employment-{m}/metrics.json" for m in ("forest", "xgboost")}
    keys = {m: json.loads(path.read_text())["key"] for m, path in audits.items()}
    result = run(["dvc", "repro"], work, env)
    ran = stages_run(result.stdout)
    assert ran[:3] == ["check", "train@employment", "evaluate@employment"] and ran[-1] == "report"
    assert set(ran[3:-1]) == {"fairness@employment", "drift@employment", "champion@employment"}
    assert "train employment-forest: fitting (config changed: hyperparameters)" in result.stderr + result.stdout
    assert "train employment-xgboost: reused" in result.stderr + result.stdout
    after = model_files(work)
    changed = {path for path in before if before[path] != after.get(path)}
    assert changed and all("employment-forest/" in path for path in changed), "the other models are byte-identical"
    after_keys = {m: json.loads(path.read_text())["key"] for m, path in audits.items()}
    assert after_keys["xgboost"] == keys["xgboost"] and after_keys["forest"] != keys["forest"], "forest re-audited"
    diff = run(["dvc", "metrics", "diff", "--json"], work, env).stdout
    assert "employment.models.forest.holdout" in diff and "models.xgboost" not in diff


def test_code_edits_and_library_versions_reach_only_the_models_that_run_them(repo, first_repro):
    work, env = repo
    family = work / "tasks/families/xgboost.py"
    shared = work / "tasks/ml/preprocess.py"
    saved = {path: path.read_text() for path in (family, shared)}
    try:
        before = model_files(work)
        family.write_text(saved[family] + "\n# an edit of the xgboost family\n")
        out = run(["dvc", "repro", "train@employment"], work, env)
        log = out.stdout + out.stderr
        assert "train employment-xgboost: fitting (code changed" in log and "tasks/families/xgboost.py" in log
        assert "train employment-forest: reused" in log and "train employment-logreg: reused" in log
        after = model_files(work)
        assert {p for p in before if before[p] != after.get(p)} <= {p for p in before if "xgboost/" in p}
        shared.write_text(saved[shared] + "\n# an edit of a module every model runs\n")
        out = run(["dvc", "repro", "train@employment"], work, env)
        assert (out.stdout + out.stderr).count(": fitting (code changed") == len(MODELS)
    finally:
        for path, text in saved.items():
            path.write_text(text)
        run(["dvc", "repro"], work, env)


def test_removing_a_model_removes_its_outputs_and_row(repo, first_repro):
    work, env = repo
    saved = (work / "params.yaml").read_text()
    try:
        edit_params(work, lambda p: p["problems"]["employment"]["models"].pop("logreg"))
        run(["dvc", "repro"], work, env)
        gone = ["models/employment/employment-logreg", "reports/evaluate/employment/employment-logreg",
                "data/predictions/employment/employment-logreg.parquet",
                "reports/curves/employment/employment-logreg.csv"]
        assert not any((work / path).exists() for path in gone)
        board = json.loads((work / "reports/leaderboard.json").read_text())
        assert "employment-logreg" not in board["employment"] and "employment-xgboost" in board["employment"]
    finally:
        (work / "params.yaml").write_text(saved)
        run(["dvc", "repro"], work, env)


# a multiclass and a regression problem through real DVC and Prefect: (problem, models, metric, quality floor)
OTHER_PROBLEMS = [("penguins", ["tree", "softmax"], "f1_macro", {"min_f1_macro": 0.70}),
                  ("housing", ["ridge", "tree"], "rmse", {"min_r2": 0.50})]


@pytest.mark.parametrize(("problem", "models", "metric", "floor"), OTHER_PROBLEMS, ids=[p[0] for p in OTHER_PROBLEMS])
def test_one_problem_runs_alone(repo, first_repro, problem, models, metric, floor):
    """A second problem in params.yaml: `dvc repro champion@<problem>` runs that problem's stages, nothing else,
    each a completed Prefect flow run, and the champion is the best model by the problem's metric."""
    work, env = repo
    saved = (work / "params.yaml").read_text()

    def add_problem(params):
        default = yaml.safe_load((ROOT / "params.yaml").read_text())["problems"][problem]
        params["problems"][problem] = {**default, "models": {m: default["models"][m] for m in models}}

    try:
        edit_params(work, add_problem)
        ran = stages_run(run(["dvc", "repro", f"champion@{problem}"], work, env).stdout)
        assert ran and all(stage.endswith(f"@{problem}") or stage == "check" for stage in ran)
        assert {s.split("@")[0] for s in ran} >= {"ingest", "train", "evaluate", "champion"}
        api = f"http://127.0.0.1:{env['MLP_PREFECT_PORT']}/api"
        runs = {r["run"]: r["state"] for r in flow_runs(api)}
        assert runs[f"train {problem}"] == runs[f"champion {problem}"] == "COMPLETED"
        record = json.loads((work / f"models/{problem}-champion.json").read_text())
        assert record["metric"] == metric and {r["model"] for r in record["ranking"]} == {
            f"{problem}-{m}" for m in models}
        assert record["champion"] == expected_champion(work, problem, metric, floor)
        assert record["champion"] is not None, f"both {problem} models pass the floor on the full data"
        assert stages_run(run(["dvc", "repro", "champion@employment"], work, env).stdout) == [], "check unchanged"
    finally:
        (work / "params.yaml").write_text(saved)
        for path in [*work.glob(f"data/*/{problem}"), *work.glob(f"reports/*/{problem}*"),
                     *work.glob(f"models/{problem}*")]:
            shutil.rmtree(path) if path.is_dir() else path.unlink()  # DVC leaves a removed stage's outputs
        run(["dvc", "repro"], work, env)


def test_forced_repro_reproduces_model_and_metrics_hashes(repo, first_repro):
    work, env = repo
    run(["dvc", "repro"], work, env)
    lock = yaml.safe_load((work / "dvc.lock").read_text())["stages"]
    run(["dvc", "repro", "-f", "champion@employment"], work, env)
    again = yaml.safe_load((work / "dvc.lock").read_text())["stages"]
    for name in ("train@employment", "evaluate@employment", "champion@employment"):
        outs = {o["path"]: o["md5"] for o in again[name]["outs"]}
        kept = {o["path"]: o["md5"] for o in lock[name]["outs"]}
        assert {p: m for p, m in outs.items() if not p.startswith("reports/train")} == \
               {p: m for p, m in kept.items() if not p.startswith("reports/train")}, name


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
    assert (work / "models/employment/employment-xgboost/model.joblib").exists()
    assert stages_run(run(["dvc", "repro"], work, env).stdout) == []


@pytest.mark.parametrize(
    ("breakage", "message"),
    [
        ("truncate", "cannot be read"),
        ("bad_family", "unknown model family 'no_such_family'"),
        ("bad_type", "problems.employment.data.holdout_fraction"),
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
                params["problems"]["employment"]["models"]["xgboost"]["family"] = "no_such_family"
            else:
                params["problems"]["employment"]["data"]["holdout_fraction"] = "twenty percent"
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
