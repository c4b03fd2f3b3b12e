"""The fairness gate's group-size boundary: a group of exactly `min_group_size` rows is compared, one row fewer
is not (values written by hand)."""

from __future__ import annotations

import pandas as pd
import pytest

from tasks.stages.fairness import FairnessThresholds, disparities, evaluate_fairness_gate

GROUPS = pd.DataFrame([
    {"attribute": "SEX", "group": "1", "size": 50, "selection_rate": 0.40, "tpr": 0.80, "fpr": 0.10},
    {"attribute": "SEX", "group": "2", "size": 30, "selection_rate": 0.10, "tpr": 0.50, "fpr": 0.05},
])


def test_a_group_of_exactly_the_minimum_size_is_compared():
    row = disparities(GROUPS, min_group_size=30).iloc[0]
    assert row["groups_compared"] == 2 and row["groups_excluded"] == ""
    assert row["demographic_parity_difference"] == pytest.approx(0.30)   # 0.40 - 0.10
    assert row["equalized_odds_difference"] == pytest.approx(0.30)       # max(0.80 - 0.50, 0.10 - 0.05)


def test_a_group_one_row_short_is_left_out():
    row = disparities(GROUPS, min_group_size=31).iloc[0]
    assert row["groups_compared"] == 1 and row["groups_excluded"] == "2"
    assert pd.isna(row["demographic_parity_difference"])


def test_the_gate_fails_on_a_minimum_size_group():
    status, reasons = evaluate_fairness_gate(GROUPS, FairnessThresholds(max_demographic_parity_difference=0.2,
                                                                         min_group_size=30))
    assert status == "fail" and any("SEX" in reason for reason in reasons)
