"""Item-item collaborative filtering on the sparse user x item rating matrix."""

from __future__ import annotations

from typing import Self

import numpy as np
import scipy.sparse as sp

from tasks.recommend.base import Recommender, age_since_last, borrow_map, decay, user_means
from tasks.recommend.data import Interactions


def item_similarities(
    ratings: sp.csr_matrix, *, similarity: str, n_neighbours: int, shrinkage: float, inverse_user_frequency: bool,
    block_size: int = 256,
) -> sp.csr_matrix:
    """Sparse n_items x n_items matrix: row i holds item i's `n_neighbours` most similar items (positive only).

    cosine: cosine of the item columns; pearson: the same after centring each item's ratings on its mean.
    Inverse user frequency weights each user by log(n_rated_items / items the user rated): prolific raters say
    less about which items go together (Breese et al.'s IUF, transposed to item-item). Shrinkage multiplies by
    n / (n + shrinkage), n = co-rating users. Computed in dense blocks of rows, pruned as it goes.
    """
    n_users, n_items = ratings.shape
    warm = np.flatnonzero(ratings.getnnz(axis=0) > 0)
    values = ratings[:, warm].tocsc().astype(np.float64)
    if similarity == "pearson":
        means = np.asarray(values.sum(axis=0)).ravel() / np.maximum(values.getnnz(axis=0), 1)
        values.data -= np.repeat(means, np.diff(values.indptr))
    per_user = ratings.getnnz(axis=1)
    weight = np.where(per_user > 0, np.log(len(warm) / np.maximum(per_user, 1)), 0.0) if inverse_user_frequency \
        else np.ones(n_users)
    dense = (sp.diags(np.sqrt(weight)) @ values).toarray().astype(np.float32)
    rated = (ratings[:, warm] != 0).toarray().astype(np.float32) if shrinkage else None
    norms = np.linalg.norm(dense, axis=0)
    norms[norms == 0] = np.inf
    inverse = (1.0 / norms).astype(np.float32)
    m = min(n_neighbours, len(warm) - 1)
    rows, cols, vals = [], [], []
    for start in range(0, len(warm), block_size):
        block = np.arange(start, min(start + block_size, len(warm)))
        sim = (dense[:, block].T @ dense) * inverse[block, None] * inverse[None, :]
        if rated is not None:
            common = rated[:, block].T @ rated
            sim *= common / (common + shrinkage)
        sim[np.arange(len(block)), block] = -np.inf
        if m <= 0:
            continue
        nearest = np.argpartition(-sim, m - 1, axis=1)[:, :m]
        best = np.take_along_axis(sim, nearest, axis=1)
        keep = best > 0
        rows.append(np.repeat(warm[block], m)[keep.ravel()])
        cols.append(warm[nearest][keep])
        vals.append(best[keep].astype(np.float64))
    if not rows:
        return sp.csr_matrix((n_items, n_items))
    return sp.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                         shape=(n_items, n_items))


class ItemKNN(Recommender):
    """Item-item CF: score(u, j) = sum over the user's rated items i of w_ui * sim(i, j), where w_ui is the rating
    (cosine) or the rating minus the user's mean (pearson), times 0.5 ** (age / half-life), age measured from the
    user's latest rating. Rating predictions are the similarity-weighted average of the same terms (similarities
    are kept positive, so the weights are too). Items without training ratings take part through `bridge_`."""

    def __init__(self, similarity: str = "cosine", n_neighbours: int = 50, shrinkage: float = 10.0,
                 half_life_days: float | None = None, inverse_user_frequency: bool = True,
                 cold_item_neighbours: int = 20):
        self.similarity = similarity
        self.n_neighbours = n_neighbours
        self.shrinkage = shrinkage
        self.half_life_days = half_life_days
        self.inverse_user_frequency = inverse_user_frequency
        self.cold_item_neighbours = cold_item_neighbours

    def fit(self, X: Interactions) -> Self:
        if self.similarity not in ("cosine", "pearson"):
            raise ValueError(f"similarity must be 'cosine' or 'pearson', got {self.similarity!r}")
        self._fit_fallback(X)
        self.similarity_ = item_similarities(
            X.ratings, similarity=self.similarity, n_neighbours=self.n_neighbours, shrinkage=self.shrinkage,
            inverse_user_frequency=self.inverse_user_frequency)
        self.bridge_ = borrow_map(X.catalogue, self.popularity_ > 0, self.cold_item_neighbours)
        return self

    def _aggregate(self, per_rating: sp.csr_matrix) -> np.ndarray:
        """per_rating @ B.T @ S @ B (B = `bridge_`): sums over the history with cold items bridged in both roles,
        without materialising the bridged similarity matrix (whose cold columns would be nearly dense)."""
        return ((per_rating @ self.bridge_.T) @ self.similarity_ @ self.bridge_).toarray()

    def _weights(self, history: Interactions) -> tuple[sp.csr_matrix, sp.csr_matrix, np.ndarray]:
        """(decay, decay * centred-or-raw rating, the user baseline added back to predictions)."""
        means = user_means(history, self.global_mean_)
        age = age_since_last(history)
        weight = age.copy()
        weight.data = decay(age.data, self.half_life_days)
        terms = history.ratings.copy()
        if self.similarity == "pearson":
            terms.data -= np.repeat(means, history.counts())
            baseline = means
        else:
            baseline = np.zeros(history.n_users)
        terms.data *= weight.data
        return weight, terms, baseline

    def score(self, history: Interactions) -> np.ndarray:
        _, terms, _ = self._weights(history)
        return self._aggregate(terms)

    def predict(self, history: Interactions, rows: np.ndarray, items: np.ndarray) -> np.ndarray:
        """Predicted rating of catalogue item `items[n]` by user `rows[n]`, clipped to 0.5..5; the user's mean
        when no neighbour of the item is in the history or the item is unknown (-1)."""
        weight, terms, baseline = self._weights(history)
        means = user_means(history, self.global_mean_)
        known = items >= 0
        safe = np.where(known, items, 0)
        num = self._aggregate(terms)[rows, safe]
        den = self._aggregate(weight)[rows, safe]
        ok = known & (den > 0)
        pred = np.where(ok, baseline[rows] + num / np.where(ok, den, 1.0), means[rows])
        return np.clip(pred, 0.5, 5.0)
