"""Offline recommendation metrics over top-k lists and graded relevance.

Conventions: `recs` is (n_users x >=k) catalogue indices, best first; `relevance` is (n_users x n_items) grades,
0 = not relevant. Precision, recall, MAP and MRR use relevance > 0; NDCG uses the gain 2**grade - 1 with a log2
position discount. Users without any relevant item are left out of the means (NaN per user).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from scipy.stats import rankdata


def relevance_grades(ratings: np.ndarray, min_rating: float) -> np.ndarray:
    """Graded relevance of held-out ratings: 0 below `min_rating`, then 1..4 in equal steps up to 5 stars
    (min_rating 3: 3 and 3.5 -> 1, 4 -> 2, 4.5 -> 3, 5 -> 4)."""
    ratings = np.asarray(ratings, dtype=float)
    step = (5.0 - min_rating + 0.5) / 4.0
    return np.where(ratings >= min_rating, 1 + np.floor((ratings - min_rating) / step), 0).astype(np.int64)


def relevance_matrix(targets: sp.csr_matrix, min_rating: float) -> np.ndarray:
    """Dense grades (n_users x n_items) from a sparse matrix of held-out ratings."""
    grades = targets.copy()
    grades.data = relevance_grades(grades.data, min_rating).astype(float)
    return grades.toarray()


def _hits(recs: np.ndarray, relevance: np.ndarray, k: int) -> np.ndarray:
    return np.take_along_axis(relevance, recs[:, :k], axis=1)


def _per_user(values: np.ndarray, relevance: np.ndarray) -> np.ndarray:
    return np.where((relevance > 0).any(axis=1), values, np.nan)


def precision_at_k(recs: np.ndarray, relevance: np.ndarray, k: int) -> np.ndarray:
    return _per_user((_hits(recs, relevance, k) > 0).sum(axis=1) / k, relevance)


def recall_at_k(recs: np.ndarray, relevance: np.ndarray, k: int) -> np.ndarray:
    n_relevant = np.maximum((relevance > 0).sum(axis=1), 1)
    return _per_user((_hits(recs, relevance, k) > 0).sum(axis=1) / n_relevant, relevance)


def ndcg_at_k(recs: np.ndarray, relevance: np.ndarray, k: int) -> np.ndarray:
    discount = 1.0 / np.log2(np.arange(2, k + 2))
    dcg = ((2.0 ** _hits(recs, relevance, k) - 1) * discount[: min(k, recs.shape[1])]).sum(axis=1)
    ideal = -np.sort(-relevance, axis=1)[:, :k]
    idcg = ((2.0 ** ideal - 1) * discount[: ideal.shape[1]]).sum(axis=1)
    return _per_user(dcg / np.where(idcg > 0, idcg, 1.0), relevance)


def average_precision_at_k(recs: np.ndarray, relevance: np.ndarray, k: int) -> np.ndarray:
    """AP@k = sum over relevant positions i <= k of precision@i, divided by min(k, number relevant)."""
    hit = _hits(recs, relevance, k) > 0
    precision_at_i = np.cumsum(hit, axis=1) / np.arange(1, hit.shape[1] + 1)
    n_relevant = np.minimum((relevance > 0).sum(axis=1), k)
    return _per_user((precision_at_i * hit).sum(axis=1) / np.maximum(n_relevant, 1), relevance)


def reciprocal_rank(recs: np.ndarray, relevance: np.ndarray, k: int) -> np.ndarray:
    """1 / position of the first relevant item within the top k; 0 when there is none."""
    hit = _hits(recs, relevance, k) > 0
    first = np.where(hit.any(axis=1), hit.argmax(axis=1) + 1, np.inf)
    return _per_user(1.0 / first, relevance)


def ranking_metrics(recs: np.ndarray, relevance: np.ndarray, k: int) -> dict[str, float]:
    """Means over users with at least one relevant item: precision@k, recall@k, ndcg@k, map@k, mrr@k."""
    per_user = {
        f"precision@{k}": precision_at_k(recs, relevance, k), f"recall@{k}": recall_at_k(recs, relevance, k),
        f"ndcg@{k}": ndcg_at_k(recs, relevance, k), f"map@{k}": average_precision_at_k(recs, relevance, k),
        f"mrr@{k}": reciprocal_rank(recs, relevance, k),
    }
    evaluated = int((relevance > 0).any(axis=1).sum())
    return {**{name: float(np.nanmean(v)) if evaluated else float("nan") for name, v in per_user.items()},
            "users_evaluated": evaluated}


def rmse(predicted: np.ndarray, actual: np.ndarray) -> float:
    return float(np.sqrt(np.mean((np.asarray(predicted) - np.asarray(actual)) ** 2)))


def coverage(recs: np.ndarray, n_items: int) -> float:
    """Share of the catalogue that appears in at least one list."""
    return len(np.unique(recs)) / n_items


def popularity_percentiles(counts: np.ndarray) -> np.ndarray:
    """Each item's popularity percentile in the catalogue, 0..1 (ties share their mean rank)."""
    return (rankdata(counts) - 0.5) / len(counts)


def popularity_bias(recs: np.ndarray, history: sp.csr_matrix, percentiles: np.ndarray) -> dict[str, float]:
    """Mean popularity percentile of recommended items, of the users' own rated items, and their ratio (> 1: the
    lists are more mainstream than the users themselves, an echo-chamber signal). The catalogue mean is 0.5."""
    recommended = float(percentiles[recs].mean())
    own = float(percentiles[history.indices].mean()) if history.nnz else float("nan")
    return {"popularity_percentile": recommended, "history_popularity_percentile": own,
            "popularity_lift": recommended / own if own else float("nan")}
