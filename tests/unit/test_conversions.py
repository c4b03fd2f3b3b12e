"""The vectorised column conversions give exactly what converting every cell did, on every kind of column."""

import numpy as np
import pandas as pd
import pytest

from tasks.ml.metrics import predict_chunked
from tasks.ml.preprocess import as_float, as_str


def per_cell_str(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.astype("object")
    text = out.map(lambda v: str(int(v)) if isinstance(v, float) and v.is_integer() else str(v))
    return text.where(out.notna(), np.nan)


def per_cell_float(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.apply(lambda col: pd.to_numeric(col.astype("object"), errors="coerce")).astype(np.float64)


@pytest.fixture
def mixed() -> pd.DataFrame:
    index = [5, 3, 9, 1, 0]
    return pd.DataFrame({
        "category": pd.Series(["1", "2", None, "3", "1"], dtype="category", index=index),
        "float_category": pd.Series([1.0, 2.5, np.nan, 3.0, 1.0], dtype="category", index=index),
        "numbers_as_objects": pd.Series([3, 3.0, "3", None, pd.NA], dtype=object, index=index),
        "bool_and_int": pd.Series([True, 1, 1.0, "x", np.nan], dtype=object, index=index),
        "float32": pd.Series(np.array([3.0, 0.1, np.nan, 2.0, 1.0], dtype=np.float32), index=index),
        "int": pd.Series([1, 2, 3, 4, 5], index=index),
        "bool": pd.Series([True, False, True, True, False], index=index),
        "nullable_int": pd.Series([1, None, 3, 4, 5], dtype="Int64", index=index),
        "string": pd.Series(["a", None, "10", "2.0", "x"], dtype="string", index=index),
    })


def test_as_str_matches_the_per_cell_conversion(mixed):
    pd.testing.assert_frame_equal(as_str(mixed), per_cell_str(mixed))
    pd.testing.assert_frame_equal(as_str(mixed.iloc[:0]), per_cell_str(mixed.iloc[:0]))
    assert as_str(mixed)["bool_and_int"].tolist()[:2] == ["True", "1"], "True and 1 stay different categories"


def test_as_float_matches_the_per_cell_conversion(mixed):
    pd.testing.assert_frame_equal(as_float(mixed), per_cell_float(mixed))


def test_conversions_keep_duplicate_column_names(mixed):
    frame = mixed[["int", "category"]].set_axis(["a", "a"], axis=1)
    pd.testing.assert_frame_equal(as_str(frame), per_cell_str(frame))


def test_chunked_scoring_equals_one_call():
    x = pd.DataFrame({"v": np.arange(10.0)})
    calls = []

    def predict(part: pd.DataFrame) -> np.ndarray:
        calls.append(len(part))
        return np.column_stack([part["v"].to_numpy(), -part["v"].to_numpy()])

    np.testing.assert_array_equal(predict_chunked(predict, x, chunk_rows=4), predict(x))
    assert calls[:3] == [4, 4, 2]
