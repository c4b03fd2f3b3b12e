"""Promotion rules, CBPE and the retrain's problems, on hand-made inputs whose answers are known."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tasks.ml.metrics import encode
from tasks.stages import predict, promotion, retrain

PASS = {"quality": {"status": "pass", "reasons": []}, "fairness": {"status": "warn", "reasons": ["straddles"]}}
FAIL = {**PASS, "drift": {"status": "fail", "reasons": ["40% of features drifted"]}}


def scored(proba: np.ndarray, y: np.ndarray):
    return encode("binary", [0, 1], y, np.column_stack([1 - proba, proba]))


@pytest.fixture(scope="module")
def rows():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 2000)
    good = np.clip(0.5 * y + 0.25 + rng.normal(0, 0.2, 2000), 0.01, 0.99)
    weak = np.clip(0.2 * y + 0.4 + rng.normal(0, 0.2, 2000), 0.01, 0.99)
    twin = np.clip(good + rng.normal(0, 0.005, 2000), 0.01, 0.99)
    return y, good, weak, twin


def test_rules(rows) -> None:
    y, good, weak, twin = rows
    kw = {"n_resamples": 300, "confidence": 0.95, "seed": 0}
    better = promotion.compare(scored(good, y), scored(weak, y), "roc_auc", **kw)
    noise = promotion.compare(scored(twin, y), scored(good, y), "roc_auc", **kw)
    assert promotion.decide("a", PASS, "b", better).promote          # a warning is not a failure
    assert not promotion.decide("a", PASS, "b", noise).promote
    assert "within noise" in promotion.decide("a", PASS, "b", noise).reason
    worse = promotion.compare(scored(weak, y), scored(good, y), "roc_auc", **kw)
    assert "worse than" in promotion.decide("a", PASS, "b", worse).reason
    blocked = promotion.decide("a", FAIL, "b", better)
    assert not blocked.promote and "drift: 40% of features drifted" in blocked.reason
    assert promotion.decide("a", PASS, None, None).promote
    assert not promotion.decide(None, {}, "b", None).promote
    assert better["only_candidate_right"] > better["only_promoted_right"]


def test_lower_is_better_metrics_are_signed(rows) -> None:
    y = np.linspace(0, 1, 500)
    close, far = encode("regression", [], y, y + 0.01), encode("regression", [], y, y + 0.2)
    result = promotion.compare(close, far, "rmse", n_resamples=200, confidence=0.95, seed=0)
    assert result["gain"] == pytest.approx(0.19) and result["low"] > 0


def test_cbpe_of_calibrated_probabilities_covers_the_truth() -> None:
    rng = np.random.default_rng(1)
    p = rng.uniform(0, 1, 20000)
    y = (rng.uniform(0, 1, 20000) < p).astype(int)                       # calibrated by construction
    reference = scored(p[:5000], y[:5000])
    estimate = predict.cbpe(p[5000:], 0.5, reference, n_resamples=300, confidence=0.95, seed=0)
    assert estimate["value"] == pytest.approx(0.75, abs=0.01)             # E[max(p, 1-p)] for uniform p
    actual = ((p[5000:] >= 0.5) == y[5000:]).mean()
    assert abs(estimate["value"] - actual) <= estimate["stated_error"]
    # the holdout's gap is a mean of 5,000 residuals of variance E[c(1-c)] = 1/6 for c = max(p, 1-p), p uniform
    assert estimate["calibration_gap_se"] == pytest.approx((1 / 6 / 5000) ** 0.5, rel=0.05)
    half = (estimate["high"] - estimate["low"]) / 2
    assert estimate["stated_error"] == pytest.approx(
        abs(estimate["calibration_gap"]) + (half ** 2 + (1.959964 * estimate["calibration_gap_se"]) ** 2) ** 0.5)


def test_unlabeled_contract_drops_the_target() -> None:
    suite = {"expectations": [{"type": "expect_column_to_exist", "kwargs": {"column": "y"}},
                              {"type": "expect_table_columns_to_match_set", "kwargs": {"column_set": ["id", "y"]}},
                              {"type": "expect_column_to_exist", "kwargs": {"column": "id"}}]}
    kept = predict.unlabeled_contract(suite, "y")["expectations"]
    assert [e["kwargs"] for e in kept] == [{"column_set": ["id"]}, {"column": "id"}]


def test_predictions_frame_keeps_ids_and_version() -> None:
    frame = predict.predictions_frame(pd.Series([7, 9], name="id"), np.array([[0.2, 0.8], [0.9, 0.1]]), "binary",
                                      ["no", "yes"], 0.5, "v1.2.0", "m")
    assert frame.to_dict("list") == {"id": [7, 9], "prediction": ["yes", "no"], "proba": [0.8, 0.1],
                                     "model_version": ["v1.2.0"] * 2, "model": ["m"] * 2}


def test_problems_run() -> None:
    assert retrain.problems_run(["champion@employment"], ["employment", "penguins"]) == ["employment"]
    assert retrain.problems_run([], ["employment", "penguins"]) == ["employment", "penguins"]
