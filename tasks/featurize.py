"""Featurize: derive the feature specification a model pipeline is built from.

The spec records column roles and the training data's domains. Nothing here transforms data: all fitting
happens inside each model's pipeline on training rows only, so a saved model scores raw rows.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import pandas as pd

from tasks.config import FeaturizeConfig, IngestConfig
from tasks.errors import DataError


@dataclass(frozen=True)
class FeatureSpec:
    """Column roles of one problem, plus what the training split looked like."""

    problem_type: str
    target: str
    numeric: list[str]
    ordinal: list[str]
    categorical: list[str]
    text: list[str] = field(default_factory=list)
    sensitive: list[str] = field(default_factory=list)
    classes: list[str | int] = field(default_factory=list)
    categories: dict[str, list[str]] = field(default_factory=dict)
    dropped: list[str] = field(default_factory=list)

    @property
    def features(self) -> list[str]:
        return [*self.numeric, *self.ordinal, *self.categorical, *self.text]

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> FeatureSpec:
        return cls(**data)


def build_spec(train: pd.DataFrame, ingest: IngestConfig, cfg: FeaturizeConfig, source: str) -> FeatureSpec:
    """Check the declared roles against the training split and record domains.

    Columns present in the data but given no role (other than target, id and time) are dropped from the
    features and listed in `dropped`, so an extra column never silently changes a model.
    """
    declared = [*cfg.numeric, *cfg.ordinal, *cfg.categorical, *cfg.text]
    duplicated = sorted({c for c in declared if declared.count(c) > 1})
    if duplicated:
        raise DataError(f"featurize: column(s) {duplicated} are given more than one role")
    missing = [c for c in declared if c not in train.columns]
    if missing:
        raise DataError(f"{source}: missing feature column(s) {missing} declared in featurize; "
                        f"found {sorted(map(str, train.columns))}")
    unknown_sensitive = [c for c in cfg.sensitive if c not in train.columns]
    if unknown_sensitive:
        raise DataError(f"{source}: sensitive column(s) {unknown_sensitive} (featurize.sensitive) not in the data")
    for column in [*cfg.numeric, *cfg.ordinal]:
        values = train[column]
        bad = pd.to_numeric(values.astype("object"), errors="coerce").isna() & values.notna()
        if bad.any():
            raise DataError(f"{source}: column {column!r} is declared numeric/ordinal but holds non-numeric "
                            f"values, e.g. {values[bad].astype(str).unique()[:3].tolist()}")
    reserved = {ingest.target, ingest.time_column, ingest.id_column}
    unlisted = [c for c in train.columns if c not in declared and c not in reserved]
    inferred_numeric, inferred_categorical = [], []
    if cfg.infer:
        inferred_numeric = [c for c in unlisted if pd.api.types.is_numeric_dtype(train[c])
                            and not pd.api.types.is_bool_dtype(train[c])]
        inferred_categorical = [c for c in unlisted if c not in inferred_numeric]
        unlisted = []
    dropped = sorted(str(c) for c in unlisted)
    classes: list = []
    if ingest.problem_type != "regression":
        classes = sorted(pd.unique(train[ingest.target]).tolist())
        if len(classes) < 2:
            raise DataError(f"{source}: target {ingest.target!r} has a single class {classes}; "
                            "a classifier needs at least two")
    categories = {c: sorted(train[c].dropna().astype(str).unique().tolist())
                  for c in [*cfg.categorical, *inferred_categorical]}
    return FeatureSpec(
        problem_type=ingest.problem_type,
        target=ingest.target,
        numeric=[*cfg.numeric, *inferred_numeric],
        ordinal=list(cfg.ordinal),
        categorical=[*cfg.categorical, *inferred_categorical],
        text=list(cfg.text),
        sensitive=list(cfg.sensitive),
        classes=classes,
        categories=categories,
        dropped=dropped,
    )
