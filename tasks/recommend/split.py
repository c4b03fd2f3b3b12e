"""Time-based splits: nothing a model is fitted on happens after what it is evaluated on.

Two rules, both by time and never at random:

* Held-out users are the newest users (latest first rating). The cut-off is the first rating of the earliest of
  them; training users' ratings at or after it are dropped, so every rating a model is fitted on precedes every
  rating of a held-out user. (A global cut-off alone leaves ~22 of 671 users with ratings on both sides, because
  most users rate in one session; holding out the newest users keeps 134 evaluable users and the same guarantee.)
* Per user, the latest `test_fraction` of ratings are the targets and the earlier ones the profile/history
  (ties in time are ordered by item id and may straddle the boundary; no target precedes a history rating).

Training users' targets label the learning-to-rank stage; held-out users' targets evaluate every family, with
either their whole profile (warm) or only its first few ratings (cold start).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class Split:
    train_history: pd.DataFrame     # training users' earlier ratings: every model is fitted on these
    train_targets: pd.DataFrame     # training users' latest ratings: labels of the ranker
    heldout_profile: pd.DataFrame   # held-out users' earlier ratings: what a model sees of them
    heldout_targets: pd.DataFrame   # held-out users' latest ratings: what every family is evaluated on
    cold_profile: pd.DataFrame      # the first `cold_start_profile` ratings of each held-out user
    cutoff: int                     # Unix time: training ratings < cutoff <= held-out users' ratings
    dropped_after_cutoff: int       # training users' ratings removed because they follow the cut-off


def split_latest(frame: pd.DataFrame, fraction: float) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per user, (earlier, latest): the latest round(fraction * n) ratings, at least one when n >= 2."""
    ordered = frame.sort_values(["user", "timestamp", "item"], kind="stable")
    n = ordered.groupby("user")["item"].transform("size").to_numpy()
    n_latest = np.where(n >= 2, np.maximum(1, np.round(fraction * n)), 0)
    latest = ordered.groupby("user").cumcount().to_numpy() >= n - n_latest
    return ordered[~latest].reset_index(drop=True), ordered[latest].reset_index(drop=True)


def first_ratings(frame: pd.DataFrame, n: int) -> pd.DataFrame:
    """Each user's first `n` ratings in time."""
    ordered = frame.sort_values(["user", "timestamp", "item"], kind="stable")
    return ordered[ordered.groupby("user").cumcount() < n].reset_index(drop=True)


def temporal_split(frame: pd.DataFrame, heldout_user_fraction: float, test_fraction: float,
                   cold_start_profile: int) -> Split:
    """Hold out the newest users entirely, cut training at their arrival, then split every user by time."""
    first_seen = frame.groupby("user")["timestamp"].min().reset_index().sort_values(["timestamp", "user"])
    n_heldout = max(1, int(round(heldout_user_fraction * len(first_seen))))
    heldout_users = first_seen["user"].to_numpy()[-n_heldout:]
    cutoff = int(first_seen["timestamp"].to_numpy()[-n_heldout])
    is_heldout = frame["user"].isin(heldout_users)
    train = frame[~is_heldout]
    kept = train[train["timestamp"] < cutoff]
    train_history, train_targets = split_latest(kept, test_fraction)
    heldout_profile, heldout_targets = split_latest(frame[is_heldout], test_fraction)
    return Split(
        train_history=train_history, train_targets=train_targets, heldout_profile=heldout_profile,
        heldout_targets=heldout_targets, cold_profile=first_ratings(heldout_profile, cold_start_profile),
        cutoff=cutoff, dropped_after_cutoff=len(train) - len(kept),
    )
