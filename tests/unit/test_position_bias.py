"""Position-biased clicks and inverse propensity weighting: the weights undo the examination bias in expectation,
and on a synthetic oracle the IPW ranker recovers NDCG closer to the full-information ranker than the naive one."""

from __future__ import annotations

import numpy as np
import pytest
from lightgbm import LGBMRanker

from tasks.recommend.metrics import ndcg_at_k
from tasks.recommend.position_bias import examination_propensity, ipw_weights, simulate_clicks


def test_propensity_is_one_over_rank_to_the_eta():
    assert examination_propensity(4, 1.0).tolist() == [1.0, 0.5, 1 / 3, 0.25]
    assert examination_propensity(3, 0.0).tolist() == [1.0, 1.0, 1.0]
    with pytest.raises(ValueError, match="eta"):
        examination_propensity(3, -1.0)


def test_without_position_bias_clicks_are_the_relevant_items():
    relevance = np.array([[2, 0, 1], [0, 0, 3]])
    clicks, propensity = simulate_clicks(relevance, 0.0, seed=0)
    assert clicks.tolist() == [[1, 0, 1], [0, 0, 1]]
    assert (propensity == 1).all()


def test_weighted_clicks_estimate_relevance_at_every_rank():
    relevance = np.ones((20000, 10), dtype=int)
    clicks, propensity = simulate_clicks(relevance, 1.0, seed=3)
    click_rate = clicks.mean(axis=0)
    assert click_rate == pytest.approx(1 / np.arange(1, 11), abs=0.02)  # naive: relevance decays with rank
    weighted = (clicks * ipw_weights(clicks, propensity, min_propensity=0.01)).mean(axis=0)
    assert weighted == pytest.approx(np.ones(10), abs=0.1)  # IPW: every rank equally relevant, as it is
    assert ipw_weights(np.array([1, 0]), np.array([0.01, 0.01]), min_propensity=0.1).tolist() == [10.0, 1.0]


def test_repeated_sessions_raise_the_propensity_of_being_examined_at_least_once():
    relevance = np.ones((40000, 4), dtype=int)
    clicks, propensity = simulate_clicks(relevance, 1.0, seed=5, sessions=3)
    expected = 1 - (1 - 1 / np.arange(1, 5)) ** 3  # rank 2: 1 - 0.5 ** 3 = 0.875
    assert propensity[0] == pytest.approx(expected)
    assert clicks.mean(axis=0) == pytest.approx(expected, abs=0.01)
    with pytest.raises(ValueError, match="sessions"):
        simulate_clicks(relevance, 1.0, seed=5, sessions=0)


def _queries(rng: np.random.Generator, n_queries: int, n_items: int) -> tuple[np.ndarray, np.ndarray]:
    """Features (relevance signal, logging score) and binary relevance, in the logged order. The logging policy
    ranks mostly by a score unrelated to relevance, so naive clicks credit that score."""
    signal, logging = rng.normal(size=(2, n_queries, n_items))
    relevance = (signal + 0.5 * rng.normal(size=signal.shape) > 1.0).astype(int)
    order = np.argsort(-(logging + 0.3 * signal), axis=1)
    features = np.stack([np.take_along_axis(a, order, axis=1) for a in (signal, logging)], axis=-1)
    return features, np.take_along_axis(relevance, order, axis=1)


def _ndcg(train: np.ndarray, labels: np.ndarray, weights: np.ndarray | None, test: np.ndarray,
          relevance: np.ndarray) -> float:
    n_queries, n_items, n_features = train.shape
    ranker = LGBMRanker(n_estimators=100, learning_rate=0.05, n_jobs=1, random_state=0, verbose=-1)
    ranker.fit(train.reshape(-1, n_features), labels.ravel(), group=np.full(n_queries, n_items),
               sample_weight=None if weights is None else weights.ravel())
    recs = np.argsort(-ranker.predict(test.reshape(-1, n_features)).reshape(relevance.shape), axis=1)
    return float(np.nanmean(ndcg_at_k(recs, relevance.astype(float), 10)))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_ipw_recovers_ndcg_closer_to_full_information_than_naive(seed):
    rng = np.random.default_rng(0)
    train, relevance = _queries(rng, 400, 30)
    test, test_relevance = _queries(rng, 400, 30)
    clicks, propensity = simulate_clicks(relevance, 1.0, seed)
    full = _ndcg(train, relevance, None, test, test_relevance)
    naive = _ndcg(train, clicks, None, test, test_relevance)
    ipw = _ndcg(train, clicks, ipw_weights(clicks, propensity, 0.01), test, test_relevance)
    assert full - ipw < full - naive
    assert naive < full - 0.05  # the bias is real: the naive ranker loses clearly
