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

from tasks import stats
from tasks.errors import DataError

# reported name -> (metric function, takes probabilities)
GROUP_METRICS: dict[str, tuple[stats.MetricFn, bool]] = {
    "selection_rate": (stats.selection_rate, False),
    "accuracy": (stats.binary_accuracy, False),
    "tpr": (stats.recall, False),
    "fpr": (stats.false_positive_rate, False),
    "precision": (stats.precision, False),
    "auc": (stats.roc_auc, True),
}
MISSING = "missing"


def band_labels(edges: Sequence[float]) -> list[str]:
    """'0-24', '25-44', ... for integer edges [0, 25, 45, ...) (upper edge exclusive); '0.5-1.5' otherwise."""
    if all(float(e).is_integer() for e in edges):
        return [f"{int(lo)}-{int(hi) - 1}" for lo, hi in zip(edges[:-1], edges[1:], strict=True)]
    return [f"{lo:g}-{hi:g}" for lo, hi in zip(edges[:-1], edges[1:], strict=True)]


def band(values: pd.Series, edges: Sequence[float]) -> pd.Series:
    """Bin a numeric attribute into [edge_i, edge_i+1) bands; a value outside the edges is a DataError."""
    if list(edges) != sorted(set(edges)) or len(edges) < 2:
        raise DataError(f"band edges for {values.name!r} must be at least two strictly increasing numbers: {edges}")
    banded = pd.cut(values, bins=list(edges), right=False, labels=band_labels(edges))
    outside = banded.isna() & values.notna()
    if outside.any():
        raise DataError(f"{values.name!r}: value(s) {sorted(values[outside].unique().tolist())[:5]} fall outside "
                        f"the band edges {list(edges)}")
    return banded


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


@dataclass(frozen=True)
class FairnessThresholds:
    """Gate limits; None skips a check. Groups under `min_group_size` rows are reported but not gated."""

    max_demographic_parity_difference: float | None = None
    min_demographic_parity_ratio: float | None = None
    max_equalized_odds_difference: float | None = None
    min_group_size: int = 0


def evaluate_fairness_gate(summary: pd.DataFrame, thresholds: FairnessThresholds) -> tuple[str, list[str]]:
    """('pass' | 'fail', reasons) from a `group_metrics` table; an attribute with fewer than two gated groups
    cannot be compared and does not fail."""
    checks = [
        ("demographic_parity_difference", thresholds.max_demographic_parity_difference, "max"),
        ("demographic_parity_ratio", thresholds.min_demographic_parity_ratio, "min"),
        ("equalized_odds_difference", thresholds.max_equalized_odds_difference, "max"),
    ]
    reasons = []
    for row in disparities(summary, thresholds.min_group_size).to_dict("records"):
        for key, limit, kind in checks:
            value = row[key]
            if limit is None or pd.isna(value):
                continue
            if (kind == "max" and value > limit) or (kind == "min" and value < limit):
                reasons.append(f"{row['attribute']}: {key.replace('_', ' ')} {value:.4f} "
                               f"{'>' if kind == 'max' else '<'} {kind} {limit} "
                               f"over {row['groups_compared']} groups of >= {thresholds.min_group_size} rows")
    return ("fail" if reasons else "pass"), reasons


@dataclass(frozen=True)
class Audit:
    """Group metrics and disparities of one model on every batch, and the gate over all of them."""

    groups: pd.DataFrame        # batch + `group_metrics` columns
    disparities: pd.DataFrame   # batch + `disparities` columns
    status: str                 # 'pass' | 'fail'
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
    groups, gaps, reasons, failed_attributes = [], [], [], []
    for batch, (sensitive, y_true, proba) in batches.items():
        table = group_metrics(sensitive, y_true, proba, threshold=threshold, bands=bands, n_resamples=n_resamples,
                              confidence=confidence, seed=seed)
        for attribute in sensitive.columns:
            rows = table[table["attribute"] == attribute]
            _, failed = evaluate_fairness_gate(rows, limits[attribute])
            reasons += [f"{batch}: {reason}" for reason in failed]
            if failed and attribute not in failed_attributes:
                failed_attributes.append(attribute)
            gaps.append(disparities(rows, limits[attribute].min_group_size).assign(batch=batch))
        groups.append(table.assign(batch=batch))

    def batch_first(parts: list[pd.DataFrame]) -> pd.DataFrame:
        frame = pd.concat(parts, ignore_index=True)
        return frame[["batch", *frame.columns.drop("batch")]]

    return Audit(groups=batch_first(groups), disparities=batch_first(gaps), status="fail" if reasons else "pass",
                 reasons=reasons, failed_attributes=failed_attributes)
