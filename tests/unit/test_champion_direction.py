"""Lower-is-better champions: with RMSE (and MAE, log loss) the smallest holdout value wins, gates still apply."""

from __future__ import annotations

import pandas as pd
import pytest

from tasks.core.artefacts import GateResult
from tasks.stages.champion import Candidate, decide

PASS = GateResult("pass")
FAIL = GateResult("fail", ("rmse 0.1000 > max 0.05",))


def candidates(metric: str, values: dict[str, float], **gates: GateResult) -> list[Candidate]:
    return [Candidate(name, "family_" + name, {metric: value}, {"value": value, "low": value - 0.01,
                                                                 "high": value + 0.01},
                      {"quality": gates.get(name, PASS), "drift": PASS, "fairness": PASS})
            for name, value in values.items()]


@pytest.mark.parametrize("metric", ["rmse", "mae", "log_loss", "brier"])
def test_the_lowest_error_is_champion(metric):
    # by hand: ridge 0.25 < forest 0.31 < knn 0.40
    record = decide("housing", "regression", metric, candidates(metric, {"forest": 0.31, "knn": 0.40,
                                                                         "ridge": 0.25}), pd.DataFrame())
    assert record["champion"] == "ridge" and record["best"] == "ridge" and record["lower_is_better"]
    assert [row["model"] for row in record["ranking"]] == ["ridge", "forest", "knn"]


def test_a_lowest_error_failing_a_gate_gives_way_to_the_next_lowest():
    record = decide("housing", "regression", "rmse",
                    candidates("rmse", {"forest": 0.31, "knn": 0.40, "ridge": 0.25}, ridge=FAIL), pd.DataFrame())
    assert (record["best"], record["champion"]) == ("ridge", "forest")


def test_higher_is_better_metrics_keep_the_largest():
    record = decide("housing", "regression", "r2", candidates("r2", {"forest": 0.81, "knn": 0.70, "ridge": 0.88}),
                    pd.DataFrame())
    assert record["champion"] == "ridge" and not record["lower_is_better"]
