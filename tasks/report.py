"""Report: the leaderboard and the offline HTML hub (reports/index.html plus one evaluation page per problem)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from tasks import html

LOWER_IS_BETTER = {"log_loss", "rmse", "mae"}


@dataclass(frozen=True)
class ModelRecord:
    """Everything the report shows about one trained model."""

    name: str
    meta: dict[str, Any]
    metrics: dict[str, dict[str, float]]     # batch -> metric -> value
    roc: pd.DataFrame                        # batch, fpr, tpr
    confusion: dict[str, Any]                # labels, matrices: batch -> matrix


def leaderboard(records: list[ModelRecord], primary: str) -> pd.DataFrame:
    """One row per model and evaluation batch with every headline metric, best models first."""
    rows = [{"model": r.name, "problem": r.meta["problem"], "family": r.meta["family"], "batch": batch,
             **values, "fit_seconds": r.meta["fit_seconds"]}
            for r in records for batch, values in r.metrics.items()]
    if not rows:
        return pd.DataFrame(columns=["model", "problem", "family", "batch"])
    table = pd.DataFrame(rows)
    if primary in table:
        mean_primary = table.groupby("model")[primary].transform("mean")
        ascending = primary in LOWER_IS_BETTER
        table = table.assign(_order=mean_primary).sort_values(["problem", "_order", "model"],
                                                              ascending=[True, ascending, True])
        table = table.drop(columns="_order")
    return table.reset_index(drop=True)


def summary(board: pd.DataFrame, primary: str) -> pd.DataFrame:
    """Models x batches for the primary metric, plus the mean over batches (the leaderboard's headline)."""
    if board.empty or primary not in board:
        return pd.DataFrame()
    wide = board.pivot_table(index=["problem", "model", "family"], columns="batch", values=primary, sort=False)
    wide = wide[list(dict.fromkeys(board["batch"]))]  # evaluation order: holdout, then later batches
    wide[f"mean {primary}"] = wide.mean(axis=1)
    return wide.reset_index()


def roc_figure(record: ModelRecord) -> str:
    fig, ax = html.figure(4.2, 3.6)
    for batch, curve in record.roc.groupby("batch", sort=False):
        auc = record.metrics.get(batch, {}).get("roc_auc", np.nan)
        ax.plot(curve["fpr"], curve["tpr"], label=f"{batch} (AUC {auc:.3f})")
    ax.plot([0, 1], [0, 1], color="#999", linestyle=":", linewidth=1)
    ax.set(xlabel="false positive rate", ylabel="true positive rate", title=f"ROC: {record.name}")
    ax.legend(fontsize=7, loc="lower right")
    return html.svg(fig)


def confusion_figure(record: ModelRecord, batch: str) -> str:
    matrix = np.asarray(record.confusion["matrices"][batch])
    labels = [str(label) for label in record.confusion["labels"]]
    fig, ax = html.figure(2.8, 2.6)
    ax.imshow(matrix, cmap="Blues")
    for (i, j), value in np.ndenumerate(matrix):
        ax.text(j, i, f"{value:,}", ha="center", va="center",
                color="white" if value > matrix.max() / 2 else "black", fontsize=8)
    ax.set(xticks=range(len(labels)), yticks=range(len(labels)), xticklabels=labels, yticklabels=labels,
           xlabel="predicted", ylabel="true", title=f"{batch}")
    return html.svg(fig)


def evaluation_page(problem: str, records: list[ModelRecord], board: pd.DataFrame, primary: str,
                    lineage: Mapping[str, Any]) -> str:
    """Leaderboard, then per model: hyperparameters, ROC curves and confusion matrices per batch."""
    parts = [f"<h2>Leaderboard ({html.esc(primary)}, by evaluation batch)</h2>",
             html.table(summary(board, primary).drop(columns=["problem"], errors="ignore")),
             "<h2>All metrics</h2>", html.table(board.drop(columns=["problem"], errors="ignore"))]
    order = list(dict.fromkeys(board["model"]))
    for record in sorted(records, key=lambda r: order.index(r.name) if r.name in order else len(order)):
        meta = record.meta
        parts.append(f"<h2 id='{html.esc(record.name)}'>{html.esc(record.name)} "
                     f"<small>({html.esc(meta['family'])})</small></h2>")
        parts.append(f"<p>Trained on {meta['train_rows']:,} rows in {meta['fit_seconds']:.1f} s on "
                     f"{html.esc(meta['device'])}; seed {meta['seed']}; hyperparameters "
                     f"<code>{html.esc(meta['hyperparameters'])}</code>; validation "
                     f"<code>{html.esc(meta['validation'])}</code>.</p>")
        cards = []
        if not record.roc.empty:
            cards.append(roc_figure(record))
        cards += [confusion_figure(record, batch) for batch in record.confusion.get("matrices", {})]
        parts.append("<div class='grid'>" + "".join(f"<div class='card'>{c}</div>" for c in cards) + "</div>")
    return html.page(f"Evaluation: {problem}", "".join(parts), lineage,
                     crumbs=[("reports", "../index.html")])


def index_page(title: str, problems: Mapping[str, pd.DataFrame], links: Mapping[str, list[tuple[str, str]]],
               lineage: Mapping[str, Any]) -> str:
    """The hub: per problem, the headline leaderboard and links to every report produced."""
    parts = []
    for problem, table in problems.items():
        parts.append(f"<h2>{html.esc(problem)}</h2>")
        parts.append("<p>" + " &middot; ".join(str(html.link(label, href)) for label, href in links[problem])
                     + "</p>")
        parts.append(html.table(table.drop(columns=["problem"], errors="ignore")))
    return html.page(title, "".join(parts), lineage)
