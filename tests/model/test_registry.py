"""Model tier: the production loop on real employment rows in a throwaway git + DVC repository (tags never touch
this checkout): promotion against the promoted model, rollback through `dvc artifacts get`, batch scoring with the
promoted version, and the label-free accuracy estimate (CBPE) against the truth on 2016, 2017 and 2018."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pytest

from tasks.core.errors import DataError
from tasks.core.io import write_json
from tasks.families import BuildContext, build_estimator, get_family
from tasks.stages.train import TrainedModel, save_model
from tests.conftest import ROOT
from tests.model.problems import problems, spec_for

PROBLEM = "employment"
MODELS = {"nb": ("naive_bayes_bernoulli", {"alpha": 1.0}),
          "logreg": ("logistic_regression", {"C": 1.0, "max_iter": 1000}),
          "logreg-twin": ("logistic_regression", {"C": 0.9, "max_iter": 1000})}   # differs from logreg by noise
ENV = {**os.environ, "DVC_NO_ANALYTICS": "1", "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
       "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com"}
DVC_YAML = f"""stages:
  train:
    cmd: "true"
    outs:
      - models/{PROBLEM}:
          persist: true
artifacts:
  {PROBLEM}:
    path: models/{PROBLEM}
    type: model
"""


def sh(repo: Path, *args: str) -> str:
    return subprocess.run(args, cwd=repo, env=ENV, check=True, capture_output=True, text=True).stdout


def commit(repo: Path, message: str) -> None:
    sh(repo, str(ROOT / ".venv/bin/dvc"), "commit", "-f", "-q", "train")
    sh(repo, "git", "add", "-A")
    sh(repo, "git", "commit", "-qm", message)


def champion_record(model: str, fairness: str = "pass") -> dict:
    gates = {"quality": {"status": "pass", "reasons": []}, "drift": {"status": "pass", "reasons": []},
             "fairness": {"status": fairness, "reasons": ["RAC1P: equalized odds difference beyond 0.1"]
                          if fairness == "fail" else []}}
    return {"problem": PROBLEM, "metric": "roc_auc", "champion": f"{PROBLEM}-{model}", "selection": "holdout",
            "ranking": [{"model": f"{PROBLEM}-{model}", "gates": gates}]}


def set_champion(repo: Path, model: str, fairness: str = "pass") -> None:
    write_json(repo / f"models/{PROBLEM}-champion.json", champion_record(model, fairness))


@pytest.fixture(scope="module")
def frames() -> dict[str, pd.DataFrame]:
    raw = pd.read_parquet(ROOT / "data/raw/acs_employment_ma.parquet")
    reference = raw[raw["year"] == 2015].sample(n=9000, random_state=0)
    out = {"train": reference.iloc[:6000], "holdout": reference.iloc[6000:]}
    for year in (2016, 2017, 2018):
        out[f"batch_{year}"] = raw[raw["year"] == year].sample(n=4000, random_state=year)
    return {k: v.reset_index(drop=True) for k, v in out.items()}


@pytest.fixture(scope="module")
def harness():
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness():
        yield


@pytest.fixture(scope="module")
def repo(tmp_path_factory, frames, harness) -> Path:
    """nb promoted at the first commit (v1.0.0), then logreg at the second (v1.1.0, RELEASE marker added)."""
    from flows.promote import promote_flow

    repo = tmp_path_factory.mktemp("registry")
    sh(repo, "git", "init", "-q")
    sh(repo, str(ROOT / ".venv/bin/dvc"), "init", "-q")
    (repo / "dvc.yaml").write_text(DVC_YAML)
    shutil.copytree(ROOT / "data/contracts", repo / "data/contracts")
    spec = spec_for(problems()[PROBLEM], frames["train"])
    write_json(repo / f"data/features/{PROBLEM}/spec.json", spec.to_dict())
    (repo / f"data/validated/{PROBLEM}").mkdir(parents=True)
    frames["holdout"].to_parquet(repo / f"data/validated/{PROBLEM}/holdout.parquet", index=False)
    x, y = frames["train"][spec.features], frames["train"][spec.target]
    for name, (family, hp) in MODELS.items():
        estimator = build_estimator(get_family(family), BuildContext(spec=spec, seed=0), hp).fit(x, y)
        save_model(TrainedModel(estimator, {"name": f"{PROBLEM}-{name}", "features": spec.features}),
                   repo / f"models/{PROBLEM}/{PROBLEM}-{name}", key={"family": family, **hp})
        write_json(repo / f"reports/evaluate/{PROBLEM}/{PROBLEM}-{name}/metrics.json", {"threshold": 0.5})
    (repo / ".gitignore").write_text("/data/validated\n/data/features\n/reports\n/models/*.json\n/out*\n")
    commit(repo, "first models")
    set_champion(repo, "nb")
    first = promote_flow(PROBLEM, repo=repo, params_path=ROOT / "params.yaml")
    (repo / f"models/{PROBLEM}/RELEASE").write_text("second\n")
    commit(repo, "second models")
    set_champion(repo, "logreg")
    second = promote_flow(PROBLEM, repo=repo, params_path=ROOT / "params.yaml")
    repo.joinpath("results.json").write_text(json.dumps({"first": first, "second": second}, default=str))
    return repo


def promote(repo: Path, model: str, fairness: str = "pass") -> dict:
    from flows.promote import promote_flow

    set_champion(repo, model, fairness)
    return promote_flow(PROBLEM, repo=repo, params_path=ROOT / "params.yaml")


def test_first_and_better_candidates_are_promoted(repo: Path) -> None:
    results = json.loads(repo.joinpath("results.json").read_text())
    assert results["first"]["promoted"] == "v1.0.0" and "nothing was promoted before" in results["first"]["reason"]
    second = results["second"]
    assert second["promoted"] == "v1.1.0" and second["comparison"]["low"] > 0   # logreg beats nb beyond noise
    assert second["current"]["model"] == f"{PROBLEM}-logreg"
    assert "McNemar" in second["reason"]


def test_noise_level_candidate_is_not_promoted(repo: Path) -> None:
    result = promote(repo, "logreg-twin")
    assert result["promoted"] is None and "within noise" in result["reason"]
    assert result["comparison"]["low"] <= 0 <= result["comparison"]["high"]
    assert result["current"]["version"] == "v1.1.0"


def test_gate_failure_blocks_promotion(repo: Path) -> None:
    result = promote(repo, "nb", fairness="fail")
    assert result["promoted"] is None and "fails fairness" in result["reason"]
    assert result["current"]["version"] == "v1.1.0"


def test_rollback_restores_the_previous_version_for_dvc_artifacts_get(repo: Path, tmp_path: Path) -> None:
    from flows.rollback import rollback_flow
    from tasks.adapters import registry

    copy = tmp_path / "copy"
    shutil.copytree(repo, copy)
    dvc = str(ROOT / ".venv/bin/dvc")
    sh(copy, dvc, "artifacts", "get", ".", PROBLEM, "--stage", "prod", "-o", "out-before")
    assert (copy / "out-before/RELEASE").exists()                                # v1.1.0: the second commit
    result = rollback_flow(PROBLEM, why="test", repo=copy)
    assert (result["was"]["version"], result["now"]["version"]) == ("v1.1.0", "v1.0.0")
    assert registry.promoted(copy, PROBLEM).model == f"{PROBLEM}-nb"
    sh(copy, dvc, "artifacts", "get", ".", PROBLEM, "--stage", "prod", "-o", "out-after")
    assert (copy / f"out-after/{PROBLEM}-nb/model.joblib").exists() and not (copy / "out-after/RELEASE").exists()
    assert "rollback from v1.1.0: test" in [a.why for a in registry.history(copy, PROBLEM)]


def predict(repo: Path, frame: pd.DataFrame, name: str) -> tuple[dict, Path]:
    from flows.predict import predict_flow

    path = repo / f"{name}.parquet"
    frame.to_parquet(path, index=False)
    out = repo / f"out-{name}"
    return predict_flow(PROBLEM, path, out, repo=repo, params_path=ROOT / "params.yaml"), out


def test_valid_batch_is_scored_with_ids_and_version(repo: Path, frames) -> None:
    batch = frames["batch_2016"].drop(columns="employed")
    summary, out = predict(repo, batch, "unlabelled")
    predictions = pd.read_parquet(out / "predictions.parquet")
    assert predictions["id"].tolist() == batch["id"].tolist()
    assert set(predictions["model_version"]) == {summary["model_version"]} and summary["model_version"] == "v1.1.0"
    assert predictions["proba"].between(0, 1).all() and (out / "drift.html").exists()
    assert not summary["labelled"] and "actual_accuracy" not in summary["cbpe_accuracy"]


def test_invalid_batch_is_rejected_and_nothing_written(repo: Path, frames) -> None:
    batch = frames["batch_2017"].assign(AGEP=lambda f: f["AGEP"].astype(str))
    with pytest.raises(DataError, match="AGEP"):
        predict(repo, batch, "invalid")
    assert not (repo / "out-invalid").exists()


def test_unseen_categories_are_scored(repo: Path, frames) -> None:
    batch = frames["batch_2017"].head(200).copy()
    batch["MAR"] = batch["MAR"].cat.add_categories(["99"]) if hasattr(batch["MAR"], "cat") else batch["MAR"]
    batch.loc[:49, "MAR"] = "99"
    summary, out = predict(repo, batch, "unseen")
    predictions = pd.read_parquet(out / "predictions.parquet")
    assert summary["scored"] == 200 and predictions["proba"].notna().all()


@pytest.mark.parametrize("year", [2016, 2017, 2018])
def test_label_free_estimate_is_within_its_stated_error(repo: Path, frames, year: int) -> None:
    from sklearn.metrics import accuracy_score

    batch = frames[f"batch_{year}"]
    summary, out = predict(repo, batch, f"labelled-{year}")
    estimate = summary["cbpe_accuracy"]
    actual = accuracy_score(batch["employed"], pd.read_parquet(out / "predictions.parquet")["prediction"])
    assert abs(estimate["value"] - actual) <= estimate["stated_error"] < 0.05, (year, estimate, actual)
    assert estimate["actual_accuracy"] == pytest.approx(actual) and estimate["within_stated_error"]
