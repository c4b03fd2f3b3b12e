"""tasks/ml/simpson.py: Simpson's paradox check against the Berkeley 1973 admissions table (Bickel, Hammel and
O'Connell 1975; R's `UCBAdmissions`), whose reversal and Mantel-Haenszel odds ratio are published."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tasks.core.errors import DataError
from tasks.ml import simpson

# department -> (men admitted, men rejected, women admitted, women rejected)
BERKELEY = {"A": (512, 313, 89, 19), "B": (353, 207, 17, 8), "C": (120, 205, 202, 391),
            "D": (138, 279, 131, 244), "E": (53, 138, 94, 299), "F": (22, 351, 24, 317)}


def berkeley() -> pd.DataFrame:
    rows = []
    for dept, (m_yes, m_no, f_yes, f_no) in BERKELEY.items():
        for sex, yes, no in (("male", m_yes, m_no), ("female", f_yes, f_no)):
            rows += [(sex, dept, 1)] * yes + [(sex, dept, 0)] * no
    return pd.DataFrame(rows, columns=["sex", "dept", "admitted"]).sample(frac=1.0, random_state=0)


def test_berkeley_admissions_reverse_within_four_of_six_departments():
    frame = berkeley()
    result = simpson.check(frame[["sex", "dept"]], {"admitted": frame["admitted"].to_numpy()},
                           attributes=["sex"], segments=["dept"])
    (row,) = result.comparisons.to_dict("records")
    assert (row["group"], row["reference"]) == ("female", "male")   # the larger group is the reference
    assert (row["group_size"], row["reference_size"]) == (1835, 2691)
    assert row["group_rate"] == pytest.approx(557 / 1835) and row["reference_rate"] == pytest.approx(1198 / 2691)
    assert row["difference"] == pytest.approx(557 / 1835 - 1198 / 2691)   # women admitted 14 points less overall
    assert (row["segments_compared"], row["segments_reversed"]) == (6, 4)
    reversed_ = result.segments[result.segments["reversed"]]
    assert sorted(reversed_["segment"]) == ["A", "B", "D", "F"]      # women ahead in A, B, D, F
    a = reversed_.set_index("segment").loc["A"]
    assert (a["group_size"], a["reference_size"]) == (108, 825)
    assert a["difference"] == pytest.approx(89 / 108 - 512 / 825)
    # crude odds ratio by hand; R: mantelhaen.test(UCBAdmissions) -> common odds ratio (men/women) 0.9046968,
    # Mantel-Haenszel X-squared = 1.4269 (continuity correction), p-value = 0.2323
    assert row["crude_odds_ratio"] == pytest.approx((557 / 1278) / (1198 / 1493))
    assert row["mantel_haenszel_odds_ratio"] == pytest.approx(1 / 0.9046968, rel=1e-6)
    assert row["mantel_haenszel_p_value"] == pytest.approx(0.2323, abs=1e-4)
    assert row["adjusted_direction_reversed"]
    assert result.summary() == {"comparisons": 1, "with_reversed_segments": 1, "adjusted_direction_reversed": 1}


def test_a_consistent_difference_reverses_nowhere():
    # group a ahead by 10 points in every segment and overall
    rows = []
    for segment, (rate_a, rate_b) in {"s1": (0.6, 0.5), "s2": (0.3, 0.2)}.items():
        for group, rate in (("a", rate_a), ("b", rate_b)):
            yes = int(rate * 100)
            rows += [(group, segment, 1)] * yes + [(group, segment, 0)] * (100 - yes)
    frame = pd.DataFrame(rows, columns=["g", "s", "y"])
    result = simpson.check(frame[["g", "s"]], {"y": frame["y"].to_numpy()}, attributes=["g"], segments=["s"])
    (row,) = result.comparisons.to_dict("records")
    assert row["difference"] == pytest.approx(-0.1)   # equal sizes: 'a' listed first is the reference
    assert (row["segments_compared"], row["segments_reversed"]) == (2, 0)
    assert not row["adjusted_direction_reversed"]


def test_bands_code_categories_and_size_limits():
    rng = np.random.default_rng(1)
    n = 2_000
    frame = pd.DataFrame({"SEX": rng.choice(["1", "2"], n),
                          "SCHL": pd.Categorical(rng.choice([str(c) for c in range(25)], n)),  # codes as text
                          "RAC1P": rng.choice(["1", "2", "9"], n, p=[0.9, 0.095, 0.005])})
    y = rng.integers(0, 2, n)
    result = simpson.check(frame, {"y": y}, attributes=["SEX", "RAC1P"], segments=["SCHL"],
                           bands={"SCHL": [0, 16, 18, 21, 25]}, min_group_size=100, min_cell_size=10)
    assert set(result.segments["segment"]) == {"0-15", "16-17", "18-20", "21-24"}
    race = result.comparisons[result.comparisons["attribute"] == "RAC1P"]
    assert list(race["group"]) == ["2"] and list(race["reference"]) == ["1"]   # group '9' (~10 rows) too small
    # a segment needs min_cell_size rows of each group: none of group '2' x '16-17' cells reaches 1,000
    strict = simpson.check(frame, {"y": y}, attributes=["SEX"], segments=["SCHL"],
                           bands={"SCHL": [0, 16, 18, 21, 25]}, min_cell_size=1_000)
    assert strict.comparisons["segments_compared"].tolist() == [0]


def test_missing_columns_and_misaligned_outcomes_are_clear_errors():
    frame = pd.DataFrame({"g": ["a", "b"], "s": ["x", "y"]})
    with pytest.raises(DataError, match=r"\['SCHL'\] are not in the data"):
        simpson.check(frame, {"y": np.array([0, 1])}, attributes=["g"], segments=["SCHL"])
    with pytest.raises(DataError, match="outcome 'y' has 3 values for 2 rows"):
        simpson.check(frame, {"y": np.array([0, 1, 1])}, attributes=["g"], segments=["s"])
