"""Scaled copies of a problem's raw data for the scale benchmark: the rows replicated with jitter.

Copy 0 is the data itself; every later copy gets new ids, numeric features moved by a small step and categorical
features redrawn from the column's own frequencies with a small probability, so models see new rows with the same
joint distribution. The target and time columns are kept, so every period grows by the same factor. Copies are
written one Parquet file each (`part-00000.parquet`, ...): a partitioned dataset that `pd.read_parquet` and
`dask.dataframe.read_parquet` read as one table.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class Jitter:
    numeric_step: float = 1.0           # numeric values move by -step, 0 or +step, clipped to the observed range
    redraw_probability: float = 0.02    # chance that a categorical value is redrawn from the column's frequencies


def part_name(copy: int) -> str:
    return f"part-{copy:05d}.parquet"


def _redraw(column: pd.Series, mask: np.ndarray, rng: np.random.Generator) -> pd.Series:
    """`column` with the values under `mask` redrawn from its non-missing value frequencies; dtype kept."""
    categorical = isinstance(column.dtype, pd.CategoricalDtype)
    if categorical:
        codes, size = column.cat.codes.to_numpy().copy(), len(column.cat.categories)
    else:
        codes, uniques = pd.factorize(column)
        size = len(uniques)
    counts = np.bincount(codes[codes >= 0], minlength=size)
    if not mask.any() or counts.sum() == 0:
        return column
    codes[mask] = rng.choice(size, size=int(mask.sum()), p=counts / counts.sum())
    if categorical:
        return pd.Series(pd.Categorical.from_codes(codes, dtype=column.dtype), index=column.index, name=column.name)
    values = np.append(np.asarray(uniques, dtype=object), None)[codes]  # code -1 (missing) stays missing
    return pd.Series(values, index=column.index, name=column.name).astype(column.dtype)


def jitter_copy(
    frame: pd.DataFrame, copy: int, *, seed: int, id_column: str | None, numeric: Sequence[str],
    categorical: Sequence[str], jitter: Jitter = Jitter(),
) -> pd.DataFrame:
    """Copy number `copy` of `frame` (0: `frame` unchanged). Deterministic in (`seed`, `copy`)."""
    if copy == 0:
        return frame
    rng = np.random.default_rng([seed, copy])
    out = frame.copy()
    if id_column is not None:
        out[id_column] = frame[id_column] + copy * (int(frame[id_column].max()) + 1)
    for column in numeric:
        values = frame[column].to_numpy(np.float64)
        moved = values + jitter.numeric_step * rng.integers(-1, 2, size=len(values))
        out[column] = np.clip(moved, np.nanmin(values), np.nanmax(values)).astype(frame[column].dtype)
    for column in categorical:
        out[column] = _redraw(frame[column], rng.random(len(frame)) < jitter.redraw_probability, rng)
    return out


def scaled_copies(
    frame: pd.DataFrame, factor: int, *, seed: int, id_column: str | None, numeric: Sequence[str],
    categorical: Sequence[str], jitter: Jitter = Jitter(),
) -> Iterator[tuple[str, pd.DataFrame]]:
    """(part file name, copy) for each of `factor` copies, one at a time so memory holds one copy."""
    for copy in range(factor):
        yield part_name(copy), jitter_copy(frame, copy, seed=seed, id_column=id_column, numeric=numeric,
                                           categorical=categorical, jitter=jitter)


def write_scaled(
    frame: pd.DataFrame, out: Path, factor: int, *, seed: int, id_column: str | None, numeric: Sequence[str],
    categorical: Sequence[str], jitter: Jitter = Jitter(),
) -> int:
    """Write `factor` jittered copies of `frame` to the directory `out` (earlier parts removed); return the rows."""
    out.mkdir(parents=True, exist_ok=True)
    for stale in out.glob("part-*.parquet"):
        stale.unlink()
    rows = 0
    for name, part in scaled_copies(frame, factor, seed=seed, id_column=id_column, numeric=numeric,
                                    categorical=categorical, jitter=jitter):
        part.to_parquet(out / name, index=False)
        rows += len(part)
    return rows
