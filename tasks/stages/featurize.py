"""Featurize: derive the feature specification a model pipeline is built from.

The spec records column roles and the training data's domains. Nothing here transforms data: all fitting
happens inside each model's pipeline on training rows only, so a saved model scores raw rows.
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from tasks.core.artefacts import FeatureSpec
from tasks.core.config import FeaturizeConfig, IngestConfig
from tasks.core.errors import DataError
from tasks.ml.guards import Findings, check_columns


def build_spec(train: pd.DataFrame, ingest: IngestConfig, cfg: FeaturizeConfig, source: str,
               repeated_headers: Mapping[str, str] | None = None, seed: int = 0) -> FeatureSpec:
    """Check the declared roles against the training split, apply the guard rails and record domains.

    Columns present in the data but given no role (other than target, id and time) are dropped from the
    features and listed in `dropped`, so an extra column never silently changes a model. Columns a guard rail
    excludes (tasks/ml/guards.py; `repeated_headers`: columns pandas renamed for a repeated header) are listed in
    `excluded` with the reason.
    """
    declared = [*cfg.numeric, *cfg.ordinal, *cfg.categorical, *cfg.text]
    duplicated = sorted({c for c in declared if declared.count(c) > 1})
    if duplicated:
        raise DataError(f"featurize: column(s) {duplicated} are given more than one role")
    missing = [c for c in declared if c not in train.columns]
    if missing:
        raise DataError(f"{source}: missing feature column(s) {missing} declared in featurize; "
                        f"found {sorted(map(str, train.columns))}")
    for key, columns in (("keep", cfg.keep), ("drop", cfg.drop)):
        unknown = [c for c in columns if c not in train.columns]
        if unknown:
            raise DataError(f"{source}: features.{key} names column(s) {unknown} that are not in the data")
    both = sorted(set(cfg.drop) & {*declared, *cfg.keep})
    if both:
        raise DataError(f"featurize: column(s) {both} are in features.drop and also given a role or kept")
    unknown_sensitive = [c for c in cfg.sensitive if c not in train.columns]
    if unknown_sensitive:
        raise DataError(f"{source}: sensitive column(s) {unknown_sensitive} (featurize.sensitive) not in the data")
    for column in [*cfg.numeric, *cfg.ordinal]:
        values = train[column]
        bad = pd.to_numeric(values.astype("object"), errors="coerce").isna() & values.notna()
        if bad.any():
            raise DataError(f"{source}: column {column!r} is declared numeric/ordinal but holds non-numeric "
                            f"values, e.g. {values[bad].astype(str).unique()[:3].tolist()}")
    reserved = {ingest.target, ingest.time_column, ingest.id_column, *cfg.drop}
    unlisted = [c for c in train.columns if c not in declared and c not in reserved]
    inferred_numeric, inferred_categorical = [], []
    if cfg.infer:
        inferred_numeric = [c for c in unlisted if pd.api.types.is_numeric_dtype(train[c])
                            and not pd.api.types.is_bool_dtype(train[c])]
        inferred_categorical = [c for c in unlisted if c not in inferred_numeric]
        unlisted = []
    dropped = sorted(str(c) for c in [*unlisted, *cfg.drop])
    findings = guard(train, ingest, cfg, inferred_numeric + inferred_categorical, repeated_headers or {}, seed)
    out = set(findings.excluded)
    numeric = [c for c in [*cfg.numeric, *inferred_numeric] if c not in out]
    ordinal = [c for c in cfg.ordinal if c not in out]
    categorical = [c for c in [*cfg.categorical, *inferred_categorical] if c not in out]
    if not [*numeric, *ordinal, *categorical, *cfg.text]:
        raise DataError(f"{source}: no feature column is left; the guard rails excluded {findings.excluded} "
                        "(features.keep opts a column back in)")
    classes: list = []
    if ingest.problem_type != "regression":
        classes = sorted(pd.unique(train[ingest.target]).tolist())
        if len(classes) < 2:
            raise DataError(f"{source}: target {ingest.target!r} has a single class {classes}; "
                            "a classifier needs at least two")
    categories = {c: sorted(train[c].dropna().astype(str).unique().tolist()) for c in categorical}
    return FeatureSpec(
        problem_type=ingest.problem_type,
        target=ingest.target,
        numeric=numeric,
        ordinal=ordinal,
        categorical=categorical,
        text=list(cfg.text),
        sensitive=list(cfg.sensitive),
        classes=classes,
        categories=categories,
        dropped=dropped,
        excluded=findings.excluded,
        warnings=findings.warnings,
        notes=findings.notes,
        id_column=ingest.id_column,
    )


def guard(train: pd.DataFrame, ingest: IngestConfig, cfg: FeaturizeConfig, inferred: list[str],
          duplicated: Mapping[str, str], seed: int) -> Findings:
    """The guard rails' findings on the feature columns (text columns are prose by declaration; pixel columns of
    an image problem are features by design)."""
    if not cfg.guards.enabled:
        return Findings(notes=["guard rails off (features.guards.enabled: false)"])
    if cfg.image_shape:
        return Findings(notes=["guard rails skipped: the pixel columns of an image problem (features.image_shape)"])
    return check_columns(train, target=ingest.target, problem_type=ingest.problem_type, inferred=inferred,
                         declared=[*cfg.numeric, *cfg.ordinal, *cfg.categorical], duplicated=duplicated,
                         keep=cfg.keep, options=cfg.guards, seed=seed)
