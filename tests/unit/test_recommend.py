"""Unit tests of the recommend stage on tiny, hand-checkable inputs (no MovieLens, no network)."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from sklearn.base import clone

from tasks.core.errors import ConfigError, DataError
from tasks.core.recommend_config import parse_recommend_config
from tasks.recommend.attack import attack_effect, inject_shilling, target_ranks
from tasks.recommend.base import top_k
from tasks.recommend.content import ContentRecommender
from tasks.recommend.data import Interactions, build_catalogue, to_interactions, validate_ratings
from tasks.recommend.knn import ItemKNN, item_similarities
from tasks.recommend.metrics import (
    average_precision_at_k,
    coverage,
    ndcg_at_k,
    popularity_bias,
    precision_at_k,
    ranking_metrics,
    recall_at_k,
    reciprocal_rank,
    relevance_grades,
)
from tasks.recommend.mf import ExplicitMF, ImplicitMF, solve_rows
from tasks.recommend.popularity import Popularity
from tasks.recommend.ranking import LtrRanker
from tasks.recommend.serve import recommend_for_users
from tasks.recommend.split import temporal_split

DAY = 86_400
GENRES = ["Action", "Comedy", "Drama", "Sci-Fi"]
CONTRACT = {"invalid_rows": "raise", "valid_from": date(1995, 1, 1), "valid_until": date(2017, 1, 1)}


def make_ratings(n_users: int = 40, n_items: int = 30, seed: int = 0) -> pd.DataFrame:
    """Synthetic MovieLens-shaped ratings: users start on different days and rate 6-14 items over a month."""
    rng = np.random.default_rng(seed)
    rows = []
    for user in range(1, n_users + 1):
        items = rng.choice(n_items, size=rng.integers(6, 15), replace=False) + 1
        start = 900_000_000 + user * 10 * DAY
        times = start + np.sort(rng.choice(30 * DAY, size=len(items), replace=False))
        rows += [(user, int(i), rng.integers(1, 11) / 2, int(t)) for i, t in zip(items, times, strict=True)]
    frame = pd.DataFrame(rows, columns=["user", "item", "rating", "timestamp"])
    meta = pd.DataFrame({"item": np.arange(1, n_items + 1)})
    meta["title"] = [f"Movie {i}" for i in meta["item"]]
    meta["year"] = 1970.0 + meta["item"]
    meta["genres"] = [GENRES[i % 4] + (f"|{GENRES[(i + 1) % 4]}" if i % 3 == 0 else "") for i in meta["item"]]
    return frame.merge(meta, on="item")


def frame_of(rows: list[tuple]) -> pd.DataFrame:
    """A ratings frame with item metadata from (user, item, rating, day) tuples."""
    frame = pd.DataFrame(rows, columns=["user", "item", "rating", "day"])
    frame["timestamp"] = 900_000_000 + frame.pop("day") * DAY
    return frame.assign(title=[f"Movie {i}" for i in frame["item"]], year=2000.0,
                        genres=[GENRES[i % 4] for i in frame["item"]])


@pytest.fixture(scope="module")
def ratings() -> pd.DataFrame:
    return validate_ratings(make_ratings(), **CONTRACT)[0]


@pytest.fixture(scope="module")
def train(ratings: pd.DataFrame) -> Interactions:
    return to_interactions(ratings, build_catalogue(ratings))


@pytest.fixture(scope="module")
def fitted(train: Interactions) -> dict:
    return {
        "popularity": Popularity().fit(train), "popularity_decay": Popularity(half_life_days=10.0).fit(train),
        "content": ContentRecommender().fit(train), "itemknn": ItemKNN(n_neighbours=10).fit(train),
        "itemknn_pearson": ItemKNN("pearson", half_life_days=5.0).fit(train),
        "mf_explicit": ExplicitMF(n_factors=4, n_iterations=5, random_state=0).fit(train),
        "mf_implicit": ImplicitMF(n_factors=4, n_iterations=5, random_state=0).fit(train),
    }


# --- metrics against hand computations -------------------------------------------------------------------------

RECS = np.array([[0, 1, 2, 3], [4, 3, 2, 1]])
RELEVANCE = np.array([[0, 2, 0, 1, 0],    # user 0: item 1 grade 2, item 3 grade 1; hits at positions 2 and 4
                      [1, 0, 0, 0, 0]])   # user 1: only item 0 is relevant and it is not recommended


def test_precision_recall_at_k_by_hand():
    assert precision_at_k(RECS, RELEVANCE, 4).tolist() == [2 / 4, 0.0]
    assert recall_at_k(RECS, RELEVANCE, 4).tolist() == [2 / 2, 0.0]
    assert precision_at_k(RECS, RELEVANCE, 2).tolist() == [1 / 2, 0.0]
    assert recall_at_k(RECS, RELEVANCE, 2).tolist() == [1 / 2, 0.0]


def test_ndcg_at_k_by_hand():
    dcg = (2**2 - 1) / np.log2(3) + (2**1 - 1) / np.log2(5)     # grade 2 at rank 2, grade 1 at rank 4
    ideal = (2**2 - 1) / np.log2(2) + (2**1 - 1) / np.log2(3)   # grade 2 at rank 1, grade 1 at rank 2
    np.testing.assert_allclose(ndcg_at_k(RECS, RELEVANCE, 4), [dcg / ideal, 0.0])
    np.testing.assert_allclose(ndcg_at_k(RECS, RELEVANCE, 2), [(3 / np.log2(3)) / ideal, 0.0])
    perfect = np.array([[1, 3, 0, 2]])
    np.testing.assert_allclose(ndcg_at_k(perfect, RELEVANCE[:1], 4), [1.0])


def test_map_and_mrr_by_hand():
    np.testing.assert_allclose(average_precision_at_k(RECS, RELEVANCE, 4), [(1 / 2 + 2 / 4) / 2, 0.0])
    np.testing.assert_allclose(average_precision_at_k(RECS, RELEVANCE, 2), [(1 / 2) / 2, 0.0])
    np.testing.assert_allclose(reciprocal_rank(RECS, RELEVANCE, 4), [1 / 2, 0.0])
    np.testing.assert_allclose(reciprocal_rank(RECS, RELEVANCE, 1), [0.0, 0.0])


def test_users_without_relevant_items_are_left_out_of_the_means():
    relevance = np.vstack([RELEVANCE, np.zeros(5, int)])
    recs = np.vstack([RECS, [[0, 1, 2, 3]]])
    summary = ranking_metrics(recs, relevance, 4)
    assert summary["users_evaluated"] == 2
    assert summary["precision@4"] == pytest.approx((0.5 + 0.0) / 2)
    assert summary["mrr@4"] == pytest.approx(0.25)


def test_relevance_grades_follow_the_documented_table():
    stars = [0.5, 2.5, 3.0, 3.5, 4.0, 4.5, 5.0]
    assert relevance_grades(np.array(stars), 3.0).tolist() == [0, 0, 1, 1, 2, 3, 4]


def test_coverage_and_popularity_bias():
    assert coverage(np.array([[0, 1], [1, 2]]), 10) == pytest.approx(0.3)
    percentiles = np.array([0.1, 0.5, 0.9])
    history = sp.csr_matrix(np.array([[1.0, 0, 0], [0, 4.0, 0]]))
    bias = popularity_bias(np.array([[2], [2]]), history, percentiles)
    assert bias["popularity_percentile"] == pytest.approx(0.9)
    assert bias["history_popularity_percentile"] == pytest.approx(0.3)
    assert bias["popularity_lift"] == pytest.approx(3.0)


# --- data contract and bad input --------------------------------------------------------------------------------

def test_off_scale_ratings_raise_a_data_error_naming_column_and_values():
    frame = make_ratings(5, 20)
    frame.loc[[0, 3], "rating"] = [7.0, 3.25]
    with pytest.raises(DataError, match=r"'rating'.*2 value\(s\).*7\.0, 3\.25"):
        validate_ratings(frame, **CONTRACT)


def test_off_scale_ratings_and_bad_timestamps_are_dropped_and_counted_in_drop_mode():
    frame = make_ratings(5, 20)
    frame.loc[0, "rating"] = 0.0
    frame.loc[1, "rating"] = np.nan
    frame.loc[2, "timestamp"] = 1_600_000_000          # 2020: after valid_until
    clean, report = validate_ratings(frame, **{**CONTRACT, "invalid_rows": "drop"})
    assert report["dropped_invalid_rating"] == 2
    assert report["dropped_invalid_timestamp"] == 1
    assert len(clean) == len(frame) - 3 == report["rows_out"]
    assert clean["rating"].between(0.5, 5).all()


def test_timestamps_out_of_range_and_missing_columns_raise():
    frame = make_ratings(5, 20)
    frame.loc[4, "timestamp"] = 100                     # 1970
    with pytest.raises(DataError, match="'timestamp'"):
        validate_ratings(frame, **CONTRACT)
    with pytest.raises(DataError, match="missing column"):
        validate_ratings(frame.drop(columns="rating"), **CONTRACT)


def test_duplicate_user_item_time_rows_are_dropped_with_a_count_and_rerating_keeps_the_latest():
    frame = make_ratings(5, 20)
    repeated = frame.iloc[[0, 1]]
    rerated = frame.iloc[[2]].assign(rating=1.0, timestamp=frame["timestamp"].iloc[2] + DAY)
    clean, report = validate_ratings(pd.concat([frame, repeated, rerated]), **CONTRACT)
    assert report["dropped_duplicates"] == 2
    assert report["dropped_superseded"] == 1
    assert len(clean) == len(frame)
    row = clean[(clean["user"] == frame["user"].iloc[2]) & (clean["item"] == frame["item"].iloc[2])]
    assert row["rating"].tolist() == [1.0]


# --- time split --------------------------------------------------------------------------------------------------

def test_time_split_never_leaks_future_interactions(ratings: pd.DataFrame):
    split = temporal_split(ratings, heldout_user_fraction=0.25, test_fraction=0.25, cold_start_profile=3)
    train_users = set(split.train_history["user"]) | set(split.train_targets["user"])
    heldout_users = set(split.heldout_profile["user"]) | set(split.heldout_targets["user"])
    assert train_users and heldout_users and not train_users & heldout_users
    first_seen = ratings.groupby("user")["timestamp"].min()
    assert first_seen[list(heldout_users)].min() >= first_seen[list(train_users)].max()
    train_times = pd.concat([split.train_history, split.train_targets])["timestamp"]
    heldout_times = pd.concat([split.heldout_profile, split.heldout_targets])["timestamp"]
    assert train_times.max() < split.cutoff <= heldout_times.min()
    for earlier, later in ((split.train_history, split.train_targets), (split.heldout_profile, split.heldout_targets)):
        bounds = pd.concat([earlier.groupby("user")["timestamp"].max().rename("last_earlier"),
                            later.groupby("user")["timestamp"].min().rename("first_later")], axis=1).dropna()
        assert len(bounds) and (bounds["last_earlier"] <= bounds["first_later"]).all()
    cold = split.cold_profile.merge(split.heldout_profile, on=["user", "item", "timestamp"])
    assert len(cold) == len(split.cold_profile) and split.cold_profile.groupby("user").size().max() <= 3
    kept = sum(len(f) for f in (split.train_history, split.train_targets, split.heldout_profile,
                                split.heldout_targets))
    assert kept + split.dropped_after_cutoff == len(ratings)


# --- fallbacks: unknown ids, empty histories, cold items ---------------------------------------------------------

@pytest.mark.parametrize("name", ["popularity", "popularity_decay", "content", "itemknn", "itemknn_pearson",
                                  "mf_explicit", "mf_implicit"])
def test_empty_history_falls_back_to_popularity(fitted: dict, train: Interactions, name: str):
    model = fitted[name]
    no_rows = pd.DataFrame({"user": [], "item": [], "rating": [], "timestamp": []})
    empty = to_interactions(no_rows, train.catalogue, user_ids=[123_456])
    assert empty.counts().tolist() == [0]
    expected = top_k(model.popularity_[None, :], 5)
    np.testing.assert_array_equal(model.recommend(empty, 5), expected)


def test_unknown_user_id_gets_the_popularity_list_marked_as_fallback(fitted: dict, ratings: pd.DataFrame):
    model = fitted["mf_implicit"]
    known_user = int(ratings["user"].iloc[0])
    out = recommend_for_users(model, ratings, [known_user, 999_999], k=5)
    unknown = out[out["user"] == 999_999]
    assert unknown["fallback"].all() and not out.loc[out["user"] == known_user, "fallback"].any()
    popular = model.catalogue_.item_ids[top_k(model.popularity_[None, :], 5)[0]]
    assert unknown["item"].tolist() == popular.tolist()
    assert set(out.loc[out["user"] == known_user, "item"]).isdisjoint(ratings.loc[ratings["user"] == known_user,
                                                                                   "item"])


def test_unknown_item_ids_in_a_history_are_ignored_and_counted(fitted: dict, ratings: pd.DataFrame):
    user = int(ratings["user"].iloc[0])
    own = ratings[ratings["user"] == user]
    with_unknown = pd.concat([own, own.iloc[[0]].assign(item=10_000_000)])
    history = to_interactions(with_unknown, fitted["itemknn"].catalogue_, [user])
    assert history.n_unknown_items == 1
    for model in fitted.values():
        np.testing.assert_array_equal(
            recommend_for_users(model, with_unknown, [user], 5)["item"],
            recommend_for_users(model, own, [user], 5)["item"])


@pytest.mark.parametrize("name", ["itemknn", "mf_explicit"])
def test_unknown_item_predicts_the_users_mean_rating(fitted: dict, train: Interactions, name: str):
    predicted = fitted[name].predict(train, np.array([0, 0]), np.array([-1, 0]))
    user_mean = train.ratings[0].data.mean()
    assert predicted[0] == pytest.approx(user_mean)
    assert 0.5 <= predicted[1] <= 5.0


def test_cold_items_are_scored_through_their_content_neighbours():
    rows = [(u, i, 4.0, u) for u in range(1, 7) for i in (1, 2, 3)] + [(u, 4, 2.0, u) for u in range(1, 7)]
    frame = frame_of(rows + [(99, 5, 4.0, 30)])         # item 5: only rated by a user outside training
    catalogue = build_catalogue(frame)
    train = to_interactions(frame[frame["user"] != 99], catalogue)
    cold = int(catalogue.codes([5])[0])
    implicit = ImplicitMF(n_factors=2, n_iterations=3, random_state=0).fit(train)
    assert np.abs(implicit.item_factors_[cold]).sum() > 0
    knn = ItemKNN(n_neighbours=3, shrinkage=0.0, inverse_user_frequency=False).fit(train)
    assert knn.similarity_[:, cold].nnz == 0 and knn.bridge_[:, cold].nnz > 0
    history = to_interactions(frame[frame["user"] == 1], catalogue, [1])
    assert knn.score(history)[0, cold] > 0


# --- model behaviour ----------------------------------------------------------------------------------------------

def test_popularity_decay_prefers_recently_rated_items():
    old = [(u, 1, 4.0, 0) for u in range(1, 4)]          # item 1: three ratings on day 0
    recent = [(u, 2, 4.0, 300) for u in range(4, 6)]     # item 2: two ratings on day 300
    frame = frame_of(old + recent)
    train = to_interactions(frame, build_catalogue(frame))
    codes = train.catalogue.codes([1, 2])
    plain = Popularity().fit(train).item_scores_[codes]
    decayed = Popularity(half_life_days=30.0).fit(train).item_scores_[codes]
    assert plain[0] > plain[1] and decayed[1] > decayed[0]
    assert decayed[0] == pytest.approx(3 * 0.5 ** 10)


def test_item_similarities_match_brute_force_cosine():
    rng = np.random.default_rng(1)
    dense = rng.integers(0, 6, size=(12, 7)) * (rng.random((12, 7)) < 0.6) / 1.0
    dense[0, :] = 1.0                                    # every item rated at least once
    sim = item_similarities(sp.csr_matrix(dense), similarity="cosine", n_neighbours=6, shrinkage=0.0,
                            inverse_user_frequency=False).toarray()
    norms = np.linalg.norm(dense, axis=0)
    expected = dense.T @ dense / np.outer(norms, norms)
    np.fill_diagonal(expected, 0.0)
    np.testing.assert_allclose(sim, expected, rtol=1e-5)


def test_item_knn_recommends_the_item_always_rated_with_the_users_item():
    rows = [(u, 1, 5.0, 0) for u in range(1, 9)] + [(u, 2, 5.0, 1) for u in range(1, 9)]
    rows += [(u, i, 3.0, 2) for u in range(1, 9) for i in (3 + u % 4,)]
    rows += [(9, 1, 5.0, 5)]
    frame = frame_of(rows)
    catalogue = build_catalogue(frame)
    model = ItemKNN(n_neighbours=3).fit(to_interactions(frame[frame["user"] != 9], catalogue))
    recs = model.recommend(to_interactions(frame[frame["user"] == 9], catalogue, [9]), 1)
    assert catalogue.item_ids[recs[0, 0]] == 2


def test_solve_rows_matches_per_row_least_squares():
    rng = np.random.default_rng(2)
    factors = rng.normal(size=(6, 3))
    weights = sp.csr_matrix(rng.random((4, 6)) * (rng.random((4, 6)) < 0.7))
    rhs = rng.normal(size=(4, 3))
    solved = solve_rows(weights, rhs, factors, 0.5)
    for r in range(4):
        gram = factors.T @ np.diag(weights[r].toarray().ravel()) @ factors + 0.5 * np.eye(3)
        np.testing.assert_allclose(solved[r], np.linalg.solve(gram, rhs[r]), rtol=1e-8)


def test_explicit_mf_fits_a_low_rank_rating_matrix():
    rng = np.random.default_rng(3)
    truth = np.clip(np.round((3 + rng.normal(size=(25, 2)) @ rng.normal(size=(2, 18)) * 0.6) * 2) / 2, 0.5, 5)
    rows = [(u + 1, i + 1, truth[u, i], u) for u in range(25) for i in range(18)]
    frame = frame_of(rows)
    train = to_interactions(frame, build_catalogue(frame))
    model = ExplicitMF(n_factors=3, regularization=0.1, n_iterations=20, random_state=0).fit(train)
    pairs = train.ratings.tocoo()
    error = np.sqrt(np.mean((model.predict(train, pairs.row, pairs.col) - pairs.data) ** 2))
    assert error < 0.3 < np.std(pairs.data)


@pytest.mark.parametrize("model", [Popularity(half_life_days=3.0), ContentRecommender(year_weight=0.2),
                                   ItemKNN("pearson", n_neighbours=7), ExplicitMF(n_factors=3, random_state=1),
                                   ImplicitMF(alpha=4.0, random_state=1)])
def test_estimators_follow_the_sklearn_contract(model, train: Interactions):
    params = model.get_params()
    assert clone(model).get_params() == params
    assert model.fit(train) is model
    assert model.get_params() == params
    assert any(k.endswith("_") and not k.startswith("_") for k in vars(model))


def test_ranker_reranks_only_unseen_candidates(fitted: dict, ratings: pd.DataFrame, train: Interactions):
    unseen = (train.ratings.toarray() == 0) & (np.random.default_rng(0).random(train.ratings.shape) < 0.3)
    liked = sp.csr_matrix(unseen * 4.5)
    labels = Interactions(train.user_ids, liked, sp.csr_matrix(unseen * 12_000.0), train.catalogue)
    ranker = LtrRanker(fitted["mf_implicit"], {"pop": fitted["popularity"]}, n_candidates=10, n_estimators=5,
                       min_child_samples=2, random_state=0).fit(train, labels)
    candidates, _ = ranker.candidates(train)
    assert candidates.shape == (train.n_users, 10)
    assert not train.ratings[np.arange(train.n_users)[:, None], candidates].toarray().any()
    scores = ranker.score(train)
    assert (np.isfinite(scores).sum(axis=1) == 10).all()
    assert {"retrieval_cosine", "score_pop", "score_pop_percentile"} <= set(ranker.feature_names_)


def test_ranker_on_clicks_sees_fewer_positives_deeper_down_and_rejects_unknown_click_models(
        fitted: dict, train: Interactions):
    unseen = (train.ratings.toarray() == 0) & (np.random.default_rng(0).random(train.ratings.shape) < 0.3)
    labels = Interactions(train.user_ids, sp.csr_matrix(unseen * 4.5), sp.csr_matrix(unseen * 12_000.0),
                          train.catalogue)
    models = {m: LtrRanker(fitted["mf_implicit"], {"pop": fitted["popularity"]}, n_candidates=10, n_estimators=5,
                           min_child_samples=2, random_state=0, click_model=m).fit(train, labels)
              for m in (None, "naive", "ipw")}
    assert models["naive"].positive_labels_ == models["ipw"].positive_labels_ < models[None].positive_labels_
    with pytest.raises(ValueError, match="click_model"):
        LtrRanker(fitted["mf_implicit"], {}, n_candidates=10, click_model="cascade").fit(train, labels)


# --- shilling attack ----------------------------------------------------------------------------------------------

def test_inject_shilling_adds_fake_profiles_rating_the_target_five(train: Interactions):
    target = 3
    poisoned = inject_shilling(train, target, n_profiles=4, n_filler=5, seed=0)
    assert poisoned.n_users == train.n_users + 4
    assert (poisoned.ratings[: train.n_users] != train.ratings).nnz == 0
    fake = poisoned.ratings[train.n_users:]
    assert (fake.getnnz(axis=1) == 6).all()
    assert (fake[:, target].toarray() == 5.0).all()
    assert ((fake.data * 2) % 1 == 0).all() and fake.data.min() >= 0.5 and fake.data.max() <= 5.0
    assert poisoned.user_ids[train.n_users:].min() > train.user_ids.max()
    assert (poisoned.days[train.n_users:].data == train.days.data.max()).all()


def test_target_ranks_count_ties_against_the_target():
    scores = np.array([[3.0, 1.0, 1.0, 0.0], [0.0, 5.0, 1.0, 2.0]])
    assert target_ranks(scores, 1).tolist() == [3, 1]


def test_attack_lifts_the_target_in_popularity_lists_but_not_in_content_lists(train: Interactions):
    counts = Popularity().fit(train).popularity_
    target = int(np.argmin(np.where(counts > 0, counts, np.inf)))
    poisoned = inject_shilling(train, target, n_profiles=int(counts.max()), n_filler=3, seed=0)
    eligible = train.ratings[:, target].toarray().ravel() == 0
    effects = {}
    for name, model in {"popularity": Popularity(), "content": ContentRecommender()}.items():
        before = clone(model).fit(train).rank_scores(train)
        after = clone(model).fit(poisoned).rank_scores(train)
        effects[name] = attack_effect(before, after, target, eligible, top_n=3)
    assert effects["popularity"]["mean_rank_gain"] > 0
    assert effects["popularity"]["share_top3_after"] > effects["popularity"]["share_top3_before"]
    assert effects["content"]["mean_rank_gain"] == 0


# --- configuration ------------------------------------------------------------------------------------------------

def test_config_defaults_parse_and_mistakes_are_config_errors():
    cfg = parse_recommend_config({"k": 5})
    assert cfg.k == 5 and cfg.families["mf_implicit"].kind == "implicit_mf"
    with pytest.raises(ConfigError, match="bogus"):
        parse_recommend_config({"bogus": 1})
    with pytest.raises(ConfigError, match="ranker.retriever"):
        parse_recommend_config({"ranker": {"retriever": "popularity"}})
    with pytest.raises(ConfigError, match="unknown family 'nope'"):
        parse_recommend_config({"ranker": {"feature_families": ["nope"]}})
    with pytest.raises(ConfigError, match="families.x.item_knn.similarity"):
        parse_recommend_config({"families": {"x": {"kind": "item_knn", "similarity": "jaccard"}}})
