"""Unsupervised estimators for the evaluation report: clustering and decomposition of a problem's features.

Each is a scikit-learn estimator fitted (after the shared preprocessing) on the training features, target unused,
and exposes `summary()`: a JSON-serialisable dict of what the report shows (inertia and silhouette by k, chosen k,
explained variance, reconstruction error). Silhouette scores use a seeded sample of rows to stay cheap.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClusterMixin, TransformerMixin
from sklearn.cluster import AgglomerativeClustering, KMeans
from sklearn.decomposition import PCA, TruncatedSVD
from sklearn.metrics import silhouette_score
from sklearn.neighbors import KNeighborsClassifier
from sklearn.utils.validation import check_is_fitted, validate_data


def _silhouette(x: np.ndarray, labels: np.ndarray, sample_size: int, random_state: int) -> float | None:
    """Silhouette on at most `sample_size` rows; None when it is undefined (one cluster, or one row per cluster)."""
    if not 2 <= len(np.unique(labels)) < len(x):
        return None
    return round(float(silhouette_score(x, labels, sample_size=min(sample_size, len(x)),
                                        random_state=random_state)), 6)


def elbow(ks: Sequence[int], inertias: Sequence[float]) -> int:
    """The knee of a decreasing inertia curve: the k farthest below the chord joining its two ends, both axes
    scaled to [0, 1]. With fewer than three k values, the first."""
    if len(ks) < 3 or inertias[0] == inertias[-1]:
        return int(ks[0])
    k, inertia = np.asarray(ks, dtype=np.float64), np.asarray(inertias, dtype=np.float64)
    x = (k - k[0]) / (k[-1] - k[0])
    y = (inertia - inertia[-1]) / (inertia[0] - inertia[-1])
    return int(ks[int(np.argmax((1.0 - x) - y))])


def _sizes(labels: np.ndarray) -> dict[str, int]:
    values, counts = np.unique(labels, return_counts=True)
    return {str(v): int(c) for v, c in zip(values, counts, strict=True)}


class KMeansSelect(ClusterMixin, TransformerMixin, BaseEstimator):
    """k-means (k-means++ initialisation) fitted for every k in `k_range` (inclusive bounds); keeps the k chosen
    by `selection`: "silhouette" (highest mean silhouette) or "elbow" (knee of the inertia curve)."""

    def __init__(self, k_range: Sequence[int] = (2, 10), selection: str = "silhouette", n_init: int = 4,
                 silhouette_sample_size: int = 2000, random_state: int = 0):
        self.k_range = k_range
        self.selection = selection
        self.n_init = n_init
        self.silhouette_sample_size = silhouette_sample_size
        self.random_state = random_state

    def fit(self, X: Any, y: Any = None) -> KMeansSelect:
        if self.selection not in ("silhouette", "elbow"):
            raise ValueError(f"selection={self.selection!r}; expected 'silhouette' or 'elbow'")
        x = validate_data(self, X, dtype=np.float64)
        low, high = int(self.k_range[0]), int(self.k_range[1])
        if not 2 <= low <= high < len(x):
            raise ValueError(f"k_range={list(self.k_range)} must satisfy 2 <= low <= high < n_samples "
                             f"(n_samples={len(x)})")
        models = {k: KMeans(k, init="k-means++", n_init=self.n_init, random_state=self.random_state).fit(x)
                  for k in range(low, high + 1)}
        self.inertia_by_k_ = {k: float(m.inertia_) for k, m in models.items()}
        self.silhouette_by_k_ = {k: _silhouette(x, m.labels_, self.silhouette_sample_size, self.random_state)
                                 for k, m in models.items()}
        self.elbow_k_ = elbow(list(self.inertia_by_k_), list(self.inertia_by_k_.values()))
        scored = {k: s for k, s in self.silhouette_by_k_.items() if s is not None}
        self.silhouette_k_ = max(scored, key=scored.get) if scored else self.elbow_k_
        self.n_clusters_ = self.silhouette_k_ if self.selection == "silhouette" else self.elbow_k_
        self.model_ = models[self.n_clusters_]
        self.labels_, self.cluster_centers_ = self.model_.labels_, self.model_.cluster_centers_
        return self

    def predict(self, X: Any) -> np.ndarray:
        check_is_fitted(self)
        return self.model_.predict(validate_data(self, X, dtype=np.float64, reset=False))

    def transform(self, X: Any) -> np.ndarray:
        """Distances to the chosen k cluster centres."""
        check_is_fitted(self)
        return self.model_.transform(validate_data(self, X, dtype=np.float64, reset=False))

    def summary(self) -> dict[str, Any]:
        check_is_fitted(self)
        return {
            "algorithm": "kmeans",
            "selection": self.selection,
            "chosen_k": self.n_clusters_,
            "elbow_k": self.elbow_k_,
            "silhouette_k": self.silhouette_k_,
            "inertia_by_k": {str(k): round(v, 6) for k, v in self.inertia_by_k_.items()},
            "silhouette_by_k": {str(k): v for k, v in self.silhouette_by_k_.items()},
            "cluster_sizes": _sizes(self.labels_),
        }


class SampledAgglomerative(ClusterMixin, BaseEstimator):
    """Agglomerative clustering (`linkage` ward|complete|average|single) of at most `max_samples` seeded training
    rows, since its memory grows with the square of the rows; every other row, at fit or predict time, joins the
    cluster of its nearest clustered row."""

    def __init__(self, n_clusters: int = 4, linkage: str = "ward", max_samples: int = 3000,
                 silhouette_sample_size: int = 2000, random_state: int = 0):
        self.n_clusters = n_clusters
        self.linkage = linkage
        self.max_samples = max_samples
        self.silhouette_sample_size = silhouette_sample_size
        self.random_state = random_state

    def fit(self, X: Any, y: Any = None) -> SampledAgglomerative:
        x = validate_data(self, X, dtype=np.float64)
        rows = np.random.default_rng(self.random_state).permutation(len(x))[: self.max_samples]
        sample_labels = AgglomerativeClustering(self.n_clusters, linkage=self.linkage).fit_predict(x[rows])
        self.nearest_ = KNeighborsClassifier(n_neighbors=1).fit(x[rows], sample_labels)
        self.labels_ = self.nearest_.predict(x)
        self.fitted_rows_ = len(rows)
        self.silhouette_ = _silhouette(x, self.labels_, self.silhouette_sample_size, self.random_state)
        return self

    def predict(self, X: Any) -> np.ndarray:
        check_is_fitted(self)
        return self.nearest_.predict(validate_data(self, X, dtype=np.float64, reset=False))

    def summary(self) -> dict[str, Any]:
        check_is_fitted(self)
        return {
            "algorithm": "agglomerative",
            "linkage": self.linkage,
            "n_clusters": self.n_clusters,
            "clustered_rows": self.fitted_rows_,
            "silhouette": self.silhouette_,
            "cluster_sizes": _sizes(self.labels_),
        }


class VariancePCA(TransformerMixin, BaseEstimator):
    """PCA keeping the fewest components whose cumulative explained variance ratio reaches `variance_threshold`;
    the full explained-variance curve is kept for the report."""

    def __init__(self, variance_threshold: float = 0.9, random_state: int = 0):
        self.variance_threshold = variance_threshold
        self.random_state = random_state

    def fit(self, X: Any, y: Any = None) -> VariancePCA:
        if not 0 < self.variance_threshold <= 1:
            raise ValueError(f"variance_threshold={self.variance_threshold}; expected a fraction in (0, 1]")
        x = validate_data(self, X, dtype=np.float64)
        self.pca_ = PCA(random_state=self.random_state).fit(x)
        cumulative = np.cumsum(self.pca_.explained_variance_ratio_)
        self.n_components_ = int(min(np.searchsorted(cumulative, self.variance_threshold - 1e-12) + 1,
                                     len(cumulative)))
        return self

    def transform(self, X: Any) -> np.ndarray:
        check_is_fitted(self)
        return self.pca_.transform(validate_data(self, X, dtype=np.float64, reset=False))[:, : self.n_components_]

    def summary(self) -> dict[str, Any]:
        check_is_fitted(self)
        ratio = self.pca_.explained_variance_ratio_
        return {
            "algorithm": "pca",
            "variance_threshold": self.variance_threshold,
            "n_components": self.n_components_,
            "explained_variance": round(float(ratio[: self.n_components_].sum()), 6),
            "explained_variance_ratio": [round(float(v), 6) for v in ratio],
            "cumulative_explained_variance": [round(float(v), 6) for v in np.cumsum(ratio)],
        }


class RankSVD(TransformerMixin, BaseEstimator):
    """Truncated SVD of rank `rank` (no centring), with the relative reconstruction error
    ||X - X_r||_F / ||X||_F of every rank r = 1..rank, where X_r projects X on the first r right singular vectors."""

    def __init__(self, rank: int = 10, n_iter: int = 5, random_state: int = 0):
        self.rank = rank
        self.n_iter = n_iter
        self.random_state = random_state

    def fit(self, X: Any, y: Any = None) -> RankSVD:
        x = validate_data(self, X, dtype=np.float64)
        self.svd_ = TruncatedSVD(self.rank, n_iter=self.n_iter, random_state=self.random_state).fit(x)
        captured = np.cumsum(((x @ self.svd_.components_.T) ** 2).sum(axis=0))
        total = float((x**2).sum()) or 1.0
        self.reconstruction_error_by_rank_ = np.sqrt(np.clip(1.0 - captured / total, 0.0, None))
        self.reconstruction_error_ = float(self.reconstruction_error_by_rank_[-1])
        return self

    def transform(self, X: Any) -> np.ndarray:
        check_is_fitted(self)
        return self.svd_.transform(validate_data(self, X, dtype=np.float64, reset=False))

    def summary(self) -> dict[str, Any]:
        check_is_fitted(self)
        return {
            "algorithm": "truncated_svd",
            "rank": self.rank,
            "reconstruction_error": round(self.reconstruction_error_, 6),
            "reconstruction_error_by_rank": {str(r + 1): round(float(e), 6)
                                             for r, e in enumerate(self.reconstruction_error_by_rank_)},
            "explained_variance_ratio": [round(float(v), 6) for v in self.svd_.explained_variance_ratio_],
        }
