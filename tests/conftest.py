"""Shared fixtures: a small real sample of the default problem and its typed configuration."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from tasks.config import load_params

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def params():
    return load_params(ROOT / "params.yaml")


@pytest.fixture(scope="session")
def acs_sample() -> pd.DataFrame:
    """3,000 rows per year of the real ACS data (seeded), as the ingest stage would read them."""
    frame = pd.read_parquet(ROOT / "data/raw/acs_employment_ma.parquet")
    return frame.groupby("year", group_keys=False).sample(n=750, random_state=0).reset_index(drop=True)
