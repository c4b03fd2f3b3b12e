"""Scaffold: a problem block and contract from one file; params.yaml edited without touching other lines."""

from __future__ import annotations

import difflib
import json
import shutil

import numpy as np
import pandas as pd
import pytest
import yaml

from tasks.core.config import ReadOptions, parse_params
from tasks.core.errors import ConfigError, DataError
from tasks.stages import ingest
from tasks.stages.scaffold import id_column_of, insert_problem, problem_type_of, scaffold, split_of
from tests.conftest import ROOT


def test_problem_type_from_the_target():
    rng = np.random.default_rng(0)
    assert problem_type_of(pd.Series(["<=50K", ">50K"] * 10)) == "binary"
    assert problem_type_of(pd.Series([1, 2, 3] * 10)) == "multiclass"
    assert problem_type_of(pd.Series(rng.normal(size=50))) == "regression"
    assert problem_type_of(pd.Series(rng.integers(0, 500, 200))) == "regression"
    with pytest.raises(DataError, match="at least two"):
        problem_type_of(pd.Series(["a"] * 5))


def test_split_forms():
    labels = pd.DataFrame({"s": ["train"] * 5 + ["valid"] * 2 + ["test"] * 3})
    keys, how = split_of(labels, "s", has_test_file=False)
    assert keys == {"time_column": "s", "reference_period": "train", "validation_period": "valid",
                    "current_periods": ["test"], "holdout_fraction": 0, "validation_fraction": 0.2,
                    "selection": "valid"}
    years = pd.DataFrame({"year": np.repeat([2019, 2020, 2021], 4)})
    keys, _ = split_of(years, "year", has_test_file=False)
    assert (keys["reference_period"], keys["current_periods"], keys["holdout_fraction"]) == (2019, [2020, 2021], 0.2)
    keys, _ = split_of(years, None, has_test_file=True)
    assert keys["holdout_fraction"] == 0 and keys["selection"] == "valid"
    assert split_of(years, None, has_test_file=False)[0] == {"holdout_fraction": 0.2, "validation_fraction": 0.2}
    with pytest.raises(DataError, match="distinct values"):
        split_of(pd.DataFrame({"t": range(100)}), "t", has_test_file=False)


def test_id_column_is_a_unique_column_named_like_an_id():
    frame = pd.DataFrame({"age": range(10), "PassengerId": range(10), "ticket_no": [1] * 10})
    assert id_column_of(frame, set()) == "PassengerId"
    assert id_column_of(frame.drop(columns="PassengerId"), set()) is None


def test_insert_problem_keeps_every_other_line_of_params_yaml():
    text = (ROOT / "params.yaml").read_text()
    block = {"data": {"source": "data/raw/x.csv", "target": "y", "holdout_fraction": 0.2, "validation_fraction": 0.2},
             "validate": {"quarantine": "off"}, "features": {"infer": True},
             "models": {"logreg": {"family": "logistic_regression"}}, "gates": {}}
    result = insert_problem(text, "mine", block, "test")
    changes = [op for op in difflib.SequenceMatcher(None, text.splitlines(), result.splitlines(),
                                                    autojunk=False).get_opcodes() if op[0] != "equal"]
    assert [op[0] for op in changes] == ["insert"], "one block inserted, every other line unchanged"
    assert result.splitlines()[changes[0][3]] == "  mine:   # test"
    parsed = yaml.safe_load(result)
    assert parsed["problems"]["mine"]["validate"] == {"quarantine": "off"}, "'off' stays a string"
    assert list(parsed["problems"])[-1] == "mine" and parse_params(parsed).problems["mine"].data.target == "y"
    with pytest.raises(ConfigError, match="already exists"):
        insert_problem(result, "mine", block, "test")


def test_scaffold_a_headerless_space_separated_file(tmp_path):
    rng = np.random.default_rng(0)
    lines = ["German credit (coded)"] + [f"A1{rng.integers(1, 5)} {rng.integers(4, 72)} "
                                         f"{'?' if i % 17 == 0 else rng.integers(250, 18000)} {1 + (i % 3 == 0)}"
                                         for i in range(300)]
    path = tmp_path / "german.data"
    path.with_suffix(".csv").write_text("\n".join(lines) + "\n")
    read = ReadOptions(sep=" ", header=False, names=["status", "months", "amount", "risk"], na_values=["?"],
                       skip_rows=1)
    result = scaffold("credit", str(path.with_suffix(".csv")), "risk", read)
    data = result.block["data"]
    assert data["read"] == {"sep": " ", "header": False, "names": ["status", "months", "amount", "risk"],
                            "na_values": ["?"], "skip_rows": 1}
    assert data["problem_type"] == "binary" and set(result.block["models"]) == {"logreg", "tree", "forest",
                                                                                "xgboost"}
    assert result.spec.numeric == ["months", "amount"] and result.spec.categorical == ["status"]
    cfg = parse_params({"seed": 1, "problems": {"credit": result.block}}).ingest["credit"]
    frame = ingest.load_raw(cfg)  # the pipeline reads the file as the scaffold did
    assert len(frame) == 300 and frame["amount"].isna().sum() == len(range(0, 300, 17))
    assert result.suite["meta"]["roles"]["numeric"] == ["months", "amount"]


def test_scaffold_command_writes_the_block_and_contract_and_prints_the_next_command(tmp_path, monkeypatch, capsys):
    from flows.scaffold import main

    (tmp_path / "data/raw").mkdir(parents=True)
    (tmp_path / "data/contracts").mkdir()
    shutil.copy2(ROOT / "params.yaml", tmp_path / "params.yaml")
    rng = np.random.default_rng(3)
    n = 400
    y = rng.integers(0, 2, n)
    frame = pd.DataFrame({"case_id": np.arange(n), "x": rng.normal(size=n) + y, "group": rng.choice(["a", "b"], n),
                          "label_copy": np.where(y == 1, "pos", "neg"), "y": y})
    frame.to_csv(tmp_path / "mine.csv", index=False)
    monkeypatch.chdir(tmp_path)
    assert main(["--name", "mine", "--source", "mine.csv", "--target", "y", "--sensitive", "group"]) == 0
    out = capsys.readouterr().out
    assert "excluded 'label_copy': likely leakage" in out and "id column 'case_id'" in out
    assert out.strip().splitlines()[-1].endswith(".venv/bin/dvc repro champion@mine")
    params = parse_params(yaml.safe_load((tmp_path / "params.yaml").read_text()))
    assert params.ingest["mine"].source == "data/raw/mine.csv" and (tmp_path / "data/raw/mine.csv").exists()
    assert params.featurize["mine"].sensitive == ["group"]
    suite = json.loads((tmp_path / "data/contracts/mine.json").read_text())
    assert "label_copy" not in json.dumps(suite["expectations"]), "no expectations on excluded columns"
    assert main(["--name", "mine", "--source", "mine.csv", "--target", "y"]) == 2
    assert "already exists" in capsys.readouterr().err
    frame.to_csv(tmp_path / "other.csv", index=False)
    assert main(["--name", "other", "--source", "other.csv", "--target", "no_such_column"]) == 2
    assert not (tmp_path / "data/raw/other.csv").exists(), "a failed scaffold takes back the file it copied"


def test_scaffold_a_census_file_with_a_separate_test_file_whose_labels_differ(tmp_path):
    """adult.data / adult.test: no header, ', ' separators, '?' for missing, a note atop the test file and labels
    written '>50K.' there."""
    rng = np.random.default_rng(5)

    def rows(count, suffix):
        return [f"{rng.integers(17, 90)}, {rng.choice(['Private', 'State-gov', '?'])}, "
                f"{rng.integers(1, 16)}, {rng.choice(['<=50K', '>50K'])}{suffix}" for _ in range(count)]

    source, test = tmp_path / "adult.csv", tmp_path / "adult_test.csv"
    source.write_text("\n".join(rows(400, "")) + "\n")
    test.write_text("|1x3 Cross validator\n" + "\n".join(rows(150, ".")) + "\n")
    read = ReadOptions(sep=", ", header=False, names=["age", "workclass", "education_num", "income"],
                       na_values=["?"], comment="|")
    with pytest.raises(DataError, match=r"adult_test.csv: target 'income' values \['<=50K.', '>50K.'\] never occur"):
        scaffold("census", str(source), "income", read, test_source=str(test))
    # the README's map: labels that hold '=' themselves
    result = scaffold("census", str(source), "income", read, test_source=str(test),
                      target_map=">50K.=>50K,<=50K.=<=50K")
    assert result.block["data"]["target_map"] == {">50K.": ">50K", "<=50K.": "<=50K"}
    assert result.block["data"]["selection"] == "valid" and result.block["data"]["holdout_fraction"] == 0
    cfg = parse_params({"seed": 1, "problems": {"census": result.block}}).ingest["census"]
    frame = ingest.load_raw(cfg)
    parts = ingest.split(frame, cfg, 1, ingest.load_test(cfg, frame.columns))
    assert len(parts["test"]) == 150 and set(parts["test"]["income"]) == {"<=50K", ">50K"}
    assert frame["workclass"].isna().any() and not frame["workclass"].astype(str).str.startswith(" ").any()
    assert cfg.evaluation_batches == ["valid", "test"]
