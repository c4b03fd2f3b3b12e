"""Ingest: read a problem's raw data, check it has what the problem needs, split it by time and at random."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split

from tasks.config import IngestConfig
from tasks.errors import DataError
from tasks.sources import load_source

TRAIN, VALID, HOLDOUT = "train", "valid", "holdout"


def batch_name(period: int) -> str:
    return f"batch_{period}"


def load_raw(cfg: IngestConfig) -> pd.DataFrame:
    """Read the problem's source (a file or a package dataset, see tasks/sources.py) and check the columns the
    split needs are present and usable."""
    source = cfg.source
    frame = load_source(source)
    for role, column in (("target", cfg.target), ("time_column", cfg.time_column)):
        if column is not None and column not in frame.columns:
            raise DataError(
                f"{source}: missing column {column!r} (ingest.{role}); found columns {sorted(map(str, frame.columns))}"
            )
    if frame[cfg.target].isna().any():
        rows = frame.index[frame[cfg.target].isna()][:5].tolist()
        raise DataError(
            f"{source}: target column {cfg.target!r} has {int(frame[cfg.target].isna().sum())} missing values "
            f"(first rows {rows}); every row needs a label"
        )
    if cfg.time_column is not None:
        periods = set(frame[cfg.time_column].unique().tolist())
        absent = [p for p in [cfg.reference_period, *cfg.current_periods] if p not in periods]
        if absent:
            raise DataError(
                f"{source}: column {cfg.time_column!r} has no rows for period(s) {absent}; found {sorted(periods)}"
            )
    return frame


def split(frame: pd.DataFrame, cfg: IngestConfig, seed: int) -> dict[str, pd.DataFrame]:
    """Reference period (or all rows, without a time column) -> train/valid/holdout (stratified for
    classification); each later period -> a batch.

    `sample_fraction` < 1 keeps a seeded sample of every period (quick runs, tests).
    """
    rng = np.random.default_rng(seed)
    parts: dict[int | None, pd.DataFrame] = {}
    by_period = {p: g for p, g in frame.groupby(cfg.time_column, sort=True)} if cfg.time_column else {None: frame}
    for period in [cfg.reference_period, *cfg.current_periods]:
        group = by_period[period]
        if cfg.sample_fraction < 1:
            group = group.sample(frac=cfg.sample_fraction, random_state=int(rng.integers(2**31)))
        parts[period] = group.reset_index(drop=True)

    reference = parts.pop(cfg.reference_period)
    stratify = None if cfg.problem_type == "regression" else reference[cfg.target]
    rest, holdout = train_test_split(
        reference, test_size=cfg.holdout_fraction, random_state=seed, stratify=stratify
    )
    stratify = None if cfg.problem_type == "regression" else rest[cfg.target]
    train, valid = train_test_split(
        rest, test_size=cfg.validation_fraction, random_state=seed + 1, stratify=stratify
    )
    out = {TRAIN: train, VALID: valid, HOLDOUT: holdout}
    out.update({batch_name(p): g for p, g in parts.items()})
    return {name: part.reset_index(drop=True) for name, part in out.items()}


def evaluation_batches(cfg: IngestConfig) -> list[str]:
    """Names of the splits every model is evaluated on, in report order."""
    return [HOLDOUT, *(batch_name(p) for p in cfg.current_periods)]
