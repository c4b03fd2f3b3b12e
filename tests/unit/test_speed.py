"""Inference speed and the latency budget: a model slower than the budget is not chosen, with the reason."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest

from tasks.core.artefacts import GateResult
from tasks.core.config import parse_params
from tasks.ml.speed import inference_speed, latency_gate
from tasks.stages.champion import Candidate, decide

PASS = GateResult("pass")


def test_inference_speed_times_a_known_sleep():
    rows = pd.DataFrame({"x": np.arange(50)})
    seen = []

    def predict(x: pd.DataFrame) -> np.ndarray:
        seen.append(len(x))
        time.sleep(0.002 * len(x) if len(x) > 1 else 0.004)
        return np.zeros(len(x))

    speed = inference_speed(predict, rows, seed=0, single_rows=5, repeats=2, max_batch_rows=40)
    assert seen == [1, 40, 40, 1, 1, 1, 1, 1]  # one warm-up row, the batch twice, five single rows
    assert speed["batch_rows"] == 40 and speed["single_rows"] == 5
    assert 4.0 <= speed["latency_ms"] < 30.0
    assert 100 < speed["rows_per_second"] <= 500  # 40 rows in >= 80 ms


def test_latency_gate():
    assert latency_gate({"latency_ms": 3.0}, None) == GateResult("n/a")
    assert latency_gate({"latency_ms": 3.0}, 5.0) == PASS
    assert latency_gate({"latency_ms": 7.5}, 5.0) == GateResult.of(["median latency 7.5 ms per row > budget 5 ms"])
    assert latency_gate({}, 5.0).failed


def test_latency_budget_excludes_the_slow_best_model():
    speeds = {"slow": {"latency_ms": 40.0, "rows_per_second": 900.0}, "fast": {"latency_ms": 0.8,
                                                                              "rows_per_second": 90_000.0}}
    candidates = [Candidate(name, "f", {"roc_auc": auc}, {"value": auc, "low": auc - 0.01, "high": auc + 0.01},
                            {"quality": PASS, "latency": latency_gate(speeds[name], 10.0)}, speeds[name])
                  for name, auc in (("slow", 0.93), ("fast", 0.90))]
    record = decide("p", "binary", "roc_auc", candidates, pd.DataFrame())
    assert record["best"] == "slow" and record["champion"] == "fast"
    slow = next(r for r in record["ranking"] if r["model"] == "slow")
    assert slow["status"] == "rejected"
    assert slow["why"] == "fails latency: median latency 40 ms per row > budget 10 ms"
    assert slow["speed"] == speeds["slow"]
    unbudgeted = [Candidate(c.model, c.family, c.holdout, c.interval, {"quality": PASS,
                                                                       "latency": latency_gate(c.speed, None)},
                            c.speed) for c in candidates]
    assert decide("p", "binary", "roc_auc", unbudgeted, pd.DataFrame())["champion"] == "slow"


def test_latency_budget_per_problem_replaces_the_shared_one():
    problem = {"data": {"source": "x.csv", "target": "y", "problem_type": "binary", "holdout_fraction": 0.2,
                        "validation_fraction": 0.2}, "validate": {},
               "features": {"numeric": ["a"]}, "models": {"m": {"family": "ridge"}}}
    params = parse_params({"seed": 1, "champion": {"latency_budget_ms": 20.0},
                           "problems": {"a": {**problem, "gates": {}},
                                        "b": {**problem, "gates": {"latency_budget_ms": 2.5}}}})
    assert params.champion_for("a").latency_budget_ms == 20.0
    assert params.champion_for("b").latency_budget_ms == 2.5
    with pytest.raises(Exception, match="latency_budget_ms"):
        parse_params({"seed": 1, "champion": {"latency_budget_ms": -1}, "problems": {"a": {**problem, "gates": {}}}})
