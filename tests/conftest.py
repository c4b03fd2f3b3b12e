"""Shared fixtures: a small real sample of the default problem and its typed configuration."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from tasks.core.config import load_params, restrict

ROOT = Path(__file__).resolve().parent.parent
SMALL_MODELS = ("logreg", "forest", "xgboost")  # under problems.employment.models


def copy_repo(work: Path) -> Path:
    """The working tree's tracked and unignored files copied to `work` (tests run the pipeline there)."""
    import shutil
    import subprocess

    files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=ROOT, capture_output=True,
                           check=True).stdout.decode().split("\0")
    for name in filter(None, files):
        if (ROOT / name).is_file():
            (work / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, work / name)
    return work


def small_params(params: dict) -> dict:
    """The default problem only, on a 5% sample, with three small models and a 150-user MovieLens sample."""
    params = restrict(params, "employment", list(SMALL_MODELS))
    params["problems"]["employment"]["data"]["sample_fraction"] = 0.05
    params["recommend"]["data"]["sample_users"] = 150
    params["recommend"]["ranker"]["n_estimators"] = 50
    for model in params["problems"]["employment"]["models"].values():
        if "n_estimators" in model["hyperparameters"]:
            model["hyperparameters"]["n_estimators"] = 40
    return params


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
