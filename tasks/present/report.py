"""Report: the offline HTML hub (reports/index.html and reports/pages/).

Per problem: a page with the leaderboard (bootstrap intervals, paired tests against the best model), gate status,
the champion and links to every report: data docs, features, evaluation per model, drift per batch (Evidently) and
bias per model; the index is a dashboard of problem cards. Pages are built from what the stages wrote, so new
problem types, families and model insights (a model directory's `insights.json` tables and `*.svg` figures) appear
without changes here. Functions here build each page's context; the templates in tasks/present/templates render it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from markupsafe import Markup

from tasks.core.artefacts import HOLDOUT, LOWER_IS_BETTER
from tasks.ml.figures import figure
from tasks.ml.metrics import headline
from tasks.ml.missing import imputed_twins
from tasks.present import html
from tasks.present import report_fragments as rf
from tasks.stages.champion import GATES
from tasks.stages.evaluate import CALIBRATION, PR, RESIDUALS, ROC, SWEEP
from tasks.stages.fairness import GROUP_METRICS

INDEX = "index.html"


def problem_page(problem: str) -> str:
    return f"problem-{problem}.html"


def other_page(name: str) -> str:
    """The page of a problem that runs outside the tabular stages (recommend)."""
    return f"{name}.html"


def validation_page(problem: str) -> str:
    return f"validation-{problem}.html"


def data_page(problem: str) -> str:
    return f"data-{problem}.html"


def features_page(problem: str) -> str:
    return f"features-{problem}.html"


def model_page(model: str) -> str:
    return f"evaluation-{model}.html"


def fairness_page(model: str) -> str:
    return f"fairness-{model}.html"


@dataclass(frozen=True)
class ModelRecord:
    """What the stages wrote about one model."""

    name: str
    meta: dict[str, Any]                  # models/<problem>/<model>/meta.json
    metrics: dict[str, Any]               # evaluate metrics.json: threshold, batch -> metric -> value
    details: dict[str, Any]               # evaluate details.json
    curves: pd.DataFrame                  # evaluate curves.csv
    fairness: dict[str, Any]              # fairness metrics.json
    groups: pd.DataFrame                  # fairness groups.csv
    insights: dict[str, Any] = field(default_factory=dict)   # models/<model>/insights.json, if any
    figures: dict[str, str] = field(default_factory=dict)    # models/<model>/*.svg: name -> SVG markup
    run: dict[str, Any] = field(default_factory=dict)        # reports/train/<problem>.json: fit time, placement
    tuning: dict[str, Any] = field(default_factory=dict)     # models/<model>/tune.json, if it was tuned
    simpson: pd.DataFrame = field(default_factory=pd.DataFrame)   # fairness simpson.csv, if any
    simpson_segments: pd.DataFrame = field(default_factory=pd.DataFrame)  # fairness simpson_segments.csv


@dataclass(frozen=True)
class ProblemRecord:
    """What the stages wrote about one problem, and links to reports other stages wrote (label, href)."""

    name: str
    problem_type: str
    data: dict[str, Any]                  # data/validated/<problem>/meta.json
    spec: dict[str, Any]                  # data/features/<problem>/spec.json
    champion: dict[str, Any]              # models/<problem>-champion.json
    drift: dict[str, Any]                 # reports/drift/<problem>.json
    drift_pages: dict[str, str]           # batch -> href of its Evidently report
    models: list[ModelRecord]
    other_reports: dict[str, list[tuple[str, str]]] = field(default_factory=dict)  # section -> links
    registry: list[dict[str, Any]] = field(default_factory=list)  # `prod` assignments, newest first (GTO tags)
    missing: dict[str, dict[str, Any]] = field(default_factory=dict)  # split -> missing.missing_counts


# ---------------------------------------------------------------- small pieces


def _gate_cell(gate: Mapping[str, Any] | None, href: str | None = None) -> Markup:
    gate = gate or {"status": "n/a", "reasons": []}
    return Markup(html.macros().gate_cell(gate["status"], html.STATUS_CSS.get(gate["status"], ""),
                                          "; ".join(gate.get("reasons", [])), href))


def _number(value: float | None) -> float:
    """A metric read from a metrics file, where an undefined value is null."""
    return float("nan") if value is None else float(value)


def _ci(entry: Mapping[str, float] | None) -> str:
    if not entry:
        return "n/a"
    return rf.ci_cell(*(_number(entry.get(k)) for k in ("value", "low", "high")))


def _in_order(batches: Mapping[str, Any]) -> dict[str, Any]:
    """Evaluation batches in report order (JSON files sort their keys): the holdout, then later batches by name."""
    return {b: batches[b] for b in sorted(batches, key=lambda b: (b != HOLDOUT, b))}


def _json_cell(value: Any) -> Any:
    return value if isinstance(value, str | int | float) or value is None else json.dumps(value, default=str)


def _any_table(value: Any) -> Markup:
    """A table from a list of row dicts, or a key/value table from a mapping; JSON text otherwise."""
    if isinstance(value, list) and all(isinstance(row, Mapping) for row in value):
        frame = pd.DataFrame([{k: _json_cell(v) for k, v in row.items()} for row in value])
        labels = [c for c in frame.columns if frame[c].map(lambda v: isinstance(v, str)).all()]
        return html.table(frame[labels + [c for c in frame.columns if c not in labels]])  # names first
    if isinstance(value, Mapping):
        return html.table(pd.DataFrame({"name": list(value), "value": [_json_cell(v) for v in value.values()]}))
    return html.render("pre.html", text=json.dumps(value, indent=1, default=str))


# ---------------------------------------------------------------- figures


def curve_figure(curves: pd.DataFrame, name: str, *, xlabel: str, ylabel: str, title: str,
                 legend: Mapping[str, str] | None = None, reference: str | None = None,
                 scatter: bool = False) -> Markup | str:
    """One `curve` of an evaluate curves table, a line (or points) per series; '' when absent."""
    rows = curves[curves["curve"] == name]
    if rows.empty:
        return ""
    fig, ax = figure(4.2, 3.6)
    if reference == "diagonal":
        ax.plot([0, 1], [0, 1], color="#999", linestyle=":", linewidth=1)
    elif reference == "zero":
        ax.axhline(0, color="#999", linestyle=":", linewidth=1)
    for series, part in rows.groupby("series", sort=False):
        label = f"{series} {(legend or {}).get(series, '')}".strip()
        if scatter:
            ax.scatter(part["x"], part["y"], s=4, alpha=0.5, label=label)
        else:
            ax.plot(part["x"], part["y"], label=label)
    ax.set(xlabel=xlabel, ylabel=ylabel, title=title)
    ax.legend(fontsize=7)
    return html.svg(fig)


def confusion_figure(matrix: Sequence[Sequence[int]], labels: Sequence[str], title: str) -> Markup:
    matrix = np.asarray(matrix)
    size = 2.4 + 0.35 * len(labels)
    fig, ax = figure(size, size * 0.92)
    ax.imshow(matrix, cmap="Blues")
    if len(labels) <= 12:
        for (i, j), value in np.ndenumerate(matrix):
            ax.text(j, i, f"{value:,}", ha="center", va="center", fontsize=7,
                    color="white" if value > matrix.max() / 2 else "black")
    ax.set(xticks=range(len(labels)), yticks=range(len(labels)), xticklabels=labels, yticklabels=labels,
           xlabel="predicted", ylabel="true", title=title)
    return html.svg(fig)


def histogram_figure(counts: Sequence[float], edges: Sequence[float], xlabel: str, title: str) -> Markup:
    fig, ax = figure(4.2, 3.2)
    ax.stairs(counts, edges, fill=True, alpha=0.7)
    ax.set(xlabel=xlabel, ylabel="rows", title=title)
    return html.svg(fig)


def image_grid(examples: Sequence[Mapping[str, Any]], shape: Sequence[int], title: str) -> Markup:
    """Images (pixel rows) in a grid, each with its caption."""
    columns = min(8, len(examples))
    rows = -(-len(examples) // columns)
    fig, axes = figure(1.1 * columns, 1.25 * rows + 0.4)
    fig.clf()
    for i, example in enumerate(examples, start=1):
        ax = fig.add_subplot(rows, columns, i)
        ax.imshow(np.asarray(example["pixels"]).reshape(shape), cmap="gray_r")
        ax.set_title(example.get("caption", ""), fontsize=7)
        ax.axis("off")
    fig.suptitle(title, fontsize=9)
    return html.svg(fig)


def series_figure(name: str, values: Mapping[str, float] | Sequence[float]) -> Markup:
    """A numeric series from a model summary (a mapping such as k -> inertia, or a list such as explained variance
    per component) as a line with markers."""
    keys = list(values) if isinstance(values, Mapping) else list(range(1, len(values) + 1))
    points = list(values.values()) if isinstance(values, Mapping) else list(values)
    fig, ax = figure(4.2, 3.2)
    ax.plot(range(len(points)), points, marker="o", markersize=3)
    step = max(1, len(keys) // 12)
    ax.set_xticks(range(0, len(keys), step), [str(k) for k in keys[::step]])
    ax.set(title=name.replace("_", " "))
    return html.svg(fig)


def _numeric_series(value: Any) -> bool:
    items = list(value.values()) if isinstance(value, Mapping) else value if isinstance(value, list) else None
    return bool(items) and len(items) > 1 and all(isinstance(v, int | float) and not isinstance(v, bool)
                                                  for v in items)


# ---------------------------------------------------------------- model pages


def _metrics_table(details: Mapping[str, Any]) -> Markup:
    """Headline metrics (rows) by batch (columns), each a point value with its bootstrap interval."""
    batches = _in_order(details.get("batches", {}))
    found = {m for entry in batches.values() for m in entry.get("intervals", {})}
    names = [m for m in headline(details["problem_type"]) if m in found] + sorted(found - set(headline(
        details["problem_type"])))
    frame = pd.DataFrame({"metric": names, **{batch: [_ci(entry["intervals"].get(m)) for m in names]
                                              for batch, entry in batches.items()}})
    return html.table(frame)


def _classifier_context(record: ModelRecord) -> dict[str, Any]:
    details, curves = record.details, record.curves
    batches, labels = _in_order(details["batches"]), details["classes"]
    threshold = None
    if "threshold" in details:
        choice = details["threshold"]
        sweep = (curves[curves["curve"] == SWEEP].pivot_table(index="x", columns="series", values="y")
                 .reset_index().rename(columns={"x": "threshold"}))
        threshold = {"rule": choice["rule"], "value": choice["value"],
                     "figure": rf.threshold_figure(sweep, choice["value"])}
    auc = {b: f"(AUC {_number(record.metrics[b].get('roc_auc')):.3f})" for b in batches}
    ap = {b: f"(AP {e['average_precision']:.3f})" for b, e in batches.items() if "average_precision" in e}
    calibrated = {b: pd.DataFrame(e["calibration"]) for b, e in batches.items() if e.get("calibration")}
    curve_figures = [
        curve_figure(curves, ROC, xlabel="false positive rate", ylabel="true positive rate", title="ROC",
                     legend=auc, reference="diagonal"),
        curve_figure(curves, PR, xlabel="recall", ylabel="precision", title="Precision-recall", legend=ap),
        rf.calibration_figure(calibrated) if calibrated else "",
        curve_figure(curves, f"{ROC} one-vs-rest", xlabel="false positive rate", ylabel="true positive rate",
                     title="ROC one-vs-rest (holdout)", reference="diagonal"),
        curve_figure(curves, f"{PR} one-vs-rest", xlabel="recall", ylabel="precision",
                     title="Precision-recall one-vs-rest (holdout)"),
    ]
    per_class = pd.DataFrame([{"batch": b, **row} for b, e in batches.items() for row in e.get("per_class", [])])
    shown = details.get("misclassified", {})
    terms = None
    if details.get("informative_terms"):
        found = pd.DataFrame(details["informative_terms"])
        wide = found.assign(cell=found["term"] + " (" + found["probability"].map("{:.2f}".format) + ")").pivot(
            index="rank", columns="class", values="cell")
        terms = html.table(wide.reset_index())
    return {"threshold": threshold, "curves": curve_figures,
            "confusion": [confusion_figure(e["confusion"], labels, b) for b, e in batches.items() if "confusion" in e],
            "per_class": None if per_class.empty else html.table(
                per_class[["batch", "label", "precision", "recall", "specificity", "f1", "support"]]),
            "mistakes": image_grid(shown["examples"], shown["shape"], "true → predicted")
            if shown.get("examples") else None,
            "terms": terms}


def _regression_context(record: ModelRecord) -> dict[str, Any]:
    details, curves = record.details, record.curves
    holdout = details["batches"].get(HOLDOUT, {})
    figures = [
        curve_figure(curves, RESIDUALS, xlabel="predicted", ylabel="observed - predicted",
                     title="Residuals (holdout sample)", reference="zero", scatter=True),
        curve_figure(curves, CALIBRATION, xlabel="mean predicted (decile)", ylabel="mean observed",
                     title="Predicted vs observed", reference=None),
    ]
    if "histogram" in holdout:
        figures.append(histogram_figure(holdout["histogram"]["counts"], holdout["histogram"]["edges"],
                                        "observed - predicted", "Residual distribution (holdout)"))
    summary = pd.DataFrame([{"batch": b, **e["residuals"]} for b, e in _in_order(details["batches"]).items()
                            if "residuals" in e])
    return {"figures": figures, "summary": html.table(summary)}


def _unsupervised_context(record: ModelRecord) -> dict[str, Any]:
    """An unsupervised model's own summary: scalars as a table, numeric series as figures; generated images."""
    summary, details = record.details.get("summary", {}), record.details
    scalars = {k: v for k, v in summary.items() if not _numeric_series(v)}
    generated = details.get("generated")
    return {"kind": details["kind"], "scalars": _any_table(scalars) if scalars else None,
            "series": [series_figure(k, v) for k, v in summary.items() if _numeric_series(v)],
            "generated": image_grid(generated["examples"], generated["shape"], "samples") if generated else None}


def _insights_context(record: ModelRecord) -> dict[str, Any] | None:
    """The family's insights from evaluate, then whatever the model directory holds (insights.json, *.svg)."""
    found = record.details.get("insights", {})
    tables = {**found.get("tables", {}), **record.insights}
    figures = {**found.get("figures", {}), **record.figures}
    if not tables and not figures and "unavailable" not in found:
        return None
    return {"unavailable": found.get("unavailable"),
            "tables": [(name.replace("_", " "), _any_table(value)) for name, value in tables.items()],
            "figures": [(name.replace("_", " "), html.svg_markup(text)) for name, text in figures.items()]}


def trials_figure(tuning: Mapping[str, Any]) -> Markup:
    """Each trial's score (pruned trials at their last reported value) and the best so far, the defaults marked."""
    trials = [t for t in tuning["trials"] if t["value"] is not None]
    fig, ax = figure(4.8, 3.4)
    for state, marker in (("complete", "o"), ("pruned", "x")):
        shown = [t for t in trials if t["state"] == state]
        ax.scatter([t["number"] for t in shown], [t["value"] for t in shown], s=14, marker=marker, label=state)
    done = [t for t in trials if t["state"] == "complete"]
    pick = np.maximum.accumulate if tuning["direction"] == "maximize" else np.minimum.accumulate
    ax.step([t["number"] for t in done], pick([t["value"] for t in done]), where="post", label="best so far")
    ax.axhline(tuning["default_value"], color="#999", linestyle=":", linewidth=1, label="defaults (trial 0)")
    ax.set(xlabel="trial", ylabel=f"{tuning['metric']} ({tuning['scored_on']})", title="tuning trials")
    ax.legend(fontsize=7)
    return html.svg(fig)


def _tuning_context(record: ModelRecord) -> dict[str, Any] | None:
    """The hyperparameter search the model came from: defaults against the best trial, the values chosen and the
    trial history."""
    tuning = record.tuning
    if not tuning:
        return None
    states = pd.Series([t["state"] for t in tuning["trials"]]).value_counts().to_dict()
    took = record.run.get("tune_seconds")
    summary = {"metric": f"{tuning['metric']} on the {tuning['scored_on']} ({tuning['direction']})",
               "defaults (trial 0)": tuning["default_value"], "best": tuning["best_value"],
               "gain over defaults": tuning["gain"], "best trial": tuning["best_trial"],
               "trials": ", ".join(f"{n} {state}" for state, n in states.items()),
               "tuning time": f"{took:.1f} s" if took is not None else "(not recorded)"}
    return {"summary": _any_table(summary), "chosen": _any_table(tuning["trials"][tuning["best_trial"]]["params"]),
            "figure": trials_figure(tuning)}


def model_page_html(record: ModelRecord, problem: str, lineage: Mapping[str, Any], confidence: float) -> str:
    """One model's evaluation: training facts, metrics with intervals per batch, curves, tables, insights."""
    fit = record.run.get("fit_seconds")
    kind = record.details.get("kind", "supervised")
    regression = kind == "supervised" and record.details.get("problem_type") == "regression"
    return html.render(
        "model.html", title=f"Evaluation: {record.name}", lineage=lineage,
        crumbs=[("reports", f"../{INDEX}"), (problem, problem_page(problem))], meta=record.meta,
        took=f"{fit:.1f} s" if fit is not None else "(fit time not recorded)", confidence=confidence,
        related=[("bias", fairness_page(record.name))] if record.fairness.get("applicable") else [],
        metrics_table=_metrics_table(record.details) if record.details.get("batches") else None,
        unsupervised=_unsupervised_context(record) if kind != "supervised" else None,
        regression=_regression_context(record) if regression else None,
        classifier=_classifier_context(record) if kind == "supervised" and not regression else None,
        tuning=_tuning_context(record), insights=_insights_context(record))


def _simpson_context(record: ModelRecord) -> dict[str, Any] | None:
    """Simpson's paradox check: each group against the largest one, overall and within segments; the segments
    whose difference has the opposite sign, with their counts."""
    comparisons, segments = record.simpson, record.simpson_segments
    if comparisons.empty:
        return None
    shown = comparisons.assign(**{"reversed in": [f"{r} of {n}" for r, n in
                                                  zip(comparisons["segments_reversed"],
                                                      comparisons["segments_compared"], strict=True)]})
    shown = shown.drop(columns=["segments_reversed", "segments_compared"])
    reversed_rows = segments[segments["reversed"].astype(bool)].drop(columns="reversed") if len(segments) else segments
    return {"reversing": int((comparisons["segments_reversed"] > 0).sum()), "comparisons": len(comparisons),
            "adjusted": int(comparisons["adjusted_direction_reversed"].astype(bool).sum()),
            "table": html.table(shown), "segment_count": len(reversed_rows),
            "segments": html.table(reversed_rows) if len(reversed_rows) else None}


def fairness_page_html(record: ModelRecord, problem: str, lineage: Mapping[str, Any]) -> str:
    """One model's group metrics with intervals per sensitive attribute and batch, disparities and the gate."""
    result, groups = record.fairness, record.groups
    limits = pd.DataFrame([{"attribute": a, **v} for a, v in result["limits"].items()])
    minimum = int(limits["min_group_size"].iloc[0]) if len(limits) else 0
    ordered = sorted(groups.groupby("batch", sort=False), key=lambda item: (item[0] != HOLDOUT, item[0]))
    return html.render(
        "fairness.html", title=f"Bias: {record.name}", lineage=lineage,
        crumbs=[("reports", f"../{INDEX}"), (problem, problem_page(problem)), ("evaluation", model_page(record.name))],
        gate=html.badge(result["status"]), threshold=result["threshold"], min_group_size=minimum,
        reasons=result["reasons"], group_metrics=GROUP_METRICS,
        limits=html.table(limits.drop(columns="min_group_size", errors="ignore").astype(object)
                          .where(limits.notna(), "not gated")),
        disparities=html.table(pd.DataFrame([{"batch": b, "attribute": a, **v} for b, attrs in
                                             _in_order(result["batches"]).items() for a, v in attrs.items()])),
        groups=[(batch, batch == HOLDOUT, [(attribute, rf.fairness_table(rows, attribute, minimum))
                                           for attribute in rows["attribute"].unique()]) for batch, rows in ordered],
        simpson=_simpson_context(record))


# ---------------------------------------------------------------- problem pages


def _selection(record: Mapping[str, Any]) -> str:
    """The batch a problem's models were ranked on (records written before selection was configurable: holdout)."""
    return record.get("selection", HOLDOUT)


def _leaderboard(problem: ProblemRecord) -> pd.DataFrame:
    record = problem.champion
    metric, selection = record["metric"], _selection(record)
    by_name = {m.name: m for m in problem.models}
    rows = []
    for row in record["ranking"]:
        model = by_name[row["model"]]
        later = {f"{b} {metric}": _number(model.metrics[b].get(metric)) for b in sorted(model.metrics)
                 if b not in ("threshold", selection)}
        versus = row["versus_best"]
        rows.append({
            "rank": row["rank"], "model": html.link(row["model"], model_page(row["model"])), "family": row["family"],
            f"{selection} {metric} [CI]": _ci(row), **later,
            "quality": _gate_cell(row["gates"]["quality"]), "drift": _gate_cell(row["gates"]["drift"]),
            "fairness": _gate_cell(row["gates"]["fairness"], fairness_page(row["model"])
                                   if model.fairness.get("applicable") else None),
            "latency": _gate_cell(row["gates"].get("latency")),
            "rows/s": _number(row.get("speed", {}).get("rows_per_second")),
            "ms/row": _number(row.get("speed", {}).get("latency_ms")),
            "status": html.badge(row["status"]),
            "best - this [CI]": "" if versus is None else f"{_ci({'value': versus['diff'], **versus})} "
                                                          f"({versus['verdict']})",
            "why": row["why"],
        })
    return pd.DataFrame(rows)


def _drift_context(problem: ProblemRecord) -> dict[str, Any]:
    drift = problem.drift
    if not drift.get("applicable"):
        return {"applicable": False, "reason": drift.get("reason", "")}
    rows, scores = [], {}
    for batch, entry in drift["batches"].items():
        columns = entry["columns"]
        predictions = {c: v for c, v in columns.items() if v["role"] == "prediction"}
        target = next((v for v in columns.values() if v["role"] == "target"), None)
        rows.append({
            "batch": html.link(batch, problem.drift_pages[batch]),
            "rows (reference / current)": f"{entry['reference_rows']:,} / {entry['current_rows']:,}",
            "share of features drifted": entry["share_of_drifted_columns"],
            "drifted features": ", ".join(c for c, v in columns.items() if v["role"] == "feature" and v["drifted"]),
            "target drift": "n/a" if target is None else f"{'yes' if target['drifted'] else 'no'} "
                                                         f"({target['drift_score']:.4f})",
            "prediction drift": "; ".join(f"{c.removeprefix('prediction ')}: {'yes' if v['drifted'] else 'no'} "
                                          f"({v['drift_score']:.4f})" for c, v in predictions.items()),
            "gate": _gate_cell(entry),
        })
        scores[batch] = {c: f"{v['drift_score']:.4f}{' drifted' if v['drifted'] else ''}"
                         for c, v in columns.items() if v["role"] == "feature"}
    first = next(iter(drift["batches"].values()))["columns"]
    per_feature = pd.DataFrame({"feature": list(next(iter(scores.values()))),
                                "test": [first[c]["stattest"] for c in next(iter(scores.values()))],
                                **{b: list(s.values()) for b, s in scores.items()}})
    return {"applicable": True, "reference": drift["reference"], "batches": html.table(pd.DataFrame(rows)),
            "per_feature": html.table(per_feature)}


def _missing_context(problem: ProblemRecord) -> dict[str, Any] | None:
    """Missing values per split and, for each model that routes NaN natively, its metrics beside its imputed twin's."""
    if not any(counts["rows_with_missing"] for counts in problem.missing.values()):
        return None
    counts = pd.DataFrame([{"split": split, "rows": c["rows"], "rows with a missing value": c["rows_with_missing"],
                            "missing values by column": ", ".join(f"{k}: {v}" for k, v in c["columns"].items())}
                           for split, c in problem.missing.items()])
    by_name = {m.name: m for m in problem.models}
    pairs = imputed_twins({m.name: m.meta for m in problem.models})
    selection = _selection(problem.champion)
    rows = []
    for native, imputed in pairs:
        intervals = {name: by_name[name].details["batches"][selection]["intervals"] for name in (native, imputed)}
        for metric in intervals[native]:
            rows.append({"native NaN routing": html.link(native, model_page(native)),
                         "imputed twin": html.link(imputed, model_page(imputed)), "metric": metric,
                         "native [CI]": _ci(intervals[native][metric]),
                         "imputed [CI]": _ci(intervals[imputed].get(metric)),
                         "validation: native / imputed": " / ".join(
                             f"{_number(by_name[n].meta.get('validation', {}).get(metric)):.4f}"
                             for n in (native, imputed))})
    return {"counts": html.table(counts), "selection": selection,
            "twins": html.table(pd.DataFrame(rows)) if rows else None}


def _simpson_count(model: ModelRecord, attribute: str) -> str:
    rows = model.simpson[model.simpson["attribute"] == attribute] if not model.simpson.empty else model.simpson
    if rows.empty:
        return "n/a"
    return f"{int((rows['segments_reversed'] > 0).sum())} of {len(rows)}"


def _bias_table(problem: ProblemRecord) -> Markup | None:
    rows = []
    for model in problem.models:
        result = model.fairness
        if not result.get("applicable"):
            continue
        for attribute in result["limits"]:
            values = [attrs[attribute] for attrs in result["batches"].values() if attribute in attrs]
            worst = {k: max((v[k] for v in values if v[k] is not None), default=float("nan"))
                     for k in ("demographic_parity_difference", "equalized_odds_difference")}
            rows.append({"model": html.link(model.name, fairness_page(model.name)), "attribute": attribute,
                         "max demographic parity difference": worst["demographic_parity_difference"],
                         "max equalized odds difference": worst["equalized_odds_difference"],
                         "limit (EOD)": result["limits"][attribute]["max_equalized_odds_difference"] or "not gated",
                         "Simpson: comparisons with reversing segments": _simpson_count(model, attribute),
                         "gate": html.badge("fail" if attribute in result["failed_attributes"] else "pass")})
    return html.table(pd.DataFrame(rows)) if rows else None


def promoted_cell(problem: ProblemRecord) -> str:
    """'v1.2.0 (employment-lightgbm)': the promoted version, 'none' before the first promotion."""
    return f"{problem.registry[0]['version']} ({problem.registry[0]['model']})" if problem.registry else "none"


def report_links(problem: ProblemRecord) -> list[tuple[str, list[tuple[str, str]]]]:
    """Every report of a problem, by section: (section, [(label, href relative to reports/pages)])."""
    sections = [("data docs", [("splits", data_page(problem.name)),
                               *problem.other_reports.get("data docs", [])]),
                ("features", [("feature specification", features_page(problem.name)),
                              *problem.other_reports.get("features", [])]),
                ("evaluation", [(m.name, model_page(m.name)) for m in problem.models]),
                ("drift", list(problem.drift_pages.items())),
                ("bias", [(m.name, fairness_page(m.name)) for m in problem.models if m.fairness.get("applicable")])]
    return [(section, links) for section, links in sections if links]


def _ranking_context(problem: ProblemRecord, confidence: float) -> dict[str, Any] | None:
    """The champion decision: leaderboard, paired tests against the best model, every headline metric."""
    record = problem.champion
    if not record.get("ranking"):
        return None
    metric, selection = record["metric"], _selection(record)
    comparisons = pd.DataFrame([{"model_a": record["best"], **r["versus_best"]} for r in record["ranking"]
                                if r["versus_best"]])
    ranked = {r["model"] for r in record["ranking"]}
    intervals = pd.DataFrame([{"model": m.name, "metric": k, **v} for m in problem.models if m.name in ranked
                              for k, v in m.details["batches"][selection]["intervals"].items()])
    return {"champion": record["champion"], "family": record.get("family"), "metric": metric,
            "selection": selection, "lower_is_better": record["lower_is_better"],
            "leaderboard": html.table(_leaderboard(problem)),
            "paired": None if comparisons.empty else rf.paired_table(comparisons, confidence),
            "headline": rf.leaderboard_table(intervals, metric, ascending=metric in LOWER_IS_BETTER)}


def problem_page_html(problem: ProblemRecord, lineage: Mapping[str, Any], confidence: float) -> str:
    registry = [{"when": a["created_at"], "version": a["version"], "model": a["model"], "commit": a["commit"][:9],
                 "tag": a["tag"], "why": a["why"]} for a in problem.registry]
    others = [m for m in problem.models if m.details.get("kind", "supervised") != "supervised"]
    return html.render(
        "problem.html", title=f"Problem: {problem.name}", lineage=lineage, crumbs=[("reports", f"../{INDEX}")],
        name=problem.name, problem_type=problem.problem_type, target=problem.spec["target"],
        model_count=len(problem.models), reports=report_links(problem), confidence=confidence,
        ranking=_ranking_context(problem, confidence),
        unsupervised=[(f"{m.name} ({m.details['kind']})", model_page(m.name)) for m in others],
        promoted=promoted_cell(problem), registry=html.table(pd.DataFrame(registry)) if registry else None,
        missing=_missing_context(problem), drift=_drift_context(problem), bias=_bias_table(problem))


def data_page_html(problem: ProblemRecord, lineage: Mapping[str, Any]) -> str:
    data = problem.data
    return html.render(
        "data.html", title=f"Data: {problem.name}", lineage=lineage,
        crumbs=[("reports", f"../{INDEX}"), (problem.name, problem_page(problem.name))],
        source=data["source"], sha256=data["sha256"], quarantined=data.get("quarantined", 0),
        splits=html.table(pd.DataFrame({"split": list(data["rows"]), "rows": list(data["rows"].values())})),
        others=problem.other_reports.get("data docs", []))


def features_page_html(problem: ProblemRecord, lineage: Mapping[str, Any]) -> str:
    spec = problem.spec
    rows = [{"column": column, "role": role, "sensitive": "yes" if column in spec.get("sensitive", []) else "",
             "categories": len(spec.get("categories", {}).get(column, [])) or ""}
            for role in ("numeric", "ordinal", "categorical", "text") for column in spec.get(role, [])]
    guarded = [{"column": c, "action": action, "reason": r} for action, key in (("excluded", "excluded"),
                                                                                 ("kept", "warnings"))
               for c, r in spec.get(key, {}).items()]
    return html.render(
        "features.html", title=f"Features: {problem.name}", lineage=lineage,
        crumbs=[("reports", f"../{INDEX}"), (problem.name, problem_page(problem.name))],
        spec=spec, columns=html.table(pd.DataFrame(rows)), dropped=spec.get("dropped", []),
        guarded=html.table(pd.DataFrame(guarded)) if guarded else None,
        others=problem.other_reports.get("features", []))


# ---------------------------------------------------------------- hub


def gate_rows(problems: Sequence[ProblemRecord]) -> list[dict[str, Any]]:
    """One row per model: its gates and outcome (for the hub and the Prefect run)."""
    rows = []
    for problem in problems:
        for row in problem.champion.get("ranking", []):
            rows.append({"problem": problem.name, "model": row["model"], "family": row["family"],
                         **{gate: row["gates"].get(gate, {"status": "n/a"})["status"] for gate in GATES},
                         "outcome": row["status"],
                         "reasons": row["why"] if row["status"] == "rejected" else ""})
    return rows


def champion_cell(problem: ProblemRecord) -> str:
    """'roc_auc on holdout: 0.912 [0.90, 0.92]' for the problem's champion, empty without one."""
    record = problem.champion
    row = next((r for r in record.get("ranking", []) if r["status"] == "champion"), None)
    return "" if row is None else f"{record['metric']} on {_selection(record)}: {_ci(row)}"


GATE_BADGES = {"quality": "quality floor", "drift": "drift", "fairness": "fairness", "latency": "latency"}
_WORST = ("fail", "warn", "pass")


def _state(status: str | None) -> str:
    """A gate status as a badge state: pass, warn or fail; anything else (n/a, not run) is na."""
    return status if status in _WORST else "na"


def _worst(states: Sequence[str]) -> str:
    return next((s for s in _WORST if s in states), "na")


def batch_metrics(problem: ProblemRecord, model: ModelRecord) -> list[tuple[str, str, bool]]:
    """The problem's ranking metric for `model` on every evaluation batch, holdout first: (batch, value with its
    bootstrap interval where evaluate wrote one, whether the models were ranked on this batch)."""
    record = problem.champion
    metric, selection = record["metric"], _selection(record)
    intervals = model.details.get("batches", {})
    batches = _in_order({b: v for b, v in model.metrics.items() if isinstance(v, dict)})
    return [(b, _ci(intervals.get(b, {}).get("intervals", {}).get(metric) or {"value": v.get(metric)}), b == selection)
            for b, v in batches.items()]


def _drift_status(drift: Mapping[str, Any]) -> dict[str, str]:
    if not drift.get("applicable"):
        return {"state": "na", "detail": f"not run: {drift.get('reason', '')}"}
    batches = drift["batches"]
    states = [_state(entry.get("status")) for entry in batches.values()]
    flagged = [b for b, state in zip(batches, states, strict=True) if state in ("fail", "warn")]
    return {"state": _worst(states), "detail": f"{len(flagged)} of {len(batches)} batch(es) flagged"
                                                + (f": {', '.join(flagged)}" if flagged else "")}


def _bias_status(model: ModelRecord | None) -> dict[str, str]:
    if model is None or not model.fairness.get("applicable"):
        return {"state": "na", "detail": "no sensitive attribute audited"}
    failed = model.fairness.get("failed_attributes", [])
    return {"state": _state(model.fairness.get("status")),
            "detail": f"{model.name}: " + (f"fails on {', '.join(failed)}" if failed else "within limits")}


def dashboard_card(problem: ProblemRecord, pages_dir: str) -> dict[str, Any]:
    """What the hub shows of one problem: its champion (else the best-ranked model, held back by a gate), the
    promoted version, the ranking metric per batch, the gates as badges, drift and bias status, links."""
    record = problem.champion
    ranking = record.get("ranking", [])
    shown = next((r for r in ranking if r["status"] == "champion"), ranking[0] if ranking else None)
    model = next((m for m in problem.models if shown and m.name == shown["model"]), None)
    return {
        "name": problem.name, "href": f"{pages_dir}/{problem_page(problem.name)}",
        "problem_type": problem.problem_type, "model_count": len(problem.models),
        "champion": record.get("champion"), "family": record.get("family"),
        "leader": shown["model"] if shown and not record.get("champion") else None,
        "promoted": promoted_cell(problem), "headline": champion_cell(problem), "metric": record.get("metric"),
        "batches": batch_metrics(problem, model) if model else [],
        "gated_model": shown["model"] if shown else "",
        "gates": [(label, _state(shown["gates"].get(gate, {}).get("status")),
                   "; ".join(shown["gates"].get(gate, {}).get("reasons", []))) for gate, label in GATE_BADGES.items()]
        if shown else [],
        "drift": _drift_status(problem.drift), "bias": _bias_status(model),
        "reports": [(section, [(label, f"{pages_dir}/{href}") for label, href in pairs])
                    for section, pairs in report_links(problem)],
    }


def index_page_html(title: str, problems: Sequence[ProblemRecord], lineage: Mapping[str, Any], pages_dir: str,
                    standalone: Sequence[tuple[str, str]] = ()) -> str:
    """The hub, a dashboard: a card per problem, every model's gates, then reports of stages outside the
    problems (`standalone`: label, href)."""
    gates = pd.DataFrame(gate_rows(problems))
    if not gates.empty:
        gates = gates.assign(**{g: [html.badge(v) for v in gates[g]] for g in (*GATES, "outcome")})
    return html.page("index.html", title=title, lineage=lineage, crumbs=[],
                       cards=[dashboard_card(p, pages_dir) for p in problems],
                       gates=html.table(gates) if not gates.empty else None, standalone=list(standalone))


def leaderboard_metrics(problems: Sequence[ProblemRecord]) -> dict[str, Any]:
    """reports/leaderboard.json (a DVC metrics file): per problem, the champion and each model's ranking metric."""
    out = {}
    for problem in problems:
        record = problem.champion
        out[problem.name] = {"champion": record.get("champion") or "none", **{
            row["model"]: {"rank": row["rank"], record["metric"]: row["value"], "low": row["low"],
                           "high": row["high"], "status": row["status"]} for row in record.get("ranking", [])}}
    return out


def build_pages(problems: Sequence[ProblemRecord], lineages: Mapping[str, Mapping[str, Any]],
                confidence: float) -> dict[str, str]:
    """Every page of reports/pages: file name -> HTML; a problem's pages carry that problem's lineage."""
    pages = {}
    for problem in problems:
        lineage = lineages[problem.name]
        pages[problem_page(problem.name)] = problem_page_html(problem, lineage, confidence)
        pages[data_page(problem.name)] = data_page_html(problem, lineage)
        pages[features_page(problem.name)] = features_page_html(problem, lineage)
        for model in problem.models:
            pages[model_page(model.name)] = model_page_html(model, problem.name, lineage, confidence)
            if model.fairness.get("applicable"):
                pages[fairness_page(model.name)] = fairness_page_html(model, problem.name, lineage)
    return pages
