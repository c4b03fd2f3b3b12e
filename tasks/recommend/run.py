"""The recommend stage: train every family and the ranker, evaluate them, attack them, write metrics and a report."""

from __future__ import annotations

import resource
from dataclasses import dataclass, field
from pathlib import Path
from time import perf_counter
from typing import Any

import numpy as np
import pandas as pd

from tasks.core.artefacts import EXAMPLES_FILE, IMPORTANCES_FILE, LINEAGE_FILE, METRICS_FILE
from tasks.core.errors import ConfigError
from tasks.core.io import atomic_write_text, stable_hash, write_json
from tasks.core.lineage import lineage
from tasks.core.recommend_config import FamilySpec, RecommendConfig
from tasks.recommend.attack import attack_effect, choose_target, inject_shilling
from tasks.recommend.base import Recommender
from tasks.recommend.content import ContentRecommender
from tasks.recommend.data import (
    RATING_COLUMNS,
    Catalogue,
    Interactions,
    build_catalogue,
    load_movielens,
    sample_users,
    to_interactions,
    validate_ratings,
)
from tasks.recommend.evaluate import candidate_recall, evaluate_recommender
from tasks.recommend.knn import ItemKNN
from tasks.recommend.metrics import ndcg_at_k, popularity_percentiles, relevance_matrix
from tasks.recommend.mf import ExplicitMF, ImplicitMF
from tasks.recommend.popularity import Popularity
from tasks.recommend.ranking import LtrRanker
from tasks.recommend.split import temporal_split

MODEL_CLASSES: dict[str, type[Recommender]] = {
    "popularity": Popularity, "content": ContentRecommender, "item_knn": ItemKNN,
    "explicit_mf": ExplicitMF, "implicit_mf": ImplicitMF,
}
RANKER = "ranker"


def build_family(spec: FamilySpec, seed: int) -> Recommender:
    """An unfitted recommender from its config entry; seeded when the family is random."""
    cls = MODEL_CLASSES[spec.kind]
    params = spec.model_dump(exclude={"kind"})
    if "random_state" in cls().get_params():
        params["random_state"] = seed
    return cls(**params)


def build_ranker(cfg: RecommendConfig, models: dict[str, Recommender], seed: int,
                 click_model: str | None = None) -> LtrRanker:
    """The unfitted ranker over the fitted families; `click_model` trains it on simulated clicks."""
    rc, pb = cfg.ranker, cfg.position_bias
    return LtrRanker(
        retriever=models[rc.retriever], scorers={n: models[n] for n in rc.feature_families},
        n_candidates=rc.n_candidates, learning_rate=rc.learning_rate, n_estimators=rc.n_estimators,
        num_leaves=rc.num_leaves, min_child_samples=rc.min_child_samples, colsample_bytree=rc.colsample_bytree,
        min_relevant_rating=cfg.min_relevant_rating, n_jobs=rc.n_jobs, random_state=seed, click_model=click_model,
        position_eta=pb.eta, click_sessions=pb.sessions, min_propensity=pb.min_propensity,
    )


def position_bias(cfg: RecommendConfig, models: dict[str, Recommender], X: Interactions, Y: Interactions,
                  profile: Interactions, targets: Interactions, seed: int) -> dict[str, Any]:
    """NDCG@k on held-out users (true relevance) of rankers trained on simulated clicks, naive and IPW, beside the
    full-information ranker; `recovered` = (ipw - naive) / (full - naive), the share of the gap IPW closes."""
    start = perf_counter()
    ndcg = f"ndcg@{cfg.k}"
    scores = {"full_information": models[RANKER]}
    for click_model in ("naive", "ipw"):
        scores[click_model] = build_ranker(cfg, models, seed, click_model).fit(X, Y)
    result: dict[str, Any] = {"metric": ndcg, "eta": cfg.position_bias.eta, "sessions": cfg.position_bias.sessions,
                              "min_propensity": cfg.position_bias.min_propensity,
                              "training_positives": {n: m.positive_labels_ for n, m in scores.items()}}
    relevance = relevance_matrix(targets.ratings, cfg.min_relevant_rating)
    for name, model in scores.items():
        result[name] = float(np.nanmean(ndcg_at_k(model.recommend(profile, cfg.k), relevance, cfg.k)))
    gap = result["full_information"] - result["naive"]
    result["recovered"] = (result["ipw"] - result["naive"]) / gap if gap else float("nan")
    result["seconds"] = round(perf_counter() - start, 3)
    return result


def fit_all(cfg: RecommendConfig, X: Interactions, Y: Interactions, seed: int
            ) -> tuple[dict[str, Recommender], dict[str, float]]:
    """Every configured family fitted on X, then the ranker over them with labels Y; and each fit's seconds."""
    models: dict[str, Recommender] = {}
    seconds: dict[str, float] = {}
    for name, spec in cfg.families.items():
        start = perf_counter()
        models[name] = build_family(spec, seed).fit(X)
        seconds[name] = perf_counter() - start
    start = perf_counter()
    models[RANKER] = build_ranker(cfg, models, seed).fit(X, Y)
    seconds[RANKER] = perf_counter() - start
    return models, seconds


@dataclass(frozen=True)
class Outcome:
    metrics: dict[str, Any]
    examples: pd.DataFrame        # user, list, rank, title, hit
    importances: pd.DataFrame     # feature, gain
    lineage: dict[str, Any] = field(default_factory=dict)  # data hash and config hash the run came from


def _kind(cfg: RecommendConfig, name: str) -> str:
    return "ltr_lightgbm" if name == RANKER else cfg.families[name].kind


def _attack_target(cfg: RecommendConfig, X: Interactions, seed: int) -> int:
    if cfg.attack.target_item is None:
        return choose_target(X, seed)
    code = int(X.catalogue.codes([cfg.attack.target_item])[0])
    if code < 0:
        raise ConfigError(f"recommend.attack.target_item: movieId {cfg.attack.target_item} is not in the catalogue")
    return code


def _examples(cfg: RecommendConfig, catalogue: Catalogue, profile: Interactions, targets: Interactions,
              lists: dict[str, np.ndarray], seed: int) -> pd.DataFrame:
    """For a few seeded held-out users: their latest profile titles, then each list's top 5 marked with hits."""
    if not cfg.examples or not profile.n_users:
        return pd.DataFrame(columns=["user", "list", "rank", "title", "hit"])
    relevant = relevance_matrix(targets.ratings, cfg.min_relevant_rating) > 0
    pool = np.flatnonzero(relevant.any(axis=1))
    chosen = np.sort(np.random.default_rng(seed).choice(pool, size=min(cfg.examples, len(pool)), replace=False))
    rows = []
    for u in chosen:
        start, end = profile.ratings.indptr[u], profile.ratings.indptr[u + 1]
        latest = profile.ratings.indices[start:end][np.argsort(-profile.days.data[start:end], kind="stable")][:5]
        rows += [(profile.user_ids[u], "profile (latest)", r + 1, catalogue.titles[i], "")
                 for r, i in enumerate(latest)]
        for name, recs in lists.items():
            rows += [(profile.user_ids[u], name, r + 1, catalogue.titles[i], "hit" if relevant[u, i] else "")
                     for r, i in enumerate(recs[u, :5])]
    return pd.DataFrame(rows, columns=["user", "list", "rank", "title", "hit"])


def evaluate_all(cfg: RecommendConfig, seed: int, frame: pd.DataFrame) -> Outcome:
    """Split validated ratings by time, fit everything, evaluate on held-out users (warm and cold start), compare
    with the baseline, and repeat the fits under a shilling attack."""
    catalogue = build_catalogue(frame)
    split = temporal_split(frame, cfg.split.heldout_user_fraction, cfg.split.test_fraction,
                           cfg.split.cold_start_profile)
    X = to_interactions(split.train_history, catalogue)
    Y = to_interactions(split.train_targets, catalogue, X.user_ids)
    users = np.unique(split.heldout_profile["user"])
    profile = to_interactions(split.heldout_profile, catalogue, users)
    targets = to_interactions(split.heldout_targets, catalogue, users)
    cold = to_interactions(split.cold_profile, catalogue, users)
    percentiles = popularity_percentiles(np.bincount(X.ratings.indices, minlength=catalogue.n_items))

    models, fit_seconds = fit_all(cfg, X, Y, seed)
    families: dict[str, dict[str, Any]] = {}
    lists: dict[str, np.ndarray] = {}
    for name, model in models.items():
        start = perf_counter()
        warm, lists[name] = evaluate_recommender(model, profile, targets, k=cfg.k,
                                                 min_relevant_rating=cfg.min_relevant_rating, percentiles=percentiles)
        cold_metrics, _ = evaluate_recommender(model, cold, targets, k=cfg.k,
                                               min_relevant_rating=cfg.min_relevant_rating, percentiles=percentiles)
        families[name] = {"kind": _kind(cfg, name), "fit_seconds": round(fit_seconds[name], 3),
                          "score_seconds": round(perf_counter() - start, 3),
                          "heldout": warm, "cold_start": cold_metrics}
    ranker = models[RANKER]
    families[RANKER]["candidate_recall"] = {
        "heldout": candidate_recall(ranker.candidates(profile)[0], targets, cfg.min_relevant_rating),
        "cold_start": candidate_recall(ranker.candidates(cold)[0], targets, cfg.min_relevant_rating),
    }
    ndcg = f"ndcg@{cfg.k}"
    comparison = {
        "metric": ndcg, "baseline": cfg.baseline,
        "baseline_heldout": families[cfg.baseline]["heldout"][ndcg],
        "ranker_heldout": families[RANKER]["heldout"][ndcg],
        "baseline_cold_start": families[cfg.baseline]["cold_start"][ndcg],
        "ranker_cold_start": families[RANKER]["cold_start"][ndcg],
    }
    bias = position_bias(cfg, models, X, Y, profile, targets, seed) if cfg.position_bias.enabled else None
    comparison["ranker_beats_baseline"] = bool(comparison["ranker_heldout"] > comparison["baseline_heldout"])

    start = perf_counter()
    target = _attack_target(cfg, X, seed)
    n_profiles = max(1, int(round(cfg.attack.profile_fraction * X.n_users)))
    poisoned = inject_shilling(X, target, n_profiles, cfg.attack.n_filler, seed)
    attacked, _ = fit_all(cfg, poisoned, to_interactions(split.train_targets, catalogue, poisoned.user_ids), seed)
    eligible = np.asarray(profile.ratings[:, target].todense()).ravel() == 0
    attack = {
        "target_item": int(catalogue.item_ids[target]), "target_title": str(catalogue.titles[target]),
        "target_training_ratings": int(models[RANKER].popularity_[target]), "fake_profiles": n_profiles,
        "filler_items": cfg.attack.n_filler, "top_n": cfg.attack.top_n,
        "families": {name: attack_effect(models[name].rank_scores(profile), attacked[name].rank_scores(profile),
                                         target, eligible, cfg.attack.top_n) for name in models},
        "seconds": round(perf_counter() - start, 3),
    }

    best = max((n for n in cfg.families if n != cfg.baseline), key=lambda n: families[n]["heldout"][ndcg],
               default=cfg.baseline)
    examples = _examples(cfg, catalogue, profile, targets,
                         {name: lists[name] for name in dict.fromkeys([cfg.baseline, best, RANKER])}, seed)
    importances = pd.DataFrame({"feature": ranker.feature_names_,
                                "gain": ranker.model_.booster_.feature_importance("gain")})
    split_summary = {
        "cutoff": pd.Timestamp(split.cutoff, unit="s").isoformat(), "train_users": X.n_users,
        "heldout_users": profile.n_users, "train_history_ratings": X.ratings.nnz, "train_target_ratings": Y.ratings.nnz,
        "heldout_profile_ratings": profile.ratings.nnz, "heldout_target_ratings": targets.ratings.nnz,
        "cold_start_profile": cfg.split.cold_start_profile, "dropped_after_cutoff": split.dropped_after_cutoff,
        "catalogue_items": catalogue.n_items,
        "items_without_training_ratings": int((X.ratings.getnnz(axis=0) == 0).sum()),
    }
    metrics = {"k": cfg.k, "split": split_summary, "families": families, "comparison": comparison, "attack": attack,
               "position_bias": bias}
    return Outcome(metrics=metrics, examples=examples,
                   importances=importances.sort_values("gain", ascending=False, ignore_index=True))


def run_recommendation(cfg: RecommendConfig, seed: int, out_dir: Path) -> Outcome:
    """Load and validate MovieLens, run `evaluate_all`, and write to `out_dir` what the report stage renders
    (`tasks.present.recommend_report`): `metrics.json`, the example lists, the ranker's importances and the
    lineage; return them."""
    start = perf_counter()
    frame, data_report = validate_ratings(load_movielens(), invalid_rows=cfg.data.invalid_rows,
                                          valid_from=cfg.data.valid_from, valid_until=cfg.data.valid_until)
    frame = sample_users(frame, cfg.data.sample_users, seed)
    outcome = evaluate_all(cfg, seed, frame)
    data = {**data_report, "ratings_used": len(frame), "users": int(frame["user"].nunique()),
            "items": int(frame["item"].nunique())}
    timing = {"total_seconds": round(perf_counter() - start, 3),
              "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}
    metrics = {**outcome.metrics, "data": data, "timing": timing}
    stamp = lineage(stable_hash(pd.util.hash_pandas_object(frame[RATING_COLUMNS], index=False).tolist()),
                    {"seed": seed, **cfg.model_dump(mode="json")})
    out_dir = Path(out_dir)
    write_json(out_dir / METRICS_FILE, metrics)
    atomic_write_text(out_dir / EXAMPLES_FILE, outcome.examples.to_csv(index=False))
    atomic_write_text(out_dir / IMPORTANCES_FILE, outcome.importances.to_csv(index=False))
    write_json(out_dir / LINEAGE_FILE, stamp)
    return Outcome(metrics, outcome.examples, outcome.importances, stamp)
