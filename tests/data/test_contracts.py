"""Data tier: the committed contracts hold on the committed raw data, and agree with params.yaml."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import yaml

from tasks.adapters.expectations import validate_frame

ROOT = Path(__file__).resolve().parents[2]
RAW = ROOT / "data/raw/acs_employment_ma.parquet"
CONTRACT = ROOT / "data/contracts/employment.json"


@pytest.fixture(scope="module")
def contract() -> dict:
    return json.loads(CONTRACT.read_text())


@pytest.fixture(scope="module")
def periods() -> dict[int, pd.DataFrame]:
    return {int(year): frame for year, frame in pd.read_parquet(RAW).groupby("year")}


def test_every_period_passes_the_employment_contract(contract, periods):
    assert sorted(periods) == [2015, 2016, 2017, 2018]
    for year, frame in periods.items():
        outcome = validate_frame(frame, contract, dataset_name=f"employment/{year}")
        assert outcome.success and not outcome.warnings, outcome.summary()


def test_contract_roles_match_params(contract):
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    problem = params["problems"]["employment"]
    featurize, ingest = problem["features"], problem["data"]
    meta = contract["meta"]
    assert (meta["target"], meta["id_column"], meta["time_column"]) == (
        ingest["target"], ingest["id_column"], ingest["time_column"])
    for role in ("numeric", "ordinal", "categorical"):
        assert meta["roles"][role] == featurize[role], role
