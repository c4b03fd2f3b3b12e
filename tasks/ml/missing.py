"""Missing values: how many a problem's splits hold, and which models compare native NaN routing with imputation.

A model with the feature option `impute: false` hands NaN to its trees, which route it themselves (XGBoost and
LightGBM learn a default direction per split, scikit-learn's trees send missing values to the side that lowers the
impurity most). Its *imputed twin* is the model of the same family, hyperparameters and feature options that imputes
(median for numeric columns, the mode for categorical ones): the pair isolates the missing-value handling.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd


def missing_counts(frame: pd.DataFrame, columns: Sequence[str]) -> dict[str, Any]:
    """Rows, rows with at least one missing value among `columns`, and the missing values of each such column."""
    missing = frame[list(columns)].isna()
    per_column = missing.sum()
    return {"rows": len(frame), "rows_with_missing": int(missing.any(axis=1).sum()),
            "columns": {c: int(n) for c, n in per_column.items() if n}}


def imputed_twins(metas: Mapping[str, Mapping[str, Any]]) -> list[tuple[str, str]]:
    """(native model, its imputed twin) for every model whose `feature_options.impute` is false and that has one;
    `metas` are the models' meta.json records by name, in the order they are reported."""
    def signature(meta: Mapping[str, Any], impute: bool) -> tuple:
        options = {**meta.get("feature_options", {}), "impute": impute}
        return meta["family"], repr(sorted(meta.get("hyperparameters", {}).items())), repr(sorted(options.items()))

    imputing = {signature(meta, True): name for name, meta in metas.items()
                if meta.get("feature_options", {}).get("impute", True)}
    return [(name, imputing[signature(meta, True)]) for name, meta in metas.items()
            if meta.get("feature_options", {}).get("impute", True) is False and signature(meta, True) in imputing]
