"""Bring your own dataset, as a new user would: scaffold a problem from a CSV with an id column, a name, a date, a
column that leaks the target, a repeated header and a string split column, then run only that problem through real
DVC and Prefect from a shell whose PATH has no virtual environment, and find it in the hub."""

from __future__ import annotations

import json
import os
import shutil

import numpy as np
import pandas as pd
import pytest
import yaml

from tasks.core.config import restrict
from tests.conftest import ROOT, copy_repo
from tests.e2e.conftest import free_port, run, stages_run
from tests.e2e.test_pipeline import flow_runs

pytestmark = pytest.mark.e2e
PLAIN_PATH = "/usr/bin:/bin"  # no venv: its python (if any) lacks pandas
DVC = str(ROOT / ".venv/bin/dvc")
COLUMNS = ["person_id", "name", "screening_date", "sex", "race", "age", "priors_count", "decile_score",
           "priors_count", "recid_label", "split", "two_year_recid"]


def raw_csv(path, rows: int = 1600, seed: int = 0) -> None:
    """A criminal-justice-shaped CSV; `priors_count` appears twice in the header (pandas would rename it)."""
    rng = np.random.default_rng(seed)
    age, priors, score = rng.integers(18, 70, rows), rng.poisson(2, rows), rng.integers(1, 11, rows)
    y = (rng.random(rows) < 1 / (1 + np.exp(-(-2.0 + 0.35 * priors + 0.25 * score - 0.03 * (age - 40))))).astype(int)
    values = [np.arange(1, rows + 1), [f"First{i} Last{i * 31 % 1009}" for i in range(rows)],
              (pd.Timestamp("2013-01-01") + pd.to_timedelta(rng.integers(0, 700, rows), unit="D")).strftime("%Y-%m-%d"),
              rng.choice(["Male", "Female"], rows), rng.choice(["A", "B", "C"], rows), age, priors, score, priors,
              np.where(y == 1, "Yes", "No"), np.where(rng.random(rows) < 0.7, "train", "test"), y]
    frame = pd.DataFrame(dict(enumerate(values)))
    frame.columns = COLUMNS  # duplicate names set after construction, as a CSV header would have them
    frame.to_csv(path, index=False)


@pytest.fixture(scope="module")
def own(tmp_path_factory):
    base = tmp_path_factory.mktemp("own")
    work = copy_repo(base / "repo")
    (work / ".venv").symlink_to(ROOT / ".venv")  # a checkout after `make setup`
    env = {**{k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH", "MLP_PYTHON")},
           "PATH": PLAIN_PATH, "PREFECT_HOME": str(base / "prefect-home"), "MLP_PREFECT_PORT": str(free_port()),
           "MLP_RUNNER_IDLE": "60", "DVC_NO_ANALYTICS": "1", "DO_NOT_TRACK": "1"}
    env.pop("PREFECT_API_URL", None)
    for cmd in (["git", "init", "-q"], ["git", "add", "-A"],
                ["git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "copy"]):
        run(cmd, work, env)
    raw_csv(base / "people.csv")
    scaffold = run(["bin/python", "-m", "flows", "scaffold", "--name", "recid", "--source", str(base / "people.csv"),
                    "--target", "two_year_recid", "--split-column", "split", "--sensitive", "sex,race"], work, env)
    # the scaffolded problem alone, with two of its starter models, and its own gate settings
    raw = restrict(yaml.safe_load((work / "params.yaml").read_text()), "recid", ["logreg", "tree"])
    raw.pop("recommend")
    raw["problems"]["recid"]["gates"] = {"threshold_rule": "f1", "metric": "accuracy",
                                         "quality_floor": {"min_accuracy": 0.55},
                                         "fairness": {"max_equalized_odds_difference": 0.6}}
    (work / "params.yaml").write_text(yaml.safe_dump(raw, sort_keys=False))
    repro = run([DVC, "repro", "champion@recid"], work, env)
    yield work, env, scaffold, repro
    run([str(ROOT / ".venv/bin/python"), "-m", "tasks.ops.stack", "stop"], work, env, check=False)


def test_scaffold_reports_the_guard_rails_and_the_next_command(own):
    work, _, scaffold, _ = own
    out = scaffold.stdout
    assert "id column 'person_id'" in out
    assert "excluded 'priors_count.1': duplicated header 'priors_count'" in out
    assert "excluded 'recid_label': likely leakage" in out
    assert "excluded 'name': near-unique text" in out and "excluded 'screening_date': a date/time" in out
    assert out.strip().splitlines()[-1].endswith("dvc repro champion@recid")
    assert (work / "data/raw/people.csv").exists() and (work / "data/contracts/recid.json").exists()


def test_the_problem_runs_alone_through_dvc_and_prefect_from_a_plain_path(own):
    work, env, _, repro = own
    ran = stages_run(repro.stdout)
    assert {s.split("@")[0] for s in ran} == {"check", "ingest", "validate", "featurize", "train", "evaluate",
                                              "fairness", "drift", "champion"}
    assert all(s == "check" or s.endswith("@recid") for s in ran)
    runs = flow_runs(f"http://127.0.0.1:{env['MLP_PREFECT_PORT']}/api")
    assert {"ingest recid", "train recid", "champion recid"} <= {r["run"] for r in runs}
    assert all(r["state"] == "COMPLETED" for r in runs)


def test_splits_guard_rails_and_gate_overrides_reach_the_outputs(own):
    work = own[0]
    meta = json.loads((work / "data/validated/recid/meta.json").read_text())
    assert set(meta["rows"]) == {"train", "valid", "batch_test"}, "the whole train label trains: no holdout"
    assert meta["evaluation_batches"] == ["valid", "batch_test"] and meta["selection_batch"] == "valid"
    assert meta["duplicated_headers"] == {"priors_count.1": "priors_count"}
    spec = json.loads((work / "data/features/recid/spec.json").read_text())
    assert set(spec["excluded"]) == {"priors_count.1", "recid_label", "name", "screening_date"}
    assert "person_id" not in spec["numeric"] and "split" not in spec["categorical"]
    assert "likely leakage" in (work / "data/features/recid/summary.json").read_text()
    details = json.loads((work / "reports/evaluate/recid/recid-logreg/details.json").read_text())
    assert details["threshold"]["rule"] == "f1", "the problem's own threshold rule"
    record = json.loads((work / "models/recid-champion.json").read_text())
    assert record["metric"] == "accuracy" and record["selection"] == "valid" and record["champion"]
    for row in record["ranking"]:  # the problem's own floor and fairness limit, not the shared ones
        assert row["gates"]["quality"]["status"] == "pass" or "min 0.55" in row["gates"]["quality"]["reasons"][0]
    fairness = json.loads((work / "reports/fairness/recid.json").read_text())
    assert fairness["recid-logreg"]["limits"]["sex"]["max_equalized_odds_difference"] == 0.6
    summary = json.loads((work / "reports/metrics/recid.json").read_text())["recid"]
    assert set(summary["models"]["logreg"]) >= {"valid", "batch_test", "outcome"}
    shown = run([DVC, "metrics", "show", "reports/metrics/recid.json"], work, own[1]).stdout  # as the README says
    assert "recid.models.logreg.batch_test" in shown or "batch_test" in shown


def test_the_hub_lists_the_problem_with_its_later_batch(own):
    work, env, _, _ = own
    (work / "reports/recommend").mkdir(parents=True, exist_ok=True)  # MovieLens is not configured in this copy
    run([DVC, "repro", "-s", "report"], work, env)
    index = (work / "reports/index.html").read_text()
    assert "pages/problem-recid.html" in index and "accuracy on valid" in index and "<td>batch_test</td>" in index
    assert "recid_label" in (work / "reports/pages" / "features-recid.html").read_text()
    assert "likely leakage" in (work / "reports/featurize/recid/index.html").read_text(), "the guard rails' page"
    shutil.rmtree(work / "reports/recommend")
