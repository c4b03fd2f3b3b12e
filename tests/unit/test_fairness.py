"""tasks/stages/fairness.py: group metrics and their bootstrap intervals against plain loops; disparities; the gate."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tasks.core.errors import DataError
from tasks.ml import stats
from tasks.ml.bands import band
from tasks.stages.fairness import (
    FairnessThresholds,
    disparities,
    evaluate_fairness_gate,
    group_metrics,
)

N, RESAMPLES, SEED = 240, 60, 11
BANDS = {"AGEP": [0, 25, 45, 65, 200]}


@pytest.fixture(scope="module")
def data() -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    sex = rng.choice(["1", "2"], N)
    age = rng.integers(16, 90, N).astype(float)
    race = rng.choice(["1", "2", "6"], N, p=[0.6, 0.35, 0.05])
    y = rng.integers(0, 2, N)
    proba = np.clip(0.3 * y + 0.15 * (sex == "1") + 0.55 * rng.random(N), 0, 1).round(2)
    tiny = np.flatnonzero(race == "6")
    y[tiny] = 1                                 # a one-class group: AUC undefined
    proba[tiny] = 0.9                           # and all selected: an extreme selection rate
    sensitive = pd.DataFrame({"SEX": pd.Categorical(sex), "AGEP": age, "RAC1P": race})
    return sensitive, y, proba


def _hand_metrics(y: np.ndarray, proba: np.ndarray) -> dict[str, float]:
    """Loop-by-loop definitions, independent of tasks.ml.stats."""
    tp = fp = tn = fn = 0
    for truth, p in zip(y, proba, strict=True):
        predicted = p >= 0.5
        tp += truth == 1 and predicted
        fp += truth == 0 and predicted
        tn += truth == 0 and not predicted
        fn += truth == 1 and not predicted
    pos, neg = proba[y == 1], proba[y == 0]
    wins = sum((a > b) + 0.5 * (a == b) for a in pos for b in neg)
    nan = float("nan")
    return {
        "selection_rate": (tp + fp) / len(y),
        "accuracy": (tp + tn) / len(y),
        "tpr": tp / (tp + fn) if tp + fn else nan,
        "fpr": fp / (fp + tn) if fp + tn else nan,
        "precision": tp / (tp + fp) if tp + fp else nan,
        "auc": wins / (len(pos) * len(neg)) if len(pos) and len(neg) else nan,
    }


def _hand_groups(values: pd.Series, edges: list[float] | None) -> list[tuple[str, np.ndarray]]:
    if edges is None:
        return [(str(g), np.flatnonzero(values.astype(str).to_numpy() == str(g))) for g in sorted(values.unique())]
    out = []
    for lo, hi in zip(edges[:-1], edges[1:], strict=True):
        rows = np.flatnonzero((values.to_numpy() >= lo) & (values.to_numpy() < hi))
        if len(rows):
            out.append((f"{lo}-{hi - 1}", rows))
    return out


def test_group_metrics_and_intervals_match_hand_computation(data):
    sensitive, y, proba = data
    result = group_metrics(sensitive, y, proba, threshold=0.5, bands=BANDS, n_resamples=RESAMPLES, seed=SEED)
    checked = 0
    for attribute in sensitive.columns:
        rows = result[result["attribute"] == attribute]
        groups = _hand_groups(sensitive[attribute], BANDS.get(attribute))
        assert list(rows["group"]) == [g for g, _ in groups]
        for (group, members), row in zip(groups, rows.to_dict("records"), strict=True):
            assert row["size"] == len(members)
            point = _hand_metrics(y[members], proba[members])
            resamples = np.concatenate(list(stats.resample_indices(len(members), RESAMPLES, SEED)))
            by_resample = [_hand_metrics(y[members][r], proba[members][r]) for r in resamples]
            for name, value in point.items():
                assert row[name] == pytest.approx(value, nan_ok=True), (attribute, group, name)
                values = np.array([m[name] for m in by_resample])
                values = values[~np.isnan(values)]
                low, high = np.percentile(values, [2.5, 97.5]) if len(values) else (np.nan, np.nan)
                assert row[f"{name}_low"] == pytest.approx(low, nan_ok=True), (attribute, group, name)
                assert row[f"{name}_high"] == pytest.approx(high, nan_ok=True), (attribute, group, name)
                checked += 1
    assert checked == 6 * (2 + 4 + 3)
    assert np.isnan(result.loc[(result["attribute"] == "RAC1P") & (result["group"] == "6"), "auc"]).all()


def test_band_labels_and_bounds():
    ages = pd.Series([0.0, 24, 25, 44.5, 65, 199], name="AGEP")
    assert band(ages, [0, 25, 45, 65, 200]).astype(str).tolist() == ["0-24", "0-24", "25-44", "25-44", "65-199",
                                                                     "65-199"]
    with pytest.raises(DataError, match=r"AGEP.*\[250\.0\]"):
        band(pd.Series([30.0, 250.0], name="AGEP"), [0, 25, 45, 65, 200])


def test_missing_attribute_values_form_their_own_group():
    sensitive = pd.DataFrame({"SEX": ["1", None, "2", "1"]})
    result = group_metrics(sensitive, np.array([1, 0, 1, 0]), np.array([0.9, 0.2, 0.4, 0.6]), threshold=0.5,
                           n_resamples=10, seed=0)
    assert dict(zip(result["group"], result["size"], strict=True)) == {"1": 2, "2": 1, "missing": 1}


def test_disparities_match_fairlearn(data):
    from fairlearn.metrics import (
        demographic_parity_difference,
        demographic_parity_ratio,
        equalized_odds_difference,
    )

    sensitive, y, proba = data
    pred = (proba >= 0.5).astype(int)
    result = group_metrics(sensitive, y, proba, threshold=0.5, bands=BANDS, n_resamples=10, seed=0)
    table = disparities(result).set_index("attribute")
    for attribute in ("SEX", "AGEP"):
        groups = band(sensitive["AGEP"], BANDS["AGEP"]) if attribute == "AGEP" else sensitive[attribute]
        row = table.loc[attribute]
        assert row["demographic_parity_difference"] == pytest.approx(
            demographic_parity_difference(y, pred, sensitive_features=groups))
        assert row["demographic_parity_ratio"] == pytest.approx(
            demographic_parity_ratio(y, pred, sensitive_features=groups))
        assert row["equalized_odds_difference"] == pytest.approx(
            equalized_odds_difference(y, pred, sensitive_features=groups))


def test_gate_excludes_small_groups(data):
    sensitive, y, proba = data
    result = group_metrics(sensitive[["RAC1P"]], y, proba, threshold=0.5, n_resamples=10, seed=0)
    tiny = int(result.loc[result["group"] == "6", "size"].iloc[0])
    limits = {"max_demographic_parity_difference": 0.3, "min_demographic_parity_ratio": 0.5}
    status, reasons = evaluate_fairness_gate(result, FairnessThresholds(**limits, min_group_size=0))
    assert status == "fail" and any("RAC1P: demographic parity difference" in r for r in reasons)
    status, reasons = evaluate_fairness_gate(result, FairnessThresholds(**limits, min_group_size=tiny + 1))
    assert (status, reasons) == ("pass", [])
    assert disparities(result, tiny + 1).loc[0, "groups_excluded"] == "6"


def test_gate_checks_equalized_odds(data):
    sensitive, y, proba = data
    result = group_metrics(sensitive[["SEX"]], y, proba, threshold=0.5, n_resamples=10, seed=0)
    eod = disparities(result).loc[0, "equalized_odds_difference"]
    assert evaluate_fairness_gate(result, FairnessThresholds(max_equalized_odds_difference=eod + 0.01))[0] == "pass"
    status, reasons = evaluate_fairness_gate(result, FairnessThresholds(max_equalized_odds_difference=eod - 0.01))
    assert status == "fail" and reasons[0].startswith("SEX: equalized odds difference")
