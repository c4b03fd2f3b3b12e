"""Offline evaluation of one recommender on held-out users: ranking quality, RMSE, coverage, popularity bias."""

from __future__ import annotations

from typing import Any

import numpy as np

from tasks.recommend.base import Recommender
from tasks.recommend.data import Interactions
from tasks.recommend.metrics import coverage, popularity_bias, ranking_metrics, relevance_matrix, rmse


def evaluate_recommender(model: Recommender, profile: Interactions, targets: Interactions, *, k: int,
                         min_relevant_rating: float, percentiles: np.ndarray) -> tuple[dict[str, Any], np.ndarray]:
    """Metrics of `model`'s top-k lists for `profile` against the same users' `targets`, and the lists.

    RMSE is added for models that predict ratings (`predict`), over every held-out rating."""
    if not np.array_equal(profile.user_ids, targets.user_ids):
        raise ValueError("evaluate_recommender: profile and targets must list the same users in the same order")
    recs = model.recommend(profile, k)
    relevance = relevance_matrix(targets.ratings, min_relevant_rating)
    metrics: dict[str, Any] = {**ranking_metrics(recs, relevance, k),
                               "coverage": coverage(recs, profile.catalogue.n_items),
                               **popularity_bias(recs, profile.ratings, percentiles)}
    if hasattr(model, "predict"):
        pairs = targets.ratings.tocoo()
        metrics["rmse"] = rmse(model.predict(profile, pairs.row, pairs.col), pairs.data)
    return metrics, recs


def candidate_recall(candidates: np.ndarray, targets: Interactions, min_relevant_rating: float) -> float:
    """Share of all relevant held-out items that the candidate lists contain (the ranker's ceiling)."""
    relevance = relevance_matrix(targets.ratings, min_relevant_rating) > 0
    total = relevance.sum()
    return float(np.take_along_axis(relevance, candidates, axis=1).sum() / total) if total else float("nan")
