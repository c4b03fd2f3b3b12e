"""tasks/stages/champion.py: quality floors, ranking, paired tests against the best model, and the champion's record."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tasks.core.artefacts import GateResult
from tasks.ml import stats
from tasks.ml.metrics import Scored
from tasks.stages.champion import Candidate, compare_to_best, decide, quality_gate, rank

PASS = GateResult("pass")


def candidate(name: str, auc: float, low: float, high: float, **gates: GateResult) -> Candidate:
    return Candidate(name, "family_" + name, {"roc_auc": auc}, {"value": auc, "low": low, "high": high},
                     {"quality": PASS, "drift": PASS, "fairness": PASS, **gates})


def test_quality_gate_bounds_and_missing_metric():
    assert quality_gate({"roc_auc": 0.8, "log_loss": 0.4}, {"min_roc_auc": 0.75, "max_log_loss": 0.5}) == PASS
    result = quality_gate({"roc_auc": 0.7, "log_loss": 0.6}, {"min_roc_auc": 0.75, "max_log_loss": 0.5})
    assert result == GateResult("fail", ("roc_auc 0.7000 < min 0.75", "log_loss 0.6000 > max 0.5"))
    assert quality_gate({"roc_auc": float("nan")}, {"min_roc_auc": 0.5}).failed
    assert quality_gate({"roc_auc": None}, {"min_roc_auc": 0.5}).failed, "null in a metrics file"


def test_rank_respects_the_metric_direction():
    low_error = Candidate("a", "f", {}, {"value": 0.2, "low": 0.1, "high": 0.3})
    high_error = Candidate("b", "f", {}, {"value": 0.5, "low": 0.4, "high": 0.6})
    assert [c.model for c in rank([high_error, low_error], "rmse")] == ["a", "b"]
    assert [c.model for c in rank([low_error, high_error], "r2")] == ["b", "a"]


def test_champion_is_the_best_model_passing_every_gate():
    unfair = GateResult.of(["holdout: SEX: equalized odds difference 0.2 > max 0.1", "batch_1: x"])
    candidates = [candidate("best", 0.91, 0.90, 0.92, fairness=unfair), candidate("second", 0.90, 0.89, 0.91),
                  candidate("third", 0.85, 0.84, 0.86)]
    comparisons = pd.DataFrame([
        {"model_a": "best", "model_b": "second", "metric": "roc_auc", "diff": 0.01, "low": -0.002, "high": 0.02,
         "p_value": 0.2},
        {"model_a": "best", "model_b": "third", "metric": "roc_auc", "diff": 0.06, "low": 0.05, "high": 0.07,
         "p_value": 0.002},
    ])
    record = decide("p", "binary", "roc_auc", candidates, comparisons)
    assert (record["champion"], record["family"], record["best"]) == ("second", "family_second", "best")
    rows = {r["model"]: r for r in record["ranking"]}
    assert [r["model"] for r in record["ranking"]] == ["best", "second", "third"]
    assert rows["best"]["status"] == "rejected"
    assert rows["best"]["why"] == "fails fairness: holdout: SEX: equalized odds difference 0.2 > max 0.1 (+1 more)"
    assert rows["second"]["status"] == "champion" and rows["second"]["versus_best"]["verdict"] == "within noise"
    assert rows["third"]["status"] == "runner-up" and "real (p=0.002)" in rows["third"]["why"]


def test_no_champion_when_every_model_fails_a_gate():
    drifted = GateResult.of(["batch_1: 40.0% of features drifted"])
    record = decide("p", "binary", "roc_auc", [candidate("a", 0.9, 0.8, 0.95, drift=drifted)], pd.DataFrame())
    assert record["champion"] is None and record["ranking"][0]["why"].startswith("fails drift: batch_1")


def test_compare_to_best_is_a_paired_bootstrap_with_mcnemar():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 400)
    good = np.clip(0.5 * y + 0.5 * rng.random(400), 0, 1)
    weak = np.clip(0.2 * y + 0.8 * rng.random(400), 0, 1)
    scored = {name: Scored("binary", y, (p >= 0.5).astype(int), p) for name, p in (("good", good), ("weak", weak))}
    table = compare_to_best(scored, ["good", "weak"], "roc_auc", n_resamples=100, confidence=0.95, seed=1)
    single = stats.paired_bootstrap(stats.roc_auc, y, good, weak, n_resamples=100, seed=1)
    assert table.loc[0, ["diff", "low", "high", "p_value"]].to_dict() == pytest.approx(single)
    assert table.loc[0, "mcnemar_p_value"] == stats.mcnemar(y, good >= 0.5, weak >= 0.5)["p_value"]
    target = rng.normal(size=200)
    regression = {n: Scored("regression", target, target + rng.normal(0, s, 200)) for n, s in (("a", 0.5), ("b", 1))}
    table = compare_to_best(regression, ["a", "b"], "rmse", n_resamples=100, confidence=0.95, seed=1)
    assert table.loc[0, "diff"] < 0 and table.loc[0, "high"] < 0 and "mcnemar_p_value" not in table
    assert compare_to_best(regression, ["a"], "rmse", n_resamples=10, confidence=0.95, seed=1).empty
