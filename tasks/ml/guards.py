"""Guard rails on a problem's candidate feature columns: what should not become a feature, and why.

Checked on the training split before any model sees it. A column an inferred role would make a feature is
excluded when it is a repeated header, constant, id-like or near-unique text, a date or free text, of very high
cardinality, or when it alone predicts the target almost perfectly (leakage); one that alone predicts it very well
is kept with a warning to check it is known before the outcome. A column given a role explicitly is excluded only
for a repeated header or leakage; the other findings are reported as warnings. `features.keep` opts a column back
in, `features.drop` leaves one out. Every check reads at most `GuardOptions.sample_rows` rows (seeded), so the cost
is bounded whatever the data's size.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sklearn.metrics import balanced_accuracy_score, r2_score, roc_auc_score
from sklearn.model_selection import KFold, StratifiedKFold, cross_val_predict
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

from tasks.core.config import GuardOptions

ID_NAME = re.compile(r"(^|[_\W])(id|key|uuid|guid|index|row|number|no)$|^(id|idx)[_\W]|id$", re.IGNORECASE)


@dataclass(frozen=True)
class Findings:
    """Column -> reason, for the columns excluded and for those kept with a warning; notes on what was capped."""

    excluded: dict[str, str] = field(default_factory=dict)
    warnings: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def check_columns(train: pd.DataFrame, *, target: str, problem_type: str, inferred: Sequence[str],
                  declared: Sequence[str], duplicated: Mapping[str, str], keep: Sequence[str],
                  options: GuardOptions, seed: int) -> Findings:
    """The guard rails' findings on `inferred` (roles from dtypes) and `declared` (roles from params) columns."""
    excluded: dict[str, str] = {}
    warnings: dict[str, str] = {}
    notes: list[str] = []
    sample = train.sample(min(options.sample_rows, len(train)), random_state=seed) if len(train) else train
    if len(train) > len(sample):
        notes.append(f"guard rails read a seeded sample of {len(sample):,} of {len(train):,} training rows")

    def find(column: str, reason: str, hard: bool) -> None:
        if column in keep:
            warnings[column] = f"{reason}; kept (features.keep)"
        elif hard or column in inferred:
            excluded[column] = reason
        else:
            warnings[column] = f"{reason}; kept: its role is declared (features.keep silences this)"

    for column in [*inferred, *declared]:
        if column in duplicated:
            find(column, f"duplicated header {duplicated[column]!r}: a second column of that name in the file "
                         f"(pandas named it {column!r})", hard=True)
            continue
        reason = shape_problem(train[column], sample[column], options)
        if reason:
            find(column, reason, hard=False)
    probed = [c for c in [*inferred, *declared] if c not in excluded]
    if len(probed) > options.max_probe_columns:
        notes.append(f"leakage probe on the first {options.max_probe_columns} of {len(probed)} columns "
                     "(guards.max_probe_columns)")
        probed = probed[:options.max_probe_columns]
    for column in probed:
        score = single_feature_score(sample[column], sample[target], problem_type, seed)
        if score is not None and score[1] >= options.leakage_threshold:
            find(column, f"likely leakage: alone it predicts the target with {score[0]} {score[1]:.3f} "
                         f"(one shallow tree, cross-validated; >= {options.leakage_threshold})", hard=True)
        elif score is not None and score[1] >= options.leakage_warning and column not in keep:
            warnings[column] = (f"strong alone: {score[0]} {score[1]:.3f} (>= {options.leakage_warning}); if it is "
                                f"recorded after the outcome it leaks: features.drop: [{column}]")
        elif column not in keep and sample[column].isna().any():
            missing = single_feature_score(sample[column].isna().astype(int), sample[target], problem_type, seed)
            if missing is not None and missing[1] >= options.missing_warning:
                warnings[column] = (f"whether it is missing alone predicts the target ({missing[0]} {missing[1]:.3f} "
                                    f">= {options.missing_warning}): if it is filled in after the outcome it leaks: "
                                    f"features.drop: [{column}]")
    return Findings(excluded=excluded, warnings=warnings, notes=notes)


def shape_problem(values: pd.Series, sample: pd.Series, options: GuardOptions) -> str | None:
    """Why a column's values make a poor numeric/categorical feature, or None."""
    present = values.dropna()
    if present.empty or present.nunique() <= 1:
        return f"constant ({present.iloc[0]!r} or missing)" if len(present) else "every value missing"
    distinct, rows = int(present.nunique()), len(present)
    if pd.api.types.is_datetime64_any_dtype(values):
        return "a date/time: not a numeric or categorical feature (derive features from it, or make it the period " \
               "column)"
    if pd.api.types.is_bool_dtype(values):
        return None
    if pd.api.types.is_integer_dtype(values):
        contiguous = int(present.max()) - int(present.min()) + 1 <= 1.1 * distinct
        if distinct / rows >= options.unique_ratio and (contiguous or ID_NAME.search(str(values.name))):
            return f"id-like: {distinct:,} distinct integers in {rows:,} rows"
        return None
    if pd.api.types.is_numeric_dtype(values):
        return None
    text = sample.dropna().astype(str)
    if looks_like_dates(text):
        return "a date/time written as text: not a numeric or categorical feature (derive features from it, or " \
               "make it the period column)"
    if distinct / rows >= options.unique_ratio:
        kind = "free text" if text.str.split().str.len().median() >= 5 else "an id or a name"
        return f"near-unique text ({distinct:,} distinct in {rows:,} rows): {kind} (use the text role for prose)"
    if distinct > options.max_categories:
        return f"very high cardinality: {distinct:,} categories (> guards.max_categories {options.max_categories})"
    return None


def looks_like_dates(text: pd.Series) -> bool:
    """Most of a text column's values parse as dates and contain a date separator (not plain numbers)."""
    head = text.head(200)
    if head.empty or not head.str.contains(r"\d[-/.:]\d", regex=True).mean() > 0.9:
        return False
    parsed = pd.to_datetime(head, errors="coerce", format="mixed")
    return bool(parsed.notna().mean() > 0.9)


DEPTH = 3  # classification: a few splits isolate a leaking value or range
REGRESSION_DEPTH = 8


def single_feature_score(feature: pd.Series, target: pd.Series, problem_type: str, seed: int
                         ) -> tuple[str, float] | None:
    """How well `feature` alone predicts `target`: cross-validated ROC AUC (binary), balanced accuracy
    (multiclass) or R^2 (regression) of a shallow tree; None when there is too little data to say."""
    x = as_codes(feature).reshape(-1, 1)
    if problem_type == "regression":  # a deeper tree: a continuous derivative of the target has many levels
        y = pd.to_numeric(target, errors="coerce").to_numpy(dtype=float)
        if len(y) < 30 or np.nanstd(y) == 0 or np.isnan(y).any():
            return None
        folds = KFold(3, shuffle=True, random_state=seed)
        tree = DecisionTreeRegressor(max_depth=REGRESSION_DEPTH, min_samples_leaf=5, random_state=seed)
        return "R^2", float(r2_score(y, cross_val_predict(tree, x, y, cv=folds)))
    classes, y = np.unique(target.astype(str).to_numpy(), return_inverse=True)
    counts = np.bincount(y)
    if len(classes) < 2 or counts.min() < 3:
        return None
    folds = StratifiedKFold(3, shuffle=True, random_state=seed)
    tree = DecisionTreeClassifier(max_depth=DEPTH, random_state=seed)
    if problem_type == "binary" and len(classes) == 2:
        proba = cross_val_predict(tree, x, y, cv=folds, method="predict_proba")[:, 1]
        return "ROC AUC", float(roc_auc_score(y, proba))
    return "balanced accuracy", float(balanced_accuracy_score(y, cross_val_predict(tree, x, y, cv=folds)))


def as_codes(feature: pd.Series) -> np.ndarray:
    """One number per row for a tree: the value for numbers, the frequency rank for anything else (so a few
    splits isolate the common categories); missing values get their own code."""
    if pd.api.types.is_numeric_dtype(feature) and not pd.api.types.is_bool_dtype(feature):
        values = feature.to_numpy(dtype=float)
        low = np.nanmin(values) if np.isfinite(values).any() else 0.0
        return np.where(np.isnan(values), low - 1, values)
    text = feature.astype("string").fillna("\0missing")
    ranks = {value: rank for rank, value in enumerate(text.value_counts().index)}
    return text.map(ranks).to_numpy(dtype=float)
