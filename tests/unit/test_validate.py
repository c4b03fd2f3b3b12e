import json

import pytest

from tasks.core.errors import DataError
from tasks.stages import ingest
from tasks.stages.validate import validate_problem


@pytest.fixture(scope="module")
def contract(repo_root):
    return json.loads((repo_root / "data/contracts/employment.json").read_text())


@pytest.fixture(scope="module")
def splits(acs_sample, params):
    return ingest.split(acs_sample, params.ingest["employment"], seed=0)


def test_clean_data_passes_and_is_passed_on_whole(splits, contract):
    result = validate_problem(splits, contract, problem="employment", reference="period_2015")
    assert {o.dataset_name for o in result.outcomes} == {"employment/period_2015", "employment/batch_2016",
                                                         "employment/batch_2017", "employment/batch_2018"}
    assert all(o.success for o in result.outcomes)
    assert {n: len(f) for n, f in result.splits.items()} == {n: len(f) for n, f in splits.items()}
    assert result.quarantined.empty


def test_duplicated_ids_stop_the_pipeline_or_are_quarantined(splits, contract):
    broken = dict(splits)
    broken["batch_2017"] = splits["batch_2017"].copy()
    broken["batch_2017"].loc[[3, 4], "id"] = broken["batch_2017"].loc[2, "id"]
    with pytest.raises(DataError, match=r"batch_2017.*\n.*expect_column_values_to_be_unique.*id"):
        validate_problem(broken, contract, problem="employment", reference="period_2015")
    result = validate_problem(broken, contract, problem="employment", reference="period_2015",
                              quarantine_mode="errors")
    assert len(result.quarantined) == 3 and set(result.quarantined["quarantine_split"]) == {"batch_2017"}
    assert result.quarantined["quarantine_reason"].str.contains("unique").all()
    assert len(result.splits["batch_2017"]) == len(splits["batch_2017"]) - 3
    assert len(result.splits["train"]) == len(splits["train"]), "other splits untouched"


def test_impossible_range_names_expectation_column_and_rows(splits, contract):
    strict = json.loads(json.dumps(contract))
    for expectation in strict["expectations"]:
        if expectation["type"] == "expect_column_values_to_be_between" and expectation["kwargs"]["column"] == "AGEP":
            expectation["kwargs"].update(min_value=200, max_value=300)
            expectation["meta"]["severity"] = "error"
    with pytest.raises(DataError) as err:
        validate_problem(splits, strict, problem="employment", reference="period_2015")
    message = str(err.value)
    assert "expect_column_values_to_be_between" in message and "AGEP" in message
    assert "rows" in message and "period_2015" in message


def test_missing_contract_prints_the_command_that_drafts_it(repo_root, tmp_path):
    import shlex

    from scripts.draft_suite import main as draft
    from tasks.stages.validate import missing_contract

    contract = tmp_path / "penguins.json"
    error = missing_contract("penguins", contract)
    command = str(error).splitlines()[1].strip()
    args = shlex.split(command)
    assert args[:2] == ["bin/python", "scripts/draft_suite.py"] and args[-2:] == ["--out", str(contract)]
    assert draft([*args[2:], "--params", str(repo_root / "params.yaml")]) == 0, "the printed command works as is"
    suite = json.loads(contract.read_text())
    assert suite["meta"]["target"] == "species" and "island" in suite["meta"]["roles"]["categorical"]
