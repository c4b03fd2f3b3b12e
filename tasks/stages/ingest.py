"""Ingest: read a problem's raw data, check it has what the problem needs, split it by period and at random."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split

from tasks.adapters.sources import DUPLICATED_HEADERS, load_source
from tasks.core.artefacts import HOLDOUT, TEST, TRAIN, VALID, batch_name
from tasks.core.config import IngestConfig, Period
from tasks.core.errors import DataError


def load_raw(cfg: IngestConfig) -> pd.DataFrame:
    """Read the problem's source (a file or a package dataset, see tasks/adapters/sources.py) with its reader
    options, and check the columns the split needs are present and usable."""
    frame = _read(cfg, cfg.source)
    if cfg.time_column is not None:
        found = set(frame[cfg.time_column].dropna().unique().tolist())
        absent = [p for p in [cfg.reference_period, cfg.validation_period, *cfg.current_periods]
                  if p is not None and period_value(p, frame[cfg.time_column]) not in found]
        if absent:
            raise DataError(f"{cfg.source}: column {cfg.time_column!r} has no rows for period(s) {absent}; found "
                            f"{sorted(map(str, found))[:20]}")
    return frame


def load_test(cfg: IngestConfig, columns: pd.Index) -> pd.DataFrame | None:
    """The separate test file (`test_source`), read like the source; it must have the source's columns."""
    if cfg.test_source is None:
        return None
    frame = _read(cfg, cfg.test_source)
    missing = [c for c in columns if c not in frame.columns and c != cfg.time_column]
    if missing:
        raise DataError(f"{cfg.test_source}: the test file lacks column(s) {missing} of {cfg.source}")
    return frame[[c for c in columns if c in frame.columns]]


def _read(cfg: IngestConfig, source: str) -> pd.DataFrame:
    frame = load_source(source, cfg.read)
    for role, column in (("target", cfg.target), ("time_column", cfg.time_column), ("id_column", cfg.id_column)):
        if column is not None and column not in frame.columns and not (source == cfg.test_source
                                                                       and role == "time_column"):
            raise DataError(f"{source}: missing column {column!r} (data.{role}); found columns "
                            f"{sorted(map(str, frame.columns))}")
    if cfg.target_map:
        frame[cfg.target] = frame[cfg.target].replace(cfg.target_map)
    if frame[cfg.target].isna().any():
        rows = frame.index[frame[cfg.target].isna()][:5].tolist()
        raise DataError(
            f"{source}: target column {cfg.target!r} has {int(frame[cfg.target].isna().sum())} missing values "
            f"(first rows {rows}); every row needs a label"
        )
    return frame


def period_value(period: Period, column: pd.Series) -> Any:
    """A configured period as the column holds it: a Timestamp for a datetime column, an int for an integer
    column given '2016', text for a text column (a YAML date or number compared as written)."""
    if pd.api.types.is_datetime64_any_dtype(column):
        return pd.Timestamp(period)
    if pd.api.types.is_integer_dtype(column) and str(period).lstrip("-").isdigit():
        return int(period)
    if pd.api.types.is_float_dtype(column):
        try:
            return float(period)
        except ValueError:
            return period
    if pd.api.types.is_numeric_dtype(column) or pd.api.types.is_bool_dtype(column):
        return period
    return str(period)


def split(frame: pd.DataFrame, cfg: IngestConfig, seed: int, test: pd.DataFrame | None = None
          ) -> dict[str, pd.DataFrame]:
    """Reference period (or all rows, without a period column) -> train/valid/holdout (stratified for
    classification); each later period -> a batch; the test file -> the batch `test`.

    The validation split is `validation_period` when given, else a random share of the reference period; there is
    no holdout with `holdout_fraction: 0`. `sample_fraction` < 1 keeps a seeded sample of every period (quick runs).
    """
    rng = np.random.default_rng(seed)
    parts: dict[Any, pd.DataFrame] = {}
    # row positions per period: each wanted period is copied out once (materialising every group and then
    # resetting its index copied the data twice more; 4.4M rows peaked at 1.4 GiB)
    column = frame[cfg.time_column] if cfg.time_column else None
    rows = frame.groupby(cfg.time_column, sort=True).indices if cfg.time_column else {None: np.arange(len(frame))}
    wanted = [cfg.reference_period, *([cfg.validation_period] if cfg.validation_period is not None else []),
              *cfg.current_periods]
    for period in wanted:
        group = frame.iloc[rows[period_value(period, column) if column is not None else None]]
        parts[period] = _sampled(group, cfg, rng)

    reference = parts.pop(cfg.reference_period)
    holdout = None
    if cfg.holdout_fraction > 0:
        reference, holdout = train_test_split(reference, test_size=cfg.holdout_fraction, random_state=seed,
                                              stratify=_strata(reference, cfg))
    if cfg.validation_period is not None:
        train, valid = reference, parts.pop(cfg.validation_period)
    else:
        train, valid = train_test_split(reference, test_size=cfg.validation_fraction, random_state=seed + 1,
                                        stratify=_strata(reference, cfg))
    out = {TRAIN: _renumbered(train), VALID: _renumbered(valid)}
    if holdout is not None:
        out[HOLDOUT] = _renumbered(holdout)
    out.update({batch_name(p): g for p, g in parts.items()})
    if test is not None:
        out[TEST] = _sampled(test, cfg, rng)
    return out


def _strata(frame: pd.DataFrame, cfg: IngestConfig) -> pd.Series | None:
    return None if cfg.problem_type == "regression" else frame[cfg.target]


def _sampled(group: pd.DataFrame, cfg: IngestConfig, rng: np.random.Generator) -> pd.DataFrame:
    if cfg.sample_fraction < 1:
        group = group.sample(frac=cfg.sample_fraction, random_state=int(rng.integers(2**31)))
    return _renumbered(group)


def _renumbered(part: pd.DataFrame) -> pd.DataFrame:
    """`part` (a copy this module made) with a fresh 0..n-1 index, set in place: reset_index copies every column."""
    part.index = pd.RangeIndex(len(part))
    return part


def evaluation_batches(cfg: IngestConfig) -> list[str]:
    """Names of the splits every model is evaluated on, the one the champion is chosen on first."""
    return cfg.evaluation_batches


def duplicated_headers(frame: pd.DataFrame) -> dict[str, str]:
    """Columns pandas renamed because their header repeats an earlier one: {new name: header in the file}."""
    return dict(frame.attrs.get(DUPLICATED_HEADERS, {}))
