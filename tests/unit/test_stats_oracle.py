"""tasks/ml/stats.py's resampling against oracles that share none of its code: scipy's bootstrap, the normal
approximation of a proportion, and a paired bootstrap written here with its own random generator. The project's
intervals are Monte Carlo estimates, so they are compared within a tolerance several standard errors wide."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from tasks.core.artefacts import GateResult
from tasks.ml import stats
from tasks.stages.champion import Candidate, decide

Z95 = sps.norm.ppf(0.975)


@pytest.fixture(scope="module")
def correct() -> np.ndarray:
    """2,000 predictions of which a known 80% are right (y = 1, prediction 1 when right)."""
    rng = np.random.default_rng(11)
    return rng.permutation(np.r_[np.ones(1600, dtype=int), np.zeros(400, dtype=int)])


def test_accuracy_interval_matches_scipy_bootstrap_and_the_normal_approximation(correct):
    y = np.ones_like(correct)
    point, low, high = stats.bootstrap_ci(stats.accuracy, y, correct, n_resamples=4000, confidence=0.95, seed=0)
    assert point == 0.8
    scipy_ci = sps.bootstrap((correct.astype(float),), np.mean, confidence_level=0.95, n_resamples=4000,
                             method="percentile", rng=np.random.default_rng(99)).confidence_interval
    half = Z95 * np.sqrt(0.8 * 0.2 / len(correct))  # 0.0175
    # Monte Carlo standard error of a 2.5% quantile of 4,000 resamples here: ~0.0004
    assert (low, high) == pytest.approx((scipy_ci.low, scipy_ci.high), abs=0.002)
    assert (low, high) == pytest.approx((0.8 - half, 0.8 + half), abs=0.002)


def test_bootstrap_resamples_are_all_distinct_across_chunks():
    """Several chunks of resamples (the chunk size is the module's own memory bound): every resample of a
    continuous variable's mean is a distinct draw, and their spread is the mean's analytic standard error.
    Chunks drawn from a re-seeded generator repeat the first chunk's resamples."""
    n = stats._CHUNK_CELLS // 50  # 50 resamples per chunk
    n_resamples = 400             # 8 chunks
    values = np.random.default_rng(5).normal(size=n)
    _, draws = stats.bootstrap_distributions({"mean": (stats.row_mean, values)}, values, n_resamples=n_resamples,
                                             seed=3)
    means = draws["mean"]
    assert means.shape == (n_resamples,)
    assert len(np.unique(means)) == n_resamples, "some bootstrap resamples repeat"
    analytic_sd = values.std() / np.sqrt(n)
    # the sample sd of 400 draws is within ~3.5% of the truth (one standard error) 68% of the time
    assert means.std(ddof=1) == pytest.approx(analytic_sd, rel=0.2)
    assert abs(means.mean() - values.mean()) < 5 * analytic_sd / np.sqrt(n_resamples)


def test_accuracy_bootstrap_variance_is_binomial(correct):
    """Var of a resampled proportion is p(1-p)/n; repeated resamples (fewer distinct draws) would show up as
    fewer distinct values and a noisier variance."""
    y = np.ones_like(correct)
    _, draws = stats.bootstrap_distributions({"acc": (stats.accuracy, correct)}, y, n_resamples=3000, seed=7)
    assert draws["acc"].var(ddof=1) == pytest.approx(0.8 * 0.2 / len(correct), rel=0.1)  # rel SE ~2.6%


def rmse_of(y: np.ndarray, pred: np.ndarray) -> float:
    return float(np.sqrt(np.mean((pred - y) ** 2)))


@pytest.fixture(scope="module")
def regression() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A target, a model off by N(0, 0.5) and a model off by N(0, 1): RMSE about 0.5 against 1.0."""
    rng = np.random.default_rng(21)
    y = rng.normal(size=1000)
    return y, y + rng.normal(scale=0.5, size=1000), y + rng.normal(scale=1.0, size=1000)


def oracle_paired_rmse(y: np.ndarray, a: np.ndarray, b: np.ndarray, n_resamples: int) -> tuple[float, float]:
    """95% percentile interval of RMSE(a) - RMSE(b), one resample at a time from a generator of its own."""
    rng = np.random.Generator(np.random.PCG64DXSM(2024))
    diffs = []
    for _ in range(n_resamples):
        rows = rng.choice(len(y), size=len(y), replace=True)
        diffs.append(rmse_of(y[rows], a[rows]) - rmse_of(y[rows], b[rows]))
    low, high = np.percentile(diffs, [2.5, 97.5])
    return float(low), float(high)


def test_paired_rmse_interval_matches_an_independent_paired_bootstrap(regression):
    y, good, poor = regression
    result = stats.paired_bootstrap(stats.rmse, y, good, poor, n_resamples=2000, seed=4)
    low, high = oracle_paired_rmse(y, good, poor, 2000)
    assert result["diff"] == pytest.approx(rmse_of(y, good) - rmse_of(y, poor))
    assert high < 0, "the oracle itself: the better model's lead is an interval below 0"
    assert (result["low"], result["high"]) == pytest.approx((low, high), abs=0.01)
    assert result["p_value"] == pytest.approx(2 / 2001)


def test_an_rmse_lead_with_an_interval_below_zero_is_real(regression):
    """Lower is better: the best model's RMSE minus another's is negative, and an interval entirely below 0 is a
    real difference (the verdict must not look only at intervals above 0)."""
    y, good, poor = regression
    low, high = oracle_paired_rmse(y, good, poor, 500)
    diff = rmse_of(y, good) - rmse_of(y, poor)
    candidates = [Candidate(name, "f", {"rmse": rmse_of(y, pred)}, {"value": rmse_of(y, pred), "low": 0, "high": 0},
                            {"quality": GateResult("pass")})
                  for name, pred in [("poor", poor), ("good", good)]]
    comparisons = pd.DataFrame([{"model_a": "good", "model_b": "poor", "metric": "rmse", "diff": diff, "low": low,
                                 "high": high, "p_value": 0.002}])
    record = decide("p", "regression", "rmse", candidates, comparisons)
    rows = {row["model"]: row for row in record["ranking"]}
    assert record["champion"] == "good" and record["lower_is_better"]
    assert rows["poor"]["versus_best"]["verdict"] == "real"
    assert ": real (p=" in rows["poor"]["why"]
    noise = comparisons.assign(low=-0.05, high=0.01)
    assert {r["model"]: r for r in decide("p", "regression", "rmse", candidates, noise)["ranking"]}[
        "poor"]["versus_best"]["verdict"] == "within noise"
