"""Fragments for evaluation results (tables and inline SVG figures), rendered through tasks/present/html.py."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd
from markupsafe import Markup

from tasks.ml.figures import figure
from tasks.present import html
from tasks.present.html import svg, table
from tasks.stages.fairness import GROUP_METRICS


def ci_cell(value: float, low: float, high: float) -> str:
    """'0.8123 [0.8101, 0.8145]'; 'n/a' for an undefined value."""
    if math.isnan(value):
        return "n/a"
    if math.isnan(low):
        return f"{value:.4f}"
    return f"{value:.4f} [{low:.4f}, {high:.4f}]"


def leaderboard_table(intervals: pd.DataFrame, sort_by: str, ascending: bool = False) -> Markup:
    """Models x metrics with intervals, from rows (model, metric, value, low, high); best `sort_by` first."""
    cells = intervals.assign(cell=[ci_cell(v, lo, hi) for v, lo, hi in
                                   intervals[["value", "low", "high"]].itertuples(index=False)])
    wide = cells.pivot(index="model", columns="metric", values="cell")
    order = intervals[intervals["metric"] == sort_by].sort_values("value", ascending=ascending)["model"]
    wide = wide.loc[list(order), list(dict.fromkeys(intervals["metric"]))]
    return table(wide.reset_index())


def paired_table(comparisons: pd.DataFrame, confidence: float = 0.95) -> Markup:
    """Pairwise comparisons from `stats.compare_models`: difference with interval, bootstrap p-value and, where the
    models are classifiers, McNemar's counts and p-value; a difference is real when its interval excludes 0."""
    frame = pd.DataFrame({
        "model A": comparisons["model_a"],
        "model B": comparisons["model_b"],
        "metric": comparisons["metric"],
        f"A - B [{confidence:.0%} CI]": [ci_cell(d, lo, hi) for d, lo, hi in
                                        comparisons[["diff", "low", "high"]].itertuples(index=False)],
        "difference": ["real" if lo > 0 or hi < 0 else "within noise"
                       for lo, hi in comparisons[["low", "high"]].itertuples(index=False)],
        "bootstrap p": comparisons["p_value"],
    })
    if "mcnemar_p_value" in comparisons:
        frame = frame.assign(**{"only A right": comparisons["mcnemar_b"], "only B right": comparisons["mcnemar_c"],
                                "McNemar p": comparisons["mcnemar_p_value"]})
    return table(frame)


def fairness_table(groups: pd.DataFrame, attribute: str, min_group_size: int = 0) -> Markup:
    """One attribute's groups with each metric's interval; groups under `min_group_size` are marked, not gated."""
    rows = groups[groups["attribute"] == attribute]
    frame = pd.DataFrame({
        "group": [html.render("not_gated.html", group=g) if n < min_group_size else g
                  for g, n in zip(rows["group"], rows["size"], strict=True)],
        "size": rows["size"].to_numpy(),
        **{name: [ci_cell(v, lo, hi) for v, lo, hi in rows[[name, f"{name}_low", f"{name}_high"]]
                  .itertuples(index=False)] for name in GROUP_METRICS},
    })
    return table(frame)


def threshold_figure(sweep: pd.DataFrame, chosen: float | None = None) -> Markup:
    """Precision, recall, specificity and F1 against the threshold, with the chosen threshold marked."""
    fig, ax = figure()
    for column in ("precision", "recall", "specificity", "f1"):
        ax.plot(sweep["threshold"], sweep[column], label=column)
    if chosen is not None:
        ax.axvline(chosen, color="black", linestyle="--", linewidth=1, label=f"chosen {chosen:.2f}")
    ax.set(xlabel="threshold", ylabel="value", xlim=(0, 1), ylim=(0, 1.02))
    ax.legend(fontsize=8)
    return svg(fig)


def calibration_figure(tables: Mapping[str, pd.DataFrame]) -> Markup:
    """Reliability diagram, one line per batch: observed positive rate against mean predicted probability per bin."""
    fig, ax = figure()
    ax.plot([0, 1], [0, 1], color="grey", linestyle=":", linewidth=1, label="perfect")
    for name, calibration in tables.items():
        ax.plot(calibration["mean_predicted"], calibration["observed_rate"], marker="o", markersize=3, label=name)
    ax.set(xlabel="mean predicted probability", ylabel="observed positive rate", xlim=(0, 1), ylim=(0, 1))
    ax.legend(fontsize=8)
    return svg(fig)


def banner(lineage: Mapping[str, Any], crumbs: Sequence[tuple[str, str]]) -> str:
    """Lineage line and breadcrumb links, styled inline, for the top of a page another tool wrote: plain `str`,
    since it is spliced into that page's text (a `Markup` would escape the text it is added to)."""
    return str(html.macros().banner(dict(lineage), list(crumbs)))
