"""The interval fairness gate: a disparity fails only when its bootstrap interval lies beyond the limit, warns when
the interval straddles it; the intervals match fairlearn's disparities on the same resamples."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from fairlearn.metrics import demographic_parity_difference, equalized_odds_difference

from tasks.ml import stats
from tasks.stages.fairness import FairnessThresholds, disparity_intervals, evaluate_fairness_gate, group_metrics

LIMIT = FairnessThresholds(max_equalized_odds_difference=0.10)


@pytest.fixture(scope="module")
def batch():
    rng = np.random.default_rng(3)
    group = pd.Series(rng.choice(["a", "b", "c"], size=900, p=[0.5, 0.3, 0.2]), name="g")
    y = rng.integers(0, 2, size=900)
    proba = np.clip(0.5 * y + 0.25 + rng.normal(0, 0.25, 900) + (group == "c") * 0.08, 0, 1)
    return group, y, proba


def test_disparity_intervals_match_fairlearn_on_the_same_resamples(batch) -> None:
    group, y, proba = batch
    pred = (proba >= 0.5).astype(int)
    bounds = disparity_intervals(group, y, pred, min_group_size=0, n_resamples=200, confidence=0.9, seed=7)
    idx = np.concatenate(list(stats.resample_indices(len(y), 200, 7)))
    eod = [equalized_odds_difference(y[i], pred[i], sensitive_features=group.to_numpy()[i]) for i in idx]
    dpd = [demographic_parity_difference(y[i], pred[i], sensitive_features=group.to_numpy()[i]) for i in idx]
    assert (bounds["equalized_odds_difference_low"], bounds["equalized_odds_difference_high"]) == pytest.approx(
        tuple(np.quantile(eod, [0.05, 0.95])))
    assert (bounds["demographic_parity_difference_low"], bounds["demographic_parity_difference_high"]) == \
        pytest.approx(tuple(np.quantile(dpd, [0.05, 0.95])))


def groups_table(batch) -> pd.DataFrame:
    group, y, proba = batch
    return group_metrics(group.to_frame(), y, proba, threshold=0.5, n_resamples=20, seed=0)


@pytest.mark.parametrize(("low", "high", "expected"), [(0.11, 0.2, "fail"), (0.05, 0.15, "warn"),
                                                       (0.01, 0.099, "pass")])
def test_gate_fails_only_beyond_warns_when_straddling(batch, low, high, expected) -> None:
    intervals = {"g": {"equalized_odds_difference_low": low, "equalized_odds_difference_high": high}}
    status, reasons = evaluate_fairness_gate(groups_table(batch), LIMIT, intervals)
    assert status == expected
    assert (len(reasons) == 0) == (expected == "pass")
    if expected == "warn":
        assert "straddles" in reasons[0] and f"[{low:.4f}, {high:.4f}]" in reasons[0]
