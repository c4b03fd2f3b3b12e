import pandas as pd
import pytest

from tasks.core.errors import DataError
from tasks.stages import ingest


def test_split_by_time_and_at_random(acs_sample, params):
    cfg = params.ingest["employment"]
    parts = ingest.split(acs_sample, cfg, seed=1)
    assert set(parts) == {"train", "valid", "holdout", "batch_2016", "batch_2017", "batch_2018"}
    for name in ("train", "valid", "holdout"):
        assert set(parts[name]["year"]) == {2015}
    for year in (2016, 2017, 2018):
        assert set(parts[f"batch_{year}"]["year"]) == {year}
    ids = [set(parts[n]["id"]) for n in ("train", "valid", "holdout")]
    assert not (ids[0] & ids[1] or ids[0] & ids[2] or ids[1] & ids[2]), "splits overlap"
    assert len(parts["holdout"]) == pytest.approx(750 * cfg.holdout_fraction, abs=1)
    # stratified: class balance preserved in every random split
    rate = acs_sample.loc[acs_sample.year == 2015, "employed"].mean()
    for name in ("train", "valid", "holdout"):
        assert parts[name]["employed"].mean() == pytest.approx(rate, abs=0.02)


def test_split_is_reproducible(acs_sample, params):
    cfg = params.ingest["employment"].model_copy(update={"sample_fraction": 0.5})
    a, b = ingest.split(acs_sample, cfg, seed=7), ingest.split(acs_sample, cfg, seed=7)
    c = ingest.split(acs_sample, cfg, seed=8)
    pd.testing.assert_frame_equal(a["train"], b["train"])
    assert not a["train"]["id"].equals(c["train"]["id"])
    assert len(a["batch_2016"]) == 375


def test_bad_files_are_named(tmp_path, acs_sample, params):
    cfg = params.ingest["employment"]
    with pytest.raises(DataError, match="data file not found"):
        ingest.load_raw(cfg.model_copy(update={"source": str(tmp_path / "missing.parquet")}))
    corrupt = tmp_path / "corrupt.parquet"
    corrupt.write_bytes(b"not parquet at all")
    with pytest.raises(DataError, match="corrupt.parquet: cannot be read"):
        ingest.load_raw(cfg.model_copy(update={"source": str(corrupt)}))
    no_target = tmp_path / "no_target.parquet"
    acs_sample.drop(columns="employed").to_parquet(no_target)
    with pytest.raises(DataError, match=r"missing column 'employed' \(data.target\)"):
        ingest.load_raw(cfg.model_copy(update={"source": str(no_target)}))
    nan_target = tmp_path / "nan_target.parquet"
    acs_sample.assign(employed=acs_sample.employed.astype(float).where(acs_sample.index > 2)).to_parquet(nan_target)
    with pytest.raises(DataError, match="3 missing values"):
        ingest.load_raw(cfg.model_copy(update={"source": str(nan_target)}))
    wrong_years = tmp_path / "years.parquet"
    acs_sample[acs_sample.year < 2018].to_parquet(wrong_years)
    with pytest.raises(DataError, match=r"no rows for period\(s\) \[2018\]"):
        ingest.load_raw(cfg.model_copy(update={"source": str(wrong_years)}))
    empty = tmp_path / "empty.csv"
    empty.write_text("employed,year\n")
    with pytest.raises(DataError, match="no rows"):
        ingest.load_raw(cfg.model_copy(update={"source": str(empty)}))


def test_without_a_time_column_the_split_is_random_only(acs_sample, params):
    cfg = params.ingest["employment"].model_copy(update={"time_column": None, "reference_period": None,
                                                         "current_periods": []})
    parts = ingest.split(acs_sample.drop(columns="year"), cfg, seed=0)
    assert set(parts) == {"train", "valid", "holdout"}
    assert sum(len(p) for p in parts.values()) == len(acs_sample)
    assert ingest.evaluation_batches(cfg) == ["holdout"]


# ---------------------------------------------------------------- the splits a user has

def _cfg(**fields):
    from tasks.core.config import IngestConfig

    return IngestConfig.model_validate({"source": "unused.csv", "target": "y", "holdout_fraction": 0.2,
                                        "validation_fraction": 0.25, **fields})


def _frame(n=400, seed=0, **columns):
    import numpy as np

    rng = np.random.default_rng(seed)
    return pd.DataFrame({"x": rng.normal(size=n), "y": rng.integers(0, 2, n), **columns})


def test_a_string_split_column_gives_train_valid_and_test():
    labels = ["train"] * 240 + ["valid"] * 60 + ["test"] * 100
    frame = _frame(split=labels)
    cfg = _cfg(time_column="split", reference_period="train", validation_period="valid", current_periods=["test"],
               holdout_fraction=0)
    parts = ingest.split(frame, cfg, seed=0)
    assert {k: len(v) for k, v in parts.items()} == {"train": 240, "valid": 60, "batch_test": 100}
    assert set(parts["valid"]["split"]) == {"valid"} and set(parts["train"]["split"]) == {"train"}
    assert cfg.evaluation_batches == ["batch_test", "valid"], "ranked on the test batch; valid is the drift reference"
    assert cfg.selection_batch == "batch_test"


def test_string_periods_with_a_holdout_and_a_named_selection_batch():
    frame = _frame(period=["2019Q4"] * 200 + ["2020Q1"] * 100 + ["2020Q2"] * 100)
    cfg = _cfg(time_column="period", reference_period="2019Q4", current_periods=["2020Q1", "2020Q2"],
               selection="2020Q1")
    parts = ingest.split(frame, cfg, seed=0)
    assert set(parts) == {"train", "valid", "holdout", "batch_2020Q1", "batch_2020Q2"}
    assert len(parts["holdout"]) == 40 and len(parts["batch_2020Q2"]) == 100
    assert cfg.evaluation_batches == ["batch_2020Q1", "holdout", "batch_2020Q2"]


def test_date_periods_written_as_yaml_dates_match_a_datetime_column():
    import yaml

    dates = pd.to_datetime(["2020-01-01"] * 200 + ["2020-02-01"] * 100)
    frame = _frame(n=300, month=dates)
    cfg = _cfg(**yaml.safe_load("{time_column: month, reference_period: 2020-01-01, current_periods: [2020-02-01]}"))
    parts = ingest.split(frame, cfg, seed=0)
    assert len(parts["batch_2020-02-01"]) == 100 and set(parts["train"]["month"]) == {pd.Timestamp("2020-01-01")}
    text = frame.assign(month=frame["month"].dt.strftime("%Y-%m-%d"))  # the same dates as text
    assert len(ingest.split(text, cfg, seed=0)["batch_2020-02-01"]) == 100


def test_integer_periods_given_as_text_match_an_integer_column(acs_sample, params):
    cfg = params.ingest["employment"].model_copy(update={"reference_period": "2015", "current_periods": ["2016"]})
    assert len(ingest.split(acs_sample, cfg, seed=0)["batch_2016"]) == 750


def test_a_missing_period_is_named(tmp_path):
    path = tmp_path / "d.csv"
    _frame(split=["train"] * 400).to_csv(path, index=False)
    cfg = _cfg(source=str(path), time_column="split", reference_period="train", current_periods=["test"])
    with pytest.raises(DataError, match=r"no rows for period\(s\) \['test'\]"):
        ingest.load_raw(cfg)


def test_a_separate_test_file_is_the_test_batch_with_its_labels_mapped(tmp_path):
    source, test_source = tmp_path / "adult.csv", tmp_path / "adult_test.csv"
    frame = _frame().assign(y=lambda f: f["y"].map({0: "<=50K", 1: ">50K"}))
    frame.to_csv(source, index=False)
    frame.head(100).assign(y=lambda f: f["y"] + ".").to_csv(test_source, index=False)  # '>50K.' in the test file
    cfg = _cfg(source=str(source), test_source=str(test_source), holdout_fraction=0,
               target_map={"<=50K.": "<=50K", ">50K.": ">50K"})
    raw = ingest.load_raw(cfg)
    parts = ingest.split(raw, cfg, seed=0, test=ingest.load_test(cfg, raw.columns))
    assert {k: len(v) for k, v in parts.items()} == {"train": 300, "valid": 100, "test": 100}
    assert set(parts["test"]["y"]) == {"<=50K", ">50K"}
    assert cfg.evaluation_batches == ["test", "valid"] and cfg.later_batches == ["test"]


def test_holdout_fraction_zero_needs_a_later_batch():
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="holdout_fraction: 0 needs later batches"):
        _cfg(holdout_fraction=0)
    with pytest.raises(ValidationError, match="selection 'nope'"):
        _cfg(time_column="t", reference_period=1, current_periods=[2], selection="nope")


def test_selection_on_the_validation_split():
    cfg = _cfg(time_column="t", reference_period=1, current_periods=[2], selection="valid")
    assert cfg.evaluation_batches == ["valid", "holdout", "batch_2"]
