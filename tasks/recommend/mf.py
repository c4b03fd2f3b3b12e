"""Matrix factorisation by alternating least squares: explicit ratings with biases, and implicit feedback
(Hu, Koren & Volinsky 2008). Every least-squares step is solved for all users (or items) at once."""

from __future__ import annotations

from typing import Self

import numpy as np
import scipy.sparse as sp

from tasks.recommend.base import Recommender, borrow_map, user_means
from tasks.recommend.data import Interactions


def solve_rows(gram_weights: sp.csr_matrix, rhs: np.ndarray, factors: np.ndarray, reg: np.ndarray | float,
               base_gram: np.ndarray | None = None) -> np.ndarray:
    """x_r = (sum_j w_rj f_j f_j^T + base_gram + diag(reg))^-1 rhs_r for every row r of `gram_weights`, batched.

    The per-row Gram matrices come from one sparse product with the flattened outer products f_j f_j^T
    (memory n_cols x n_factors^2)."""
    f = factors.shape[1]
    outer = (factors[:, :, None] * factors[:, None, :]).reshape(len(factors), f * f)
    gram = np.asarray(gram_weights @ outer).reshape(-1, f, f)
    if base_gram is not None:
        gram += base_gram
    gram[:, np.arange(f), np.arange(f)] += reg
    return np.linalg.solve(gram, rhs[..., None])[..., 0]


def _with_values(pattern: sp.csr_matrix, data: np.ndarray) -> sp.csr_matrix:
    out = pattern.copy()
    out.data = np.asarray(data, dtype=float)
    return out


class _MF(Recommender):
    """Shared by both factorisations: cold items borrow factors from their content neighbours after training."""

    def _borrow(self, X: Interactions, *item_arrays: np.ndarray) -> list[np.ndarray]:
        bridge = borrow_map(X.catalogue, self.popularity_ > 0, self.cold_item_neighbours)
        return [np.asarray(bridge.T @ a) for a in item_arrays]


class ExplicitMF(_MF):
    """rating(u, i) ~ mu + b_u + b_i + p_u . q_i, fitted by ALS on the observed ratings with L2 penalty
    `regularization` on factors and biases. New users are folded in by one user step against fixed items."""

    def __init__(self, n_factors: int = 32, regularization: float = 10.0, n_iterations: int = 12,
                 cold_item_neighbours: int = 20, random_state: int | None = None):
        self.n_factors = n_factors
        self.regularization = regularization
        self.n_iterations = n_iterations
        self.cold_item_neighbours = cold_item_neighbours
        self.random_state = random_state

    def fit(self, X: Interactions) -> Self:
        self._fit_fallback(X)
        rng = np.random.default_rng(self.random_state)
        items_by_user = X.ratings.T.tocsr()
        observed = _with_values(items_by_user, np.ones(items_by_user.nnz))
        self.item_factors_ = rng.normal(0.0, 0.1, (X.catalogue.n_items, self.n_factors))
        self.item_bias_ = np.zeros(X.catalogue.n_items)
        for _ in range(self.n_iterations):
            users, user_bias = self._fold_in(X)
            residual = _with_values(items_by_user, items_by_user.data - self.global_mean_
                                    - user_bias[items_by_user.indices])
            design = np.column_stack([users, np.ones(len(users))])
            solved = solve_rows(observed, residual @ design, design, self.regularization)
            self.item_factors_, self.item_bias_ = solved[:, :-1], solved[:, -1]
        self.item_factors_, self.item_bias_ = self._borrow(X, self.item_factors_, self.item_bias_)
        return self

    def _fold_in(self, history: Interactions) -> tuple[np.ndarray, np.ndarray]:
        """User factors and biases given the item side (zeros for an empty history)."""
        ratings = history.ratings
        residual = _with_values(ratings, ratings.data - self.global_mean_ - self.item_bias_[ratings.indices])
        design = np.column_stack([self.item_factors_, np.ones(len(self.item_factors_))])
        solved = solve_rows(_with_values(ratings, np.ones(ratings.nnz)), residual @ design, design,
                            self.regularization)
        return solved[:, :-1], solved[:, -1]

    def user_factors(self, history: Interactions) -> np.ndarray:
        """User factors (without biases) given the item side."""
        return self._fold_in(history)[0]

    def score(self, history: Interactions) -> np.ndarray:
        users, user_bias = self._fold_in(history)
        return self.global_mean_ + user_bias[:, None] + self.item_bias_[None, :] + users @ self.item_factors_.T

    def predict(self, history: Interactions, rows: np.ndarray, items: np.ndarray) -> np.ndarray:
        """Predicted rating of catalogue item `items[n]` by user `rows[n]`, clipped to 0.5..5; the user's mean
        rating for an unknown item (-1)."""
        users, user_bias = self._fold_in(history)
        known = items >= 0
        safe = np.where(known, items, 0)
        pred = (self.global_mean_ + user_bias[rows] + self.item_bias_[safe]
                + np.einsum("nf,nf->n", users[rows], self.item_factors_[safe]))
        return np.clip(np.where(known, pred, user_means(history, self.global_mean_)[rows]), 0.5, 5.0)


class ImplicitMF(_MF):
    """Confidence-weighted ALS for implicit feedback: every (user, item) pair has preference 1 if rated else 0,
    weighted by confidence c = 1 + alpha * rating (1 for unrated pairs); score(u, i) = p_u . q_i."""

    def __init__(self, n_factors: int = 32, regularization: float = 10.0, alpha: float = 2.0,
                 n_iterations: int = 10, cold_item_neighbours: int = 20, random_state: int | None = None):
        self.n_factors = n_factors
        self.regularization = regularization
        self.alpha = alpha
        self.n_iterations = n_iterations
        self.cold_item_neighbours = cold_item_neighbours
        self.random_state = random_state

    def fit(self, X: Interactions) -> Self:
        self._fit_fallback(X)
        rng = np.random.default_rng(self.random_state)
        items_by_user = X.ratings.T.tocsr()
        self.item_factors_ = rng.normal(0.0, 0.1, (X.catalogue.n_items, self.n_factors))
        for _ in range(self.n_iterations):
            users = self.user_factors(X)
            self.item_factors_ = self._solve(items_by_user, users)
        (self.item_factors_,) = self._borrow(X, self.item_factors_)
        return self

    def _solve(self, ratings: sp.csr_matrix, fixed: np.ndarray) -> np.ndarray:
        confidence = _with_values(ratings, 1.0 + self.alpha * ratings.data)
        extra = _with_values(ratings, self.alpha * ratings.data)
        return solve_rows(extra, confidence @ fixed, fixed, self.regularization, base_gram=fixed.T @ fixed)

    def user_factors(self, history: Interactions) -> np.ndarray:
        """User factors given the item side (zeros for an empty history)."""
        return self._solve(history.ratings, self.item_factors_)

    def score(self, history: Interactions) -> np.ndarray:
        return self.user_factors(history) @ self.item_factors_.T
