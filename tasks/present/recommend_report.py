"""The recommend stage's offline HTML report (reports/recommend/report.html), read from the metrics by name."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd
from markupsafe import Markup

from tasks.ml.figures import figure
from tasks.present import html
from tasks.present.html import badge, svg, table

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


def _bias_figure(board: pd.DataFrame) -> Markup:
    fig, ax = figure(5.5, 3.5)
    ordered = board.sort_values("popularity pct")
    ax.barh(ordered["family"], ordered["popularity pct"], color="#4c72b0")
    ax.axvline(0.5, color="#888", linestyle=":", label="catalogue mean (0.5)")
    ax.set_xlim(0, 1)
    ax.set_xlabel("mean popularity percentile of recommended items")
    ax.legend(loc="lower right", fontsize=8)
    return svg(fig)


def _tradeoff_figure(board: pd.DataFrame, k: int) -> Markup:
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


def _position_bias(bias: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if bias is None:
        return None
    labels = {"full_information": "graded ratings (full information)", "naive": "clicks, naive",
              "ipw": "clicks, inverse propensity weighted"}
    rows = pd.DataFrame([{"trained on": label, bias["metric"]: bias[key],
                          "positive training labels": bias["training_positives"][key]}
                         for key, label in labels.items()])
    return {**bias, "table": table(rows, float_format="{:.4f}")}


def render_report(metrics: Mapping[str, Any], examples: pd.DataFrame, importances: pd.DataFrame,
                  lineage: Mapping[str, Any], crumbs: Sequence[tuple[str, str]] = ()) -> str:
    """The whole page: comparison verdict, leaderboards, bias figures, ranker details, attack, examples, data."""
    k = metrics["k"]
    cmp, split, attack, data = metrics["comparison"], metrics["split"], metrics["attack"], metrics["data"]
    warm, cold = _leaderboard(metrics, "heldout"), _leaderboard(metrics, "cold_start")
    return html.render(
        "recommend.html", title="Recommendation report", lineage=dict(lineage), crumbs=list(crumbs), k=k, cmp=cmp,
        split=split, attack=attack, verdict=badge("pass" if cmp["ranker_beats_baseline"] else "fail"),
        recall=metrics["families"]["ranker"]["candidate_recall"],
        own=metrics["families"][cmp["baseline"]]["heldout"]["history_popularity_percentile"],
        warm=table(warm), cold=table(cold), bias_figure=_bias_figure(warm), tradeoff_figure=_tradeoff_figure(warm, k),
        importances=table(importances.head(15), float_format="{:.1f}"),
        position_bias=_position_bias(metrics.get("position_bias")),
        attack_table=table(_attack_table(attack), float_format="{:.3f}"), examples=table(examples),
        data=table(pd.DataFrame([data]).T.reset_index().set_axis(["check", "value"], axis=1)),
        split_table=table(pd.DataFrame([split]).T.reset_index().set_axis(["split", "value"], axis=1)))
