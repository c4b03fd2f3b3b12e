"""Position bias in learning to rank: clicks simulated from a logged ranking under a position-based examination
model, and the inverse propensity weights that undo it (Joachims, Swaminathan and Schnabel, 2017).

A user examines the item at rank r with propensity (1 / r) ** eta and clicks it when it is examined and relevant,
so clicks under-count relevant items far down the logged list. Weighting each click by 1 / propensity makes the
expected weighted clicks of an item equal to its relevance, whatever its logged rank.
"""

from __future__ import annotations

import numpy as np


def examination_propensity(n_positions: int, eta: float) -> np.ndarray:
    """P(examined) at ranks 1..n: (1 / rank) ** eta (eta = 0: no position bias)."""
    if eta < 0:
        raise ValueError(f"eta={eta}; expected eta >= 0")
    return (1.0 / np.arange(1, n_positions + 1)) ** eta


def simulate_clicks(relevance: np.ndarray, eta: float, seed: int, sessions: int = 1
                    ) -> tuple[np.ndarray, np.ndarray]:
    """(clicks, propensities) for relevance rows in logged order (n_queries x n_positions, > 0 = relevant).

    A click is a relevant item examined in at least one of `sessions` independent views of the same list, so its
    propensity is 1 - (1 - p) ** sessions; examination is a seeded Bernoulli draw per (query, position)."""
    if sessions < 1:
        raise ValueError(f"sessions={sessions}; expected at least 1")
    once = examination_propensity(relevance.shape[1], eta)
    propensity = np.broadcast_to(1.0 - (1.0 - once) ** sessions, relevance.shape)
    examined = np.random.default_rng(seed).random(relevance.shape) < propensity
    return (examined & (relevance > 0)).astype(np.int32), propensity


def ipw_weights(clicks: np.ndarray, propensity: np.ndarray, min_propensity: float) -> np.ndarray:
    """1 / propensity for clicked items (propensities clipped at `min_propensity` to bound the variance), 1
    otherwise."""
    if not 0 < min_propensity <= 1:
        raise ValueError(f"min_propensity={min_propensity}; expected 0 < min_propensity <= 1")
    return np.where(clicks > 0, 1.0 / np.maximum(propensity, min_propensity), 1.0)
