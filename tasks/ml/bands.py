"""Numeric attributes grouped into [lo, hi) bands, as fairness groups and Simpson segments use them."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from tasks.core.errors import DataError

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
