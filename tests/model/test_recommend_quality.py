"""Model tests of the recommend stage on a seeded 500-user subsample of the real MovieLens ratings.

One small `run_recommendation` (four families, the ranker, the shilling attack) feeds every test; the whole module
runs in well under a minute on two cores.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from flows.report import recommend_page_html
from tasks.core.recommend_config import parse_recommend_config
from tasks.present.recommend_report import render_report
from tasks.recommend.data import load_movielens, validate_ratings
from tasks.recommend.run import run_recommendation

pytestmark = pytest.mark.timeout(300)

SMALL = {
    "data": {"sample_users": 500},
    "split": {"heldout_user_fraction": 0.25},
    "families": {
        "popularity": {"kind": "popularity"},
        "content": {"kind": "content"},
        "itemknn_cosine": {"kind": "item_knn"},
        "mf_implicit": {"kind": "implicit_mf", "n_iterations": 8},
    },
    "ranker": {"feature_families": ["mf_implicit", "itemknn_cosine", "popularity"], "n_estimators": 100},
    "examples": 2,
}


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, Path]:
    out = tmp_path_factory.mktemp("recommend")
    outcome = run_recommendation(parse_recommend_config(SMALL), seed=0, out_dir=out)
    stored = json.loads(json.dumps(outcome.metrics, sort_keys=True, default=str))  # as metrics.json holds them
    (out / "in-memory.html").write_text(render_report(stored, outcome.examples, outcome.importances,
                                                      outcome.lineage, crumbs=[("reports", "../index.html")]))
    return outcome.metrics, out


def test_movielens_meets_the_data_contract():
    clean, report = validate_ratings(load_movielens(), invalid_rows="raise", **{
        k: v for k, v in parse_recommend_config({}).data.model_dump().items() if k.startswith("valid_")})
    assert report["rows_out"] == len(clean) == 100_004
    assert clean["user"].nunique() == 671 and clean["item"].nunique() == 9_066


def test_ranker_beats_popularity_on_heldout_users(run):
    metrics, _ = run
    comparison = metrics["comparison"]
    assert comparison["metric"] == "ndcg@10" and comparison["baseline"] == "popularity"
    assert comparison["ranker_heldout"] > comparison["baseline_heldout"] > 0
    assert comparison["ranker_beats_baseline"] is True
    assert metrics["families"]["ranker"]["candidate_recall"]["heldout"] > 0.1


def test_every_family_is_evaluated_warm_and_cold_on_the_same_users(run):
    metrics, _ = run
    n_users = metrics["split"]["heldout_users"]
    assert set(metrics["families"]) == {"popularity", "content", "itemknn_cosine", "mf_implicit", "ranker"}
    for name, family in metrics["families"].items():
        for group in ("heldout", "cold_start"):
            values = family[group]
            assert 0 < values["users_evaluated"] <= n_users, (name, group)
            assert 0 <= values["ndcg@10"] <= 1 and 0 < values["coverage"] <= 1, (name, group)
    assert "rmse" in metrics["families"]["itemknn_cosine"]["heldout"]
    popular = metrics["families"]["popularity"]["heldout"]
    assert popular["popularity_percentile"] > popular["history_popularity_percentile"]


def test_shilling_attack_lifts_the_target_for_popularity_but_not_for_content(run):
    metrics, _ = run
    attack = metrics["attack"]
    assert attack["fake_profiles"] == round(0.02 * metrics["split"]["train_users"])
    assert attack["families"]["popularity"]["mean_rank_gain"] > 0
    assert attack["families"]["popularity"]["median_rank_after"] < attack["families"]["popularity"][
        "median_rank_before"]
    assert attack["families"]["content"]["mean_rank_gain"] == 0


def test_position_bias_scores_three_rankers_on_the_same_held_out_users(run):
    bias = run[0]["position_bias"]
    assert bias["full_information"] == pytest.approx(run[0]["families"]["ranker"]["heldout"]["ndcg@10"])
    assert bias["training_positives"]["naive"] == bias["training_positives"]["ipw"]
    assert 0 < bias["training_positives"]["naive"] < bias["training_positives"]["full_information"]
    assert 0 <= bias["naive"] <= 1 and 0 <= bias["ipw"] <= 1


def test_metrics_and_report_are_written(run):
    metrics, out = run
    assert json.loads((out / "metrics.json").read_text())["comparison"] == json.loads(
        json.dumps(metrics["comparison"]))
    html = recommend_page_html(out)  # what the report stage renders from the files the stage wrote
    assert str(html) == (out / "in-memory.html").read_text(), "the files hold everything the page shows"
    for section in ("Leaderboard", "Cold start", "Popularity bias", "Position bias", "Shilling attack",
                    "Example recommendations"):
        assert section in html
    assert "<svg" in html
    assert not any(remote in html for remote in ('src="http', "<script", "<link", "@import"))
