"""Popularity baseline: the same list for everyone, optionally favouring recent ratings."""

from __future__ import annotations

from typing import Self

import numpy as np

from tasks.recommend.base import Recommender, decay
from tasks.recommend.data import Interactions


class Popularity(Recommender):
    """Items ranked by how often they were rated; with `half_life_days`, each rating counts
    0.5 ** (age / half-life), age measured from the latest training rating."""

    def __init__(self, half_life_days: float | None = None):
        self.half_life_days = half_life_days

    def fit(self, X: Interactions) -> Self:
        self._fit_fallback(X)
        self.now_days_ = float(X.days.data.max()) if X.days.nnz else 0.0
        weights = decay(self.now_days_ - X.days.data, self.half_life_days)
        self.item_scores_ = np.bincount(X.days.indices, weights=weights, minlength=X.catalogue.n_items)
        return self

    def score(self, history: Interactions) -> np.ndarray:
        return np.tile(self.item_scores_, (history.n_users, 1))
