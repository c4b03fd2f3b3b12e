"""The recommend stage's offline HTML report, read from the metrics by name."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from tasks.present.html import badge, esc, figure, page, svg, table

_COLUMNS = ["ndcg", "precision", "recall", "map", "mrr"]


def _leaderboard(metrics: Mapping[str, Any], group: str) -> pd.DataFrame:
    k = metrics["k"]
    baseline = metrics["families"][metrics["comparison"]["baseline"]][group][f"ndcg@{k}"]
    rows = []
    for name, fam in metrics["families"].items():
        m = fam[group]
        rows.append({"family": name, "kind": fam["kind"], **{f"{c}@{k}": m[f"{c}@{k}"] for c in _COLUMNS},
                     "ndcg vs baseline": m[f"ndcg@{k}"] / baseline if baseline else float("nan"),
                     "coverage": m["coverage"], "popularity pct": m["popularity_percentile"],
                     "popularity lift": m["popularity_lift"], "rmse": m.get("rmse", float("nan")),
                     "fit s": fam["fit_seconds"]})
    return pd.DataFrame(rows).sort_values(f"ndcg@{k}", ascending=False, ignore_index=True)


def _bias_figure(board: pd.DataFrame) -> str:
    fig, ax = figure(5.5, 3.5)
    ordered = board.sort_values("popularity pct")
    ax.barh(ordered["family"], ordered["popularity pct"], color="#4c72b0")
    ax.axvline(0.5, color="#888", linestyle=":", label="catalogue mean (0.5)")
    ax.set_xlim(0, 1)
    ax.set_xlabel("mean popularity percentile of recommended items")
    ax.legend(loc="lower right", fontsize=8)
    return svg(fig)


def _tradeoff_figure(board: pd.DataFrame, k: int) -> str:
    fig, ax = figure(5.0, 3.5)
    ax.scatter(board["coverage"], board[f"ndcg@{k}"], color="#dd8452")
    for _, row in board.iterrows():
        ax.annotate(row["family"], (row["coverage"], row[f"ndcg@{k}"]), fontsize=7, xytext=(3, 3),
                    textcoords="offset points")
    ax.set_xscale("log")
    ax.set_xlabel("catalogue coverage (log)")
    ax.set_ylabel(f"NDCG@{k}, held-out users")
    return svg(fig)


def _attack_table(attack: Mapping[str, Any]) -> pd.DataFrame:
    n = attack["top_n"]
    return pd.DataFrame([{
        "family": name, "median rank before": e["median_rank_before"], "median rank after": e["median_rank_after"],
        "mean rank gain": e["mean_rank_gain"], f"share top-{n} before": e[f"share_top{n}_before"],
        f"share top-{n} after": e[f"share_top{n}_after"],
    } for name, e in attack["families"].items()])


def _position_bias_section(bias: Mapping[str, Any] | None) -> str:
    if bias is None:
        return ""
    labels = {"full_information": "graded ratings (full information)", "naive": "clicks, naive",
              "ipw": "clicks, inverse propensity weighted"}
    rows = pd.DataFrame([{"trained on": label, bias["metric"]: bias[key],
                          "positive training labels": bias["training_positives"][key]}
                         for key, label in labels.items()])
    return (f"<h2>Position bias</h2><p>Clicks are simulated from each training user's candidate list in retrieval "
            f"order: rank r is examined with propensity (1/r)<sup>{bias['eta']:g}</sup>, and an examined relevant "
            "item is clicked. The ranker is retrained on those clicks, as labels (naive) and with each click "
            f"weighted by 1/propensity (clipped at {bias['min_propensity']:g}), and scored on held-out users "
            f"against their true relevance. IPW recovers <b>{bias['recovered']:.0%}</b> of the gap between the "
            f"naive and the full-information ranker.</p>{table(rows, float_format='{:.4f}')}")


def render_report(metrics: Mapping[str, Any], examples: pd.DataFrame, importances: pd.DataFrame,
                  lineage: Mapping[str, Any]) -> str:
    """The whole page: comparison verdict, leaderboards, bias figures, ranker details, attack, examples, data."""
    k = metrics["k"]
    cmp, split, attack, data = metrics["comparison"], metrics["split"], metrics["attack"], metrics["data"]
    warm, cold = _leaderboard(metrics, "heldout"), _leaderboard(metrics, "cold_start")
    verdict = badge("pass" if cmp["ranker_beats_baseline"] else "fail")
    recall = metrics["families"]["ranker"]["candidate_recall"]
    own = metrics["families"][cmp["baseline"]]["heldout"]["history_popularity_percentile"]
    body = [
        "<h2>Ranker against the baseline</h2>",
        f"<p>{verdict} NDCG@{k} on {split['heldout_users']} held-out users: ranker <b>{cmp['ranker_heldout']:.4f}</b>"
        f" vs {esc(cmp['baseline'])} <b>{cmp['baseline_heldout']:.4f}</b>; cold start ({split['cold_start_profile']}"
        f" ratings known): {cmp['ranker_cold_start']:.4f} vs {cmp['baseline_cold_start']:.4f}.</p>",
        f"<p>Held-out users are the newest {split['heldout_users']} users (first rating on or after "
        f"{esc(split['cutoff'])}); models are fitted only on earlier ratings of the other {split['train_users']} "
        "users. Each held-out user's latest ratings are the targets (relevance graded from the rating).</p>",
        f"<h2>Leaderboard: held-out users, full profile</h2>{table(warm)}",
        f"<h2>Cold start: the same users, first {split['cold_start_profile']} ratings only</h2>{table(cold)}",
        "<h2>Popularity bias and coverage</h2>",
        f"<p>Popularity percentile 0.5 is the catalogue average; the users' own rated items average "
        f"{own:.3f}. Popularity lift = recommended / own (&gt; 1: lists more mainstream than the users).</p>",
        f'<div class="grid"><div class="card">{_bias_figure(warm)}</div>'
        f'<div class="card">{_tradeoff_figure(warm, k)}</div></div>',
        "<h2>Ranker</h2>",
        f"<p>Candidate recall (share of relevant held-out items among the candidates): {recall['heldout']:.3f} "
        f"(cold start {recall['cold_start']:.3f}).</p>",
        table(importances.head(15), float_format="{:.1f}"),
        _position_bias_section(metrics.get("position_bias")),
        f"<h2>Shilling attack</h2><p>{attack['fake_profiles']} fake profiles rate "
        f"<b>{esc(attack['target_title'])}</b> (movieId {attack['target_item']}, {attack['target_training_ratings']}"
        f" genuine training ratings) 5 stars plus {attack['filler_items']} random filler items; every model is "
        "retrained and the target's rank is measured for held-out users who had not rated it (rank 1 = top).</p>",
        table(_attack_table(attack), float_format="{:.3f}"),
        "<h2>Example recommendations</h2>", table(examples),
        "<h2>Data</h2>", table(pd.DataFrame([data]).T.reset_index().set_axis(["check", "value"], axis=1)),
        table(pd.DataFrame([split]).T.reset_index().set_axis(["split", "value"], axis=1)),
    ]
    return page("Recommendation report", "".join(body), lineage)
