"""Group fairness: per-group metrics with bootstrap intervals, disparities between groups, and a gate.

Computed directly per group (Evidently's GroupBy reports the overall value for every group, so it is not used).
Inputs are binary: `y_true` 0/1, `proba` = P(positive), predictions are `proba >= threshold`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

from tasks.core.errors import DataError
from tasks.ml import stats
from tasks.ml.bands import MISSING, band

# reported name -> (metric function, takes probabilities)
GROUP_METRICS: dict[str, tuple[stats.MetricFn, bool]] = {
    "selection_rate": (stats.selection_rate, False),
    "accuracy": (stats.binary_accuracy, False),
    "tpr": (stats.recall, False),
    "fpr": (stats.false_positive_rate, False),
    "precision": (stats.precision, False),
    "auc": (stats.roc_auc, True),
}
def _groups(values: pd.Series, edges: Sequence[float] | None) -> pd.Series:
    """Group labels as strings, in category order (band order, or sorted values); NaN becomes MISSING."""
    grouped = band(values, edges) if edges is not None else values
    if not isinstance(grouped.dtype, pd.CategoricalDtype):
        grouped = grouped.astype("category")
    grouped = grouped.cat.rename_categories([str(c) for c in grouped.cat.categories])
    if grouped.isna().any():
        grouped = grouped.cat.add_categories(MISSING).fillna(MISSING)
    return grouped


def group_metrics(
    sensitive: pd.DataFrame, y_true: np.ndarray, proba: np.ndarray, *, threshold: float,
    bands: Mapping[str, Sequence[float]] | None = None, n_resamples: int, confidence: float = 0.95, seed: int,
) -> pd.DataFrame:
    """One row per (attribute, group): size, and each of GROUP_METRICS with `<name>_low`/`<name>_high` percentile
    bootstrap bounds (resampling within the group). Attributes named in `bands` are banded first."""
    bands = bands or {}
    unknown = sorted(set(bands) - set(sensitive.columns))
    if unknown:
        raise DataError(f"band edges given for {unknown}, which are not sensitive columns {list(sensitive.columns)}")
    y_true, proba = np.asarray(y_true), np.asarray(proba, dtype=float)
    if not len(y_true) == len(proba) == len(sensitive):
        raise DataError(f"fairness: {len(sensitive)} sensitive rows, {len(y_true)} labels, {len(proba)} scores")
    pred = (proba >= threshold).astype(int)
    rows = []
    for attribute in sensitive.columns:
        labels = _groups(sensitive[attribute].reset_index(drop=True), bands.get(attribute))
        codes = labels.cat.codes.to_numpy()
        for code, group in enumerate(labels.cat.categories):
            positions = np.flatnonzero(codes == code)
            if not len(positions):
                continue
            chosen = {name: (fn, (proba if uses_proba else pred)[positions])
                      for name, (fn, uses_proba) in GROUP_METRICS.items()}
            cis = stats.bootstrap_cis(chosen, y_true[positions], n_resamples=n_resamples,
                                      confidence=confidence, seed=seed)
            row = {"attribute": attribute, "group": group, "size": len(positions)}
            for name, (value, low, high) in cis.items():
                row.update({name: value, f"{name}_low": low, f"{name}_high": high})
            rows.append(row)
    return pd.DataFrame(rows)


def disparities(groups: pd.DataFrame, min_group_size: int = 0) -> pd.DataFrame:
    """Per attribute, over groups of at least `min_group_size` rows: demographic parity difference (max - min
    selection rate) and ratio (min / max), equalized-odds difference (the larger of the TPR and FPR ranges)."""
    rows = []
    for attribute, frame in groups.groupby("attribute", sort=False):
        kept = frame[frame["size"] >= min_group_size]
        rate, tpr, fpr = kept["selection_rate"], kept["tpr"], kept["fpr"]
        compared = len(kept) >= 2
        rows.append({
            "attribute": attribute,
            "groups_compared": len(kept),
            "groups_excluded": ", ".join(frame.loc[frame["size"] < min_group_size, "group"]),
            "demographic_parity_difference": rate.max() - rate.min() if compared else np.nan,
            "demographic_parity_ratio": rate.min() / rate.max() if compared and rate.max() > 0 else np.nan,
            "equalized_odds_difference": (max(tpr.max() - tpr.min(), fpr.max() - fpr.min())
                                          if compared else np.nan),
        })
    return pd.DataFrame(rows)


DISPARITIES = ("demographic_parity_difference", "demographic_parity_ratio", "equalized_odds_difference")


def _group_rates(codes: np.ndarray, y: np.ndarray, pred: np.ndarray, kept: Sequence[int],
                 idx: np.ndarray) -> dict[str, np.ndarray]:
    """Per resample (rows of `idx`) and kept group (columns): selection rate, TPR and FPR; NaN where undefined."""
    g, yy, pp = codes[idx], y[idx].astype(bool), pred[idx].astype(bool)
    out: dict[str, list[np.ndarray]] = {"selection_rate": [], "tpr": [], "fpr": []}
    with np.errstate(invalid="ignore", divide="ignore"):
        for code in kept:
            mask = g == code
            out["selection_rate"].append((mask & pp).sum(1) / mask.sum(1))
            out["tpr"].append((mask & yy & pp).sum(1) / (mask & yy).sum(1))
            out["fpr"].append((mask & ~yy & pp).sum(1) / (mask & ~yy).sum(1))
    return {k: np.stack(v, axis=1) for k, v in out.items()}


def disparity_intervals(groups: pd.Series, y_true: np.ndarray, pred: np.ndarray, *, min_group_size: int,
                        n_resamples: int, confidence: float, seed: int) -> dict[str, float]:
    """`<disparity>_low` / `<disparity>_high`: percentile bootstrap intervals of each of DISPARITIES over the groups
    of at least `min_group_size` rows, resampling the batch's rows (a disparity is a statistic of the whole batch)."""
    labels = _groups(groups.reset_index(drop=True), None) if not isinstance(groups.dtype, pd.CategoricalDtype) \
        else groups.reset_index(drop=True)
    codes = labels.cat.codes.to_numpy()
    kept = [c for c in range(len(labels.cat.categories)) if np.count_nonzero(codes == c) >= min_group_size]
    if len(kept) < 2:
        return {f"{k}_{side}": np.nan for k in DISPARITIES for side in ("low", "high")}
    y_true, pred = np.asarray(y_true), np.asarray(pred)
    values: dict[str, list[np.ndarray]] = {k: [] for k in DISPARITIES}
    for idx in stats.resample_indices(len(codes), n_resamples, seed):
        rates = _group_rates(codes, y_true, pred, kept, idx)
        with np.errstate(invalid="ignore", divide="ignore"):
            sel = rates["selection_rate"]
            values["demographic_parity_difference"].append(np.nanmax(sel, 1) - np.nanmin(sel, 1))
            values["demographic_parity_ratio"].append(np.nanmin(sel, 1) / np.nanmax(sel, 1))
            values["equalized_odds_difference"].append(np.fmax(
                np.nanmax(rates["tpr"], 1) - np.nanmin(rates["tpr"], 1),
                np.nanmax(rates["fpr"], 1) - np.nanmin(rates["fpr"], 1)))
    alpha = (1 - confidence) / 2
    out = {}
    for key, parts in values.items():
        draws = np.concatenate(parts)
        draws = draws[np.isfinite(draws)]
        low, high = np.quantile(draws, [alpha, 1 - alpha]) if len(draws) else (np.nan, np.nan)
        out.update({f"{key}_low": float(low), f"{key}_high": float(high)})
    return out


@dataclass(frozen=True)
class FairnessThresholds:
    """Gate limits; None skips a check. Groups under `min_group_size` rows are reported but not gated."""

    max_demographic_parity_difference: float | None = None
    min_demographic_parity_ratio: float | None = None
    max_equalized_odds_difference: float | None = None
    min_group_size: int = 0


def evaluate_fairness_gate(summary: pd.DataFrame, thresholds: FairnessThresholds,
                           intervals: Mapping[str, Mapping[str, float]] | None = None) -> tuple[str, list[str]]:
    """('pass' | 'warn' | 'fail', reasons) from a `group_metrics` table; an attribute with fewer than two gated
    groups cannot be compared and does not fail. With `intervals` (attribute -> `disparity_intervals`), a disparity
    fails only when its whole interval lies beyond the limit and warns when the interval straddles it; without
    them the point value is compared."""
    checks = [
        ("demographic_parity_difference", thresholds.max_demographic_parity_difference, "max"),
        ("demographic_parity_ratio", thresholds.min_demographic_parity_ratio, "min"),
        ("equalized_odds_difference", thresholds.max_equalized_odds_difference, "max"),
    ]
    reasons, failed = [], False
    for row in disparities(summary, thresholds.min_group_size).to_dict("records"):
        bounds = (intervals or {}).get(row["attribute"], {})
        for key, limit, kind in checks:
            value = row[key]
            if limit is None or pd.isna(value):
                continue
            low, high = bounds.get(f"{key}_low", value), bounds.get(f"{key}_high", value)
            sign = 1.0 if kind == "max" else -1.0        # > 0: beyond the limit
            near, far = (low, high) if kind == "max" else (high, low)
            if sign * (far - limit) <= 0:
                continue
            verdict = "fail" if sign * (near - limit) > 0 else "warn"
            failed |= verdict == "fail"
            shown = f"{value:.4f}" + (f" [{low:.4f}, {high:.4f}]" if bounds else "")
            reasons.append(f"{row['attribute']}: {key.replace('_', ' ')} {shown} "
                           f"{'beyond' if verdict == 'fail' else 'straddles'} {kind} {limit} "
                           f"over {row['groups_compared']} groups of >= {thresholds.min_group_size} rows"
                           + ("" if verdict == "fail" else " (warning: within noise of the limit)"))
    return ("fail" if failed else "warn" if reasons else "pass"), reasons


@dataclass(frozen=True)
class Audit:
    """Group metrics and disparities of one model on every batch, and the gate over all of them."""

    groups: pd.DataFrame        # batch + `group_metrics` columns
    disparities: pd.DataFrame   # batch + `disparities` columns
    status: str                 # 'pass' | 'warn' | 'fail'
    reasons: list[str]
    failed_attributes: list[str]

    def to_dict(self, threshold: float, limits: Mapping[str, FairnessThresholds]) -> dict[str, Any]:
        """JSON-ready summary (a DVC metrics file): the gate, its limits and each batch's disparities."""
        return {
            "applicable": True, "threshold": threshold, "status": self.status, "reasons": self.reasons,
            "failed_attributes": self.failed_attributes,
            "limits": {name: asdict(limit) for name, limit in limits.items()},
            "batches": {batch: {row.pop("attribute"): row for row in rows.drop(columns="batch").to_dict("records")}
                        for batch, rows in self.disparities.groupby("batch", sort=False)},
        }


def audit(
    batches: Mapping[str, tuple[pd.DataFrame, np.ndarray, np.ndarray]], *, threshold: float,
    bands: Mapping[str, Sequence[float]], n_resamples: int, confidence: float, seed: int,
    limits: Mapping[str, FairnessThresholds],
) -> Audit:
    """`batches`: name -> (sensitive columns, y 0/1, P(positive)). Each attribute is gated by its entry in
    `limits` (every sensitive column has one); a failure names its batch."""
    groups, gaps, reasons, failed_attributes, statuses = [], [], [], [], set()
    for batch, (sensitive, y_true, proba) in batches.items():
        table = group_metrics(sensitive, y_true, proba, threshold=threshold, bands=bands, n_resamples=n_resamples,
                              confidence=confidence, seed=seed)
        pred = (np.asarray(proba, dtype=float) >= threshold).astype(int)
        for attribute in sensitive.columns:
            rows = table[table["attribute"] == attribute]
            values = sensitive[attribute].reset_index(drop=True)
            bounds = disparity_intervals(_groups(values, bands.get(attribute)), y_true, pred,
                                         min_group_size=limits[attribute].min_group_size, n_resamples=n_resamples,
                                         confidence=confidence, seed=seed)
            status, found = evaluate_fairness_gate(rows, limits[attribute], {attribute: bounds})
            statuses.add(status)
            reasons += [f"{batch}: {reason}" for reason in found]
            if status == "fail" and attribute not in failed_attributes:
                failed_attributes.append(attribute)
            gaps.append(disparities(rows, limits[attribute].min_group_size).assign(batch=batch, **bounds))
        groups.append(table.assign(batch=batch))

    def batch_first(parts: list[pd.DataFrame]) -> pd.DataFrame:
        frame = pd.concat(parts, ignore_index=True)
        return frame[["batch", *frame.columns.drop("batch")]]

    status = "fail" if "fail" in statuses else "warn" if "warn" in statuses else "pass"
    return Audit(groups=batch_first(groups), disparities=batch_first(gaps), status=status, reasons=reasons,
                 failed_attributes=failed_attributes)
