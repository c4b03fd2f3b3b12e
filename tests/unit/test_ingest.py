import pandas as pd
import pytest

from tasks import ingest
from tasks.errors import DataError


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
    with pytest.raises(DataError, match=r"missing column 'employed' \(ingest.target\)"):
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
