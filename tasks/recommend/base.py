"""What every recommender shares: top-k selection, the popularity fallback, time decay, cold-item borrowing.

A recommender is an estimator: `__init__` stores hyperparameters, `fit(X)` learns from an `Interactions` view of
training ratings and returns self, learned attributes end in `_`. Users are never looked up by id: `score(history)`
folds in whatever history it is given (training users, new users, or users with a few ratings alike), so a user
unknown to the model is simply a user whose history is passed in.

Fallbacks (documented contract):
* a user with an empty history, or for whom the model's scores are all equal (no signal), gets the items ranked by
  training popularity;
* an item id missing from the catalogue is dropped from histories (`to_interactions` counts it) and predicts the
  user's mean rating (the global mean for an empty history);
* a catalogue item nobody rated in training ("cold item") is scored by collaborative models through its nearest
  rated items in content space (`borrow_map`).
"""

from __future__ import annotations

from typing import Self

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator

from tasks.recommend.data import Catalogue, Interactions


def decay(age_days: np.ndarray, half_life_days: float | None) -> np.ndarray:
    """Exponential time-decay weights 0.5 ** (age / half-life); all ones without a half-life."""
    age = np.asarray(age_days, dtype=float)
    return np.ones_like(age) if half_life_days is None else 0.5 ** (np.maximum(age, 0.0) / half_life_days)


def age_since_last(history: Interactions) -> sp.csr_matrix:
    """Per rating, days between it and the same user's latest rating (same pattern as `history.days`)."""
    days = history.days
    latest = np.zeros(history.n_users)
    has = history.counts() > 0
    latest[has] = np.maximum.reduceat(days.data, days.indptr[:-1][has]) if days.nnz else 0.0
    age = days.copy()
    age.data = np.repeat(latest, history.counts()) - days.data
    return age


def user_means(history: Interactions, default: float) -> np.ndarray:
    """Mean rating per user; `default` for users without ratings."""
    counts = history.counts()
    sums = np.asarray(history.ratings.sum(axis=1)).ravel()
    return np.where(counts > 0, sums / np.maximum(counts, 1), default)


def top_k(scores: np.ndarray, k: int) -> np.ndarray:
    """Column indices of each row's k highest scores, best first (ties: lower index first)."""
    return np.argsort(-scores, axis=1, kind="stable")[:, :k]


def borrow_map(catalogue: Catalogue, warm: np.ndarray, n_neighbours: int, year_weight: float = 0.5) -> sp.csr_matrix:
    """n_items x n_items map M: identity on warm items; column j of a cold item averages its `n_neighbours` most
    content-similar warm items. `M.T @ item_factors` gives cold items borrowed factors; `M.T @ S @ M` extends an
    item-item similarity matrix to cold items in both roles."""
    n = catalogue.n_items
    warm_idx, cold_idx = np.flatnonzero(warm), np.flatnonzero(~warm)
    rows, cols, vals = [warm_idx], [warm_idx], [np.ones(len(warm_idx))]
    m = min(n_neighbours, len(warm_idx))
    if len(cold_idx) and m:
        vectors = catalogue.content_vectors(year_weight)
        for start in range(0, len(cold_idx), 256):
            block = cold_idx[start:start + 256]
            sim = vectors[block] @ vectors[warm_idx].T
            nearest = np.argpartition(-sim, m - 1, axis=1)[:, :m]
            rows.append(warm_idx[nearest].ravel())
            cols.append(np.repeat(block, m))
            vals.append(np.full(len(block) * m, 1.0 / m))
    return sp.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(n, n))


class Recommender(BaseEstimator):
    """Base class: subclasses implement `fit` (calling `_fit_fallback`) and `score`."""

    def _fit_fallback(self, X: Interactions) -> None:
        self.catalogue_ = X.catalogue
        self.popularity_ = np.bincount(X.ratings.indices, minlength=X.catalogue.n_items).astype(float)
        self.global_mean_ = float(X.ratings.data.mean()) if X.ratings.nnz else 3.0

    def fit(self, X: Interactions) -> Self:
        raise NotImplementedError

    def score(self, history: Interactions) -> np.ndarray:
        """Scores (n_users x n_items) of every catalogue item for each history; higher is better."""
        raise NotImplementedError

    def no_signal(self, history: Interactions, scores: np.ndarray) -> np.ndarray:
        """Users the popularity fallback serves: empty history, or every item scored the same."""
        return (history.counts() == 0) | (np.nanmax(scores, axis=1) == np.nanmin(scores, axis=1))

    def rank_scores(self, history: Interactions) -> np.ndarray:
        """`score` made ready for ranking: popularity for users without signal, items already rated at -inf."""
        return self.ready_for_ranking(history, self.score(history))

    def ready_for_ranking(self, history: Interactions, scores: np.ndarray) -> np.ndarray:
        """A copy of `scores` with the popularity fallback applied and rated items set to -inf."""
        scores = np.array(scores, dtype=float)
        scores[self.no_signal(history, scores)] = self.popularity_
        rows, cols = history.ratings.nonzero()
        scores[rows, cols] = -np.inf
        return scores

    def recommend(self, history: Interactions, k: int) -> np.ndarray:
        """Top-k unseen catalogue item indices per user (n_users x k), best first."""
        return top_k(self.rank_scores(history), k)
