"""Shilling-attack robustness: inject fake profiles that push one item, retrain, measure how far it moves."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from tasks.recommend.data import Interactions


def choose_target(history: Interactions, seed: int) -> int:
    """Catalogue index of a seeded obscure item: rated by 1 to 3 training users, so every model knows it."""
    counts = np.bincount(history.ratings.indices, minlength=history.catalogue.n_items)
    pool = np.flatnonzero((counts >= 1) & (counts <= 3))
    if not len(pool):
        pool = np.flatnonzero(counts >= 1)
    return int(np.random.default_rng(seed).choice(pool))


def inject_shilling(history: Interactions, target: int, n_profiles: int, n_filler: int, seed: int) -> Interactions:
    """`history` plus `n_profiles` fake users (a random attack, Lam & Riedl 2004): each rates `target` 5 and
    `n_filler` distinct items drawn uniformly from the other rated items, with ratings drawn from a normal with the
    mean and spread of all real ratings, rounded to the half-star scale; all at the latest training time. Fake users
    get ids above every real one."""
    rng = np.random.default_rng(seed)
    rated = np.flatnonzero(np.bincount(history.ratings.indices, minlength=history.catalogue.n_items) > 0)
    rated = rated[rated != target]
    n_filler = min(n_filler, len(rated))
    filler = rated[np.argsort(rng.random((n_profiles, len(rated))), axis=1)[:, :n_filler]]
    values = history.ratings.data
    filler_ratings = np.clip(np.round(rng.normal(values.mean(), values.std(), filler.shape) * 2) / 2, 0.5, 5.0)
    cols = np.column_stack([np.full(n_profiles, target), filler])
    data = np.column_stack([np.full(n_profiles, 5.0), filler_ratings])
    rows = np.repeat(np.arange(n_profiles), cols.shape[1])
    shape = (n_profiles, history.catalogue.n_items)
    fake = sp.csr_matrix((data.ravel(), (rows, cols.ravel())), shape=shape)
    fake_days = sp.csr_matrix((np.full(rows.size, history.days.data.max()), (rows, cols.ravel())), shape=shape)
    fake.sort_indices()
    fake_days.sort_indices()
    first_id = int(history.user_ids.max()) + 1 if history.n_users else 0
    return Interactions(
        user_ids=np.concatenate([history.user_ids, np.arange(first_id, first_id + n_profiles)]),
        ratings=sp.vstack([history.ratings, fake], format="csr"),
        days=sp.vstack([history.days, fake_days], format="csr"),
        catalogue=history.catalogue,
    )


def target_ranks(scores: np.ndarray, target: int) -> np.ndarray:
    """1-based rank of `target` in each row of `scores`, ties counted against it."""
    own = scores[:, [target]]
    return (scores > own).sum(axis=1) + (scores == own).sum(axis=1)


def attack_effect(before: np.ndarray, after: np.ndarray, target: int, eligible: np.ndarray,
                  top_n: int) -> dict[str, float]:
    """How the target moved for the `eligible` users (those who had not rated it), given ranking scores before
    and after the attack: median ranks, mean rank gain (positive = moved up), share with it in their top-N."""
    rank_before = target_ranks(before[eligible], target)
    rank_after = target_ranks(after[eligible], target)
    return {
        "users": int(eligible.sum()),
        "median_rank_before": float(np.median(rank_before)), "median_rank_after": float(np.median(rank_after)),
        "mean_rank_gain": float(np.mean(rank_before - rank_after)),
        f"share_top{top_n}_before": float(np.mean(rank_before <= top_n)),
        f"share_top{top_n}_after": float(np.mean(rank_after <= top_n)),
    }
