"""Content filtering: items described by genres and release year, users by what they rated."""

from __future__ import annotations

from typing import Self

import numpy as np

from tasks.recommend.base import Recommender
from tasks.recommend.data import Interactions


class ContentRecommender(Recommender):
    """User profile = rating-weighted mean of the rated items' feature vectors (IDF-weighted genre multi-hot and
    standardised year, see `Catalogue.content_vectors`); items are scored by cosine similarity to the profile.
    Uses no other user's ratings, so it scores new and never-rated items like any other."""

    def __init__(self, year_weight: float = 0.5):
        self.year_weight = year_weight

    def fit(self, X: Interactions) -> Self:
        self._fit_fallback(X)
        self.item_vectors_ = X.catalogue.content_vectors(self.year_weight)
        return self

    def profiles(self, history: Interactions) -> np.ndarray:
        """L2-normalised user profiles (n_users x n_features); zero rows for empty histories."""
        weighted = history.ratings @ self.item_vectors_
        norms = np.linalg.norm(weighted, axis=1, keepdims=True)
        return weighted / np.where(norms > 0, norms, 1.0)

    def score(self, history: Interactions) -> np.ndarray:
        return self.profiles(history) @ self.item_vectors_.T
