"""Simpson's paradox check: a rate difference between groups that reverses within segments.

For each binary outcome per row (a model's positive prediction, its correctness, the observed label), each sensitive
attribute and each segment column: every group of at least `min_group_size` rows is compared with the attribute's
largest group, overall and within each segment where both groups have at least `min_cell_size` rows. A segment
*reverses* when its difference has the opposite sign of the overall one. The Mantel-Haenszel odds ratio pooled over
those segments (statsmodels `StratifiedTable`) is the segment-adjusted comparison; set beside the crude odds ratio of
the same rows it shows whether adjusting for the segment flips the direction (the paradox proper).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from statsmodels.stats.contingency_tables import StratifiedTable, Table2x2

from tasks.core.errors import DataError
from tasks.ml.bands import MISSING, band

COMPARISON_COLUMNS = [
    "outcome", "attribute", "group", "reference", "segment_column", "group_size", "reference_size", "group_rate",
    "reference_rate", "difference", "segments_compared", "segments_reversed", "crude_odds_ratio",
    "mantel_haenszel_odds_ratio", "mantel_haenszel_p_value", "adjusted_direction_reversed",
]
SEGMENT_COLUMNS = [
    "outcome", "attribute", "group", "reference", "segment_column", "segment", "group_size", "reference_size",
    "group_rate", "reference_rate", "difference", "reversed",
]


@dataclass(frozen=True)
class SimpsonResult:
    """`comparisons`: one row per (outcome, attribute, group vs reference, segment column); `segments`: the rows
    behind them, one per compared segment (`reversed` marks where the difference changes sign)."""

    comparisons: pd.DataFrame
    segments: pd.DataFrame

    def summary(self) -> dict[str, int]:
        return {"comparisons": len(self.comparisons),
                "with_reversed_segments": int((self.comparisons["segments_reversed"] > 0).sum()),
                "adjusted_direction_reversed": int(self.comparisons["adjusted_direction_reversed"].sum())}


def segment_labels(values: pd.Series, edges: Sequence[float] | None) -> pd.Series:
    """Segment labels as strings: bands of `edges` (numeric codes stored as categories too), else the values."""
    if edges is not None and not pd.api.types.is_numeric_dtype(values):
        try:
            values = pd.to_numeric(values.astype("string"), errors="raise").rename(values.name)
        except ValueError:
            raise DataError(f"segment column {values.name!r} has band edges {list(edges)} but non-numeric values; "
                            "remove its fairness.bands entry") from None
    values = values.reset_index(drop=True)
    labelled = (band(values, edges) if edges is not None else values).astype(object)
    return labelled.where(labelled.notna(), MISSING).astype(str)


def compare(outcome: pd.Series, group: pd.Series, segment: pd.Series, a: str, b: str,
            min_cell_size: int) -> tuple[dict, pd.DataFrame]:
    """Group `a` against reference `b` on a 0/1 `outcome`, overall and within each `segment` (aligned Series)."""
    rows = pd.DataFrame({"group": group, "segment": segment, "y": outcome.astype(int)})
    rows = rows[rows["group"].isin([a, b])]
    overall = rows.groupby("group")["y"].agg(["size", "mean"])
    difference = overall.loc[a, "mean"] - overall.loc[b, "mean"]
    cells = rows.groupby(["segment", "group"])["y"].agg(["size", "sum"]).unstack("group", fill_value=0)
    cells = cells[(cells["size"][a] >= min_cell_size) & (cells["size"][b] >= min_cell_size)]
    rate_a, rate_b = cells["sum"][a] / cells["size"][a], cells["sum"][b] / cells["size"][b]
    within = rate_a - rate_b
    segments = pd.DataFrame({
        "segment": cells.index.astype(str), "group_size": cells["size"][a].to_numpy(),
        "reference_size": cells["size"][b].to_numpy(), "group_rate": rate_a.to_numpy(),
        "reference_rate": rate_b.to_numpy(), "difference": within.to_numpy(),
        "reversed": (np.sign(within.to_numpy()) == -np.sign(difference)) & (difference != 0),
    })
    crude = mh = p_value = float("nan")
    if len(cells):
        positive_a, positive_b = cells["sum"][a].to_numpy(), cells["sum"][b].to_numpy()
        tables = np.array([[positive_a, cells["size"][a].to_numpy() - positive_a],  # 2 x 2 x segments
                           [positive_b, cells["size"][b].to_numpy() - positive_b]], dtype=float)
        crude = float(Table2x2(tables.sum(axis=2)).oddsratio)
        with np.errstate(divide="ignore", invalid="ignore"):
            stratified = StratifiedTable(tables)
            mh, p_value = float(stratified.oddsratio_pooled), float(stratified.test_null_odds(correction=True).pvalue)
    return {
        "group": a, "reference": b, "group_size": int(overall.loc[a, "size"]),
        "reference_size": int(overall.loc[b, "size"]), "group_rate": float(overall.loc[a, "mean"]),
        "reference_rate": float(overall.loc[b, "mean"]), "difference": float(difference),
        "segments_compared": len(segments), "segments_reversed": int(segments["reversed"].sum()),
        "crude_odds_ratio": crude, "mantel_haenszel_odds_ratio": mh, "mantel_haenszel_p_value": p_value,
        "adjusted_direction_reversed": bool(np.sign(np.log(crude)) * np.sign(np.log(mh)) < 0)
        if crude > 0 and mh > 0 else False,
    }, segments


def check(frame: pd.DataFrame, outcomes: Mapping[str, np.ndarray], *, attributes: Sequence[str],
          segments: Sequence[str], bands: Mapping[str, Sequence[float]] | None = None, min_group_size: int = 0,
          min_cell_size: int = 1) -> SimpsonResult:
    """Every outcome x attribute x segment column (other than the attribute): each group of at least
    `min_group_size` rows against the attribute's largest group. `frame` holds the attribute and segment columns,
    row-aligned with each outcome (0/1 per row); columns named in `bands` are banded first."""
    bands = bands or {}
    absent = sorted((set(attributes) | set(segments)) - set(frame.columns))
    if absent:
        raise DataError(f"Simpson check: column(s) {absent} are not in the data (columns {list(frame.columns)})")
    for name, values in outcomes.items():
        if len(values) != len(frame):
            raise DataError(f"Simpson check: outcome {name!r} has {len(values)} values for {len(frame)} rows")
    labels = {c: segment_labels(frame[c], bands.get(c)) for c in dict.fromkeys([*attributes, *segments])}
    comparisons, rows = [], []
    for name, values in outcomes.items():
        outcome = pd.Series(np.asarray(values))
        for attribute in attributes:
            sizes = labels[attribute].value_counts()
            sizes = sizes[sizes >= min_group_size]
            if len(sizes) < 2:
                continue
            reference = str(sizes.index[0])
            for column in (c for c in segments if c != attribute):
                for group in (str(g) for g in sizes.index[1:]):
                    head = {"outcome": name, "attribute": attribute, "segment_column": column}
                    summary, within = compare(outcome, labels[attribute], labels[column], group, reference,
                                              min_cell_size)
                    comparisons.append(head | summary)
                    rows.append(within.assign(**head, group=group, reference=reference))
    segment_rows = pd.concat(rows, ignore_index=True) if rows else pd.DataFrame()
    return SimpsonResult(comparisons=pd.DataFrame(comparisons, columns=COMPARISON_COLUMNS),
                         segments=segment_rows.reindex(columns=SEGMENT_COLUMNS))
