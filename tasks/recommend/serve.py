"""Recommendations by raw ids: the boundary where unknown users and items meet the models."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from tasks.recommend.base import Recommender, top_k
from tasks.recommend.data import to_interactions


def recommend_for_users(model: Recommender, ratings: pd.DataFrame, user_ids: Sequence[int], k: int) -> pd.DataFrame:
    """Top-k movieIds for each of `user_ids`, folding in their ratings from `ratings` (other users' rows ignored).

    A user with no rows (an unknown id) or no usable signal gets the training-popularity list (`fallback` True);
    rated items whose id the catalogue does not know are ignored. Columns: user, rank, item, title, score,
    fallback."""
    catalogue = model.catalogue_
    history = to_interactions(ratings, catalogue, user_ids)
    raw = np.asarray(model.score(history), dtype=float)
    fallback = model.no_signal(history, raw)
    scores = model.ready_for_ranking(history, raw)
    recs = top_k(scores, k)
    n = recs.shape[1]
    return pd.DataFrame({
        "user": np.repeat(history.user_ids, n), "rank": np.tile(np.arange(1, n + 1), history.n_users),
        "item": catalogue.item_ids[recs.ravel()], "title": catalogue.titles[recs.ravel()],
        "score": np.take_along_axis(scores, recs, axis=1).ravel(), "fallback": np.repeat(fallback, n),
    })
