"""Data contracts with Great Expectations: drafting, validating bad inputs, quarantine, reports.

GX is slow to import (seconds) and spends ~5 ms per expectation per validation whatever the row count, so the
suite covers a subset of the columns, is drafted once per module, and each bad input is validated once.
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tasks.adapters.expectations import (
    REASON_COLUMN,
    ValidationOutcome,
    draft_suite,
    load_suite,
    quarantine,
    validate_frame,
)
from tasks.core.errors import ConfigError, DataError
from tasks.present.validation_report import offline_data_docs, render_validation_report

RAW = Path(__file__).resolve().parents[2] / "data/raw/acs_employment_ma.parquet"
CATEGORICAL = ["MAR", "SEX", "RAC1P"]
EXTERNAL_ASSET = re.compile(r"<(script|link|img)\b[^>]*\b(src|href)\s*=\s*[\"']?(https?:)?//", re.I)


@pytest.fixture(scope="module")
def acs() -> pd.DataFrame:
    return pd.read_parquet(RAW, columns=["id", "AGEP", "SCHL", *CATEGORICAL, "employed", "year"])


@pytest.fixture(scope="module")
def suite(acs) -> dict:
    reference = acs[acs["year"] == 2015].sample(1500, random_state=0)
    return draft_suite(reference, name="employment", target="employed", id_column="id", categorical=CATEGORICAL,
                       numeric=["AGEP"], ordinal=["SCHL"], time_column="year")


@pytest.fixture()
def current(acs) -> pd.DataFrame:
    return acs[acs["year"] == 2016].sample(600, random_state=1).reset_index(drop=True)


def _by_type(suite: dict, kind: str, column: str | None = None) -> list[dict]:
    return [e for e in suite["expectations"]
            if e["type"] == kind and (column is None or e["kwargs"].get("column") == column)]


def test_draft_is_gx_suite_json_with_severities(suite):
    assert json.loads(json.dumps(suite)) == suite and suite["name"] == "employment"
    assert all(e["meta"]["severity"] in ("error", "warning") for e in suite["expectations"])
    sev = {(e["type"], e["kwargs"].get("column")): e["meta"]["severity"] for e in suite["expectations"]}
    assert sev[("expect_column_type_to_be", "AGEP")] == "error"
    assert sev[("expect_column_values_to_be_unique", "id")] == "error"
    assert sev[("expect_column_values_to_be_in_set", "employed")] == "error"
    assert sev[("expect_column_values_to_be_between", "AGEP")] == "warning"
    assert sev[("expect_column_mean_to_be_between", "employed")] == "warning"
    age = _by_type(suite, "expect_column_values_to_be_between", "AGEP")[0]["kwargs"]
    assert age["min_value"] == 0 and age["max_value"] > 94  # non-negative stays non-negative; widened top
    assert len(load_suite(suite).expectations) == len(suite["expectations"])


def test_current_period_passes(suite, current):
    outcome = validate_frame(current, suite, dataset_name="batch_2016")
    assert outcome.success, outcome.summary()
    assert outcome.row_count == 600 and len(outcome.results) == len(suite["expectations"])


def test_impossible_range_fails_with_a_readable_summary(suite, current):
    edited = copy.deepcopy(suite)
    age = _by_type(edited, "expect_column_values_to_be_between", "AGEP")[0]
    age["kwargs"].update(min_value=200, max_value=300)
    age["meta"]["severity"] = "error"
    outcome = validate_frame(current, edited, dataset_name="batch_2016")
    assert not outcome.success
    (failure,) = outcome.errors
    assert (failure.type, failure.column, failure.unexpected_count) == (
        "expect_column_values_to_be_between", "AGEP", 600)
    text = outcome.summary()
    assert "FAILED" in text and "expect_column_values_to_be_between on column 'AGEP'" in text
    assert "600 of 600 rows unexpected" in text and "min_value=200" in text
    assert re.search(r"e\.g\. \d+\.0", text)  # example values


def _cases(current: pd.DataFrame) -> dict[str, pd.DataFrame]:
    constant_sex = current.assign(SEX=pd.Categorical(["1"] * len(current), categories=current["SEX"].cat.categories))
    unseen = current.assign(MAR=current["MAR"].cat.add_categories(["9"]))
    unseen.loc[:4, "MAR"] = "9"
    duplicated = current.copy()
    duplicated.loc[:2, "id"] = duplicated.loc[3, "id"]
    return {
        "missing column": current.drop(columns=["MAR"]),
        "extra column": current.assign(extra=1),
        "wrong dtype": current.assign(AGEP=current["AGEP"].astype(str)),
        "all-null column": current.assign(AGEP=np.nan),
        "NaN in target": current.assign(employed=current["employed"].where(current.index > 1)),
        "single-class target": current.assign(employed=0),
        "unseen category": unseen,
        "constant column": constant_sex,
        "duplicated ids": duplicated,
    }


# case -> (passes?, the expectation that reports it, its column, its severity)
EXPECTED = {
    "missing column": (False, "expect_column_to_exist", "MAR", "error"),
    "extra column": (True, "expect_table_columns_to_match_set", None, "warning"),
    "wrong dtype": (False, "expect_column_type_to_be", "AGEP", "error"),
    "all-null column": (False, "expect_column_unique_value_count_to_be_between", "AGEP", "error"),
    "NaN in target": (False, "expect_column_values_to_not_be_null", "employed", "error"),
    "single-class target": (False, "expect_column_unique_value_count_to_be_between", "employed", "error"),
    "unseen category": (True, "expect_column_values_to_be_in_set", "MAR", "warning"),
    "constant column": (True, "expect_column_unique_value_count_to_be_between", "SEX", "warning"),
    "duplicated ids": (False, "expect_column_values_to_be_unique", "id", "error"),
}


@pytest.fixture(scope="module")
def bad_outcomes(acs, suite) -> dict[str, ValidationOutcome]:
    current = acs[acs["year"] == 2016].sample(600, random_state=1).reset_index(drop=True)
    return {case: validate_frame(frame, suite, dataset_name=case) for case, frame in _cases(current).items()}


@pytest.mark.parametrize("case", list(EXPECTED))
def test_bad_inputs_are_reported_clearly(case, bad_outcomes):
    passes, kind, column, severity = EXPECTED[case]
    outcome = bad_outcomes[case]
    assert outcome.success is passes, outcome.summary()
    flagged = [r for r in outcome.failures if (r.type, r.column, r.severity) == (kind, column, severity)]
    assert flagged, outcome.summary()
    where = f" on column {column!r}" if column else ""
    assert f"[{severity}] {kind}{where}" in outcome.summary()


def test_specific_messages(bad_outcomes, suite, current):
    missing = bad_outcomes["missing column"].summary()
    assert "column 'MAR' is missing" in missing and "more expectation(s) not run: column 'MAR' is missing" in missing
    assert "'unexpected': ['extra']" in bad_outcomes["extra column"].summary()
    assert "observed 'object'; expected type_='float64'" in bad_outcomes["wrong dtype"].summary()
    unseen = bad_outcomes["unseen category"].summary()
    assert "5 of 600 rows unexpected" in unseen and "e.g. '9'" in unseen
    with pytest.raises(DataError, match="no rows"):
        validate_frame(current.iloc[:0], suite, dataset_name="empty")


def test_quarantine_splits_failing_rows_with_reasons(suite, current):
    frame = current.copy()
    frame.loc[[5, 7], "AGEP"] = 250.0
    frame.loc[8, "id"] = frame.loc[9, "id"]
    outcome = validate_frame(frame, suite, dataset_name="batch")
    kept, bad = quarantine(frame, outcome)
    assert len(kept) + len(bad) == len(frame) and sorted(bad.index) == [5, 7, 8, 9]
    assert bad.loc[5, REASON_COLUMN] == "expect_column_values_to_be_between(AGEP)"
    assert bad.loc[9, REASON_COLUMN] == "expect_column_values_to_be_unique(id)"
    assert REASON_COLUMN not in kept.columns and kept.index.is_unique
    errors_only = quarantine(frame, outcome, severities=("error",))[1]
    assert sorted(errors_only.index) == [8, 9]
    whole_column = current.assign(AGEP=-5.0)
    with pytest.raises(DataError, match="every one of 600 rows"):
        quarantine(whole_column, validate_frame(whole_column, suite, dataset_name="b"))


def test_invalid_suites_fail_naming_the_expectation(suite, current):
    bad_type = copy.deepcopy(suite)
    bad_type["expectations"][3]["type"] = "expect_column_values_to_be_purple"
    with pytest.raises(ConfigError, match=r"expectation #3 \('expect_column_values_to_be_purple'"):
        validate_frame(current, bad_type, dataset_name="x")
    bad_severity = copy.deepcopy(suite)
    bad_severity["expectations"][0]["meta"]["severity"] = "fatal"
    with pytest.raises(ConfigError, match="meta.severity 'fatal'"):
        validate_frame(current, bad_severity, dataset_name="x")
    no_meta = copy.deepcopy(suite)  # a hand-added expectation without meta: GX's own severity decides
    no_meta["expectations"].append({"type": "expect_column_max_to_be_between", "kwargs": {
        "column": "AGEP", "max_value": 10}, "severity": "critical"})
    outcome = validate_frame(current, no_meta, dataset_name="x")
    assert [r.severity for r in outcome.errors] == ["error"]


def test_outcome_round_trips_and_renders_offline(suite, current):
    frame = current.copy()
    frame.loc[:3, "AGEP"] = 250.0
    outcomes = [validate_frame(frame, suite, dataset_name="employment/batch_2016"),
                validate_frame(current, suite, dataset_name="employment/train")]
    restored = ValidationOutcome.from_dict(json.loads(json.dumps(outcomes[0].to_dict())))
    assert restored.summary() == outcomes[0].summary()
    html = render_validation_report(outcomes, title="Validation", lineage={"commit": "abc"})
    assert "employment/batch_2016" in html and "expect_column_values_to_be_between" in html and "250.0" in html
    assert not EXTERNAL_ASSET.search(html)
    docs = offline_data_docs(outcomes[0])
    assert "expect_column_values_to_be_between" in docs or "greater than or equal to" in docs
    assert "<style>" in docs and not EXTERNAL_ASSET.search(docs) and "<script" not in docs
    assert not re.search(r"url\(\s*[\"']?https?:", docs)


def test_draft_suite_cli_reads_everything_from_the_problem(tmp_path, repo_root):
    """The problem's params block is the one declaration: a copy of it pointed at a sample drafts from the sample's
    reference period with the declared roles."""
    import yaml

    from scripts.draft_suite import main

    data = tmp_path / "sample.parquet"
    sample = pd.read_parquet(RAW).groupby("year").sample(300, random_state=0)
    sample.to_parquet(data)
    raw = yaml.safe_load((repo_root / "params.yaml").read_text())
    raw["problems"] = {"employment": raw["problems"]["employment"]}
    raw["problems"]["employment"]["data"]["source"] = str(data)
    params = tmp_path / "params.yaml"
    params.write_text(yaml.safe_dump(raw))
    out = tmp_path / "contracts" / "employment.json"
    assert main(["--problem", "employment", "--params", str(params), "--out", str(out)]) == 0
    drafted = json.loads(out.read_text())
    features = raw["problems"]["employment"]["features"]
    assert drafted["name"] == "employment" and drafted["meta"]["drafted_from_rows"] == 300   # the 2015 rows only
    roles = drafted["meta"]["roles"]
    assert (roles["numeric"], roles["ordinal"], roles["categorical"]) == (features["numeric"], features["ordinal"],
                                                                         features["categorical"])
    assert main(["--problem", "nope", "--params", str(params), "--out", str(out)]) == 1
    with pytest.raises(SystemExit):
        main(["--data", str(data), "--target", "employed", "--out", str(out)])   # no loose column roles any more


def test_the_hub_renders_the_validation_page_from_what_validate_wrote(suite, current, tmp_path):
    """Validate writes data only (outcomes.json, lineage.json); the report stage renders the page from them, with
    the same datasets, failed expectation and unexpected value as the outcomes in memory."""
    from flows.report import validation_page_html

    frame = current.copy()
    frame.loc[:3, "AGEP"] = 250.0
    outcomes = [validate_frame(frame, suite, dataset_name="employment/batch_2016"),
                validate_frame(current, suite, dataset_name="employment/train")]
    (tmp_path / "outcomes.json").write_text(json.dumps([o.to_dict() for o in outcomes]))
    (tmp_path / "lineage.json").write_text(json.dumps({"commit": "abc1234"}))
    page = validation_page_html(tmp_path, "employment")
    assert "Data validation: employment" in page and "abc1234" in page
    for text in ("employment/batch_2016", "employment/train", "expect_column_values_to_be_between", "250.0"):
        assert text in page
    assert not EXTERNAL_ASSET.search(page)
