"""Guard rails: each finding on a generated frame, what is excluded or kept, and the bound on their cost."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tasks.core.config import FeaturizeConfig, GuardOptions, IngestConfig
from tasks.core.errors import DataError
from tasks.ml.guards import check_columns, shape_problem, single_feature_score
from tasks.stages import featurize

N = 1200


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    x = rng.normal(size=N)
    y = (x + rng.normal(scale=1.0, size=N) > 0).astype(int)
    return pd.DataFrame({
        "case_id": np.arange(1000, 1000 + N),
        "name": [f"Person {i} Surname{i % 997}" for i in range(N)],
        "notes": [f"seen on day {i} with remark {i * 3} and more {i % 7}" for i in range(N)],
        "screened_on": pd.Timestamp("2013-01-01") + pd.to_timedelta(rng.integers(0, 700, N), unit="D"),
        "arrested": (pd.Timestamp("2013-01-01") + pd.to_timedelta(rng.integers(0, 700, N), unit="D")).strftime(
            "%Y-%m-%d %H:%M:%S"),
        "zip": [f"z{v}" for v in rng.integers(0, 400, N)],
        "constant": 1,
        "x": x,
        "priors": rng.integers(0, 10, N),
        "sex": rng.choice(["F", "M"], N),
        "outcome_text": np.where(y == 1, "Yes", "No"),   # the target in words: leaks
        "y": y,
    })


def spec_of(frame, duplicated=None, **features):
    ingest = IngestConfig(source="mem", target="y", id_column=None, holdout_fraction=0.2, validation_fraction=0.2)
    return featurize.build_spec(frame, ingest, FeaturizeConfig(**features), "mem", duplicated or {}, seed=0)


def test_inferred_columns_that_are_no_features_are_excluded_with_the_reason(frame):
    spec = spec_of(frame, infer=True)
    assert set(spec.excluded) == {"case_id", "name", "notes", "screened_on", "arrested", "zip", "constant",
                                  "outcome_text"}
    reasons = spec.excluded
    assert reasons["case_id"].startswith("id-like")
    assert "an id or a name" in reasons["name"] and "free text" in reasons["notes"]
    assert reasons["screened_on"].startswith("a date/time") and "written as text" in reasons["arrested"]
    assert reasons["zip"].startswith("very high cardinality: ") and "> guards.max_categories 200" in reasons["zip"]
    assert reasons["constant"].startswith("constant")
    assert reasons["outcome_text"].startswith("likely leakage: alone it predicts the target with ROC AUC 1.000")
    assert spec.numeric == ["x", "priors"] and spec.categorical == ["sex"]
    assert "zip" not in spec.categories, "no domain is recorded for an excluded column"


def test_near_leaks_are_excluded_and_strong_columns_warned_and_drop_leaves_one_out(frame):
    """A binary copy of the target with flip rate f scores ROC AUC 1 - f alone (TPR 1 - f, FPR f): COMPAS's is_recid
    (0.97) is excluded, a 0.90 column is kept with a warning, a 0.70 column passes silently."""
    rng = np.random.default_rng(1)

    def flipped(rate):
        return np.where(rng.random(N) < rate, 1 - frame["y"], frame["y"])

    arrested = np.where(flipped(0.175) == 1, rng.integers(0, 700, N), np.nan)  # filled in after a re-arrest
    wide = frame.assign(is_recid=flipped(0.03), event=flipped(0.10), weak=flipped(0.30), r_days=arrested)
    spec = spec_of(wide, infer=True)
    assert spec.excluded["is_recid"].startswith("likely leakage")
    assert "is_recid" not in spec.numeric and "event" in spec.numeric and "weak" in spec.numeric
    realised = 1 - float(np.mean(wide["event"] != wide["y"]))
    assert abs(float(spec.warnings["event"].split()[4]) - realised) < 0.02, spec.warnings["event"]
    assert spec.warnings["event"].endswith("features.drop: [event]") and "weak" not in spec.warnings
    assert spec.warnings["r_days"].startswith("whether it is missing alone predicts the target (ROC AUC 0.")
    spec = spec_of(wide, infer=True, drop=["event"])
    assert "event" not in spec.numeric and "event" in spec.dropped and "event" not in spec.warnings
    with pytest.raises(DataError, match=r"features.drop names column\(s\) \['nope'\]"):
        spec_of(wide, infer=True, drop=["nope"])
    with pytest.raises(DataError, match=r"\['x'\] are in features.drop and also given a role"):
        spec_of(wide, numeric=["x"], drop=["x"])


def test_keep_opts_a_column_back_in(frame):
    spec = spec_of(frame, infer=True, keep=["zip", "priors"])
    assert "zip" in spec.categorical and "zip" not in spec.excluded
    assert spec.warnings["zip"].endswith("kept (features.keep)")
    with pytest.raises(DataError, match=r"features.keep names column\(s\) \['nope'\]"):
        spec_of(frame, infer=True, keep=["nope"])


def test_a_declared_column_is_kept_with_a_warning_but_leakage_and_repeated_headers_are_not(frame):
    spec = spec_of(frame, numeric=["x", "case_id"], categorical=["sex", "outcome_text", "zip"])
    assert "case_id" in spec.numeric and spec.warnings["case_id"].startswith("id-like")
    assert "zip" in spec.categorical and "declared" in spec.warnings["zip"]
    assert "outcome_text" in spec.excluded and "outcome_text" not in spec.categorical


def test_duplicated_headers_are_excluded(frame):
    copy = frame.assign(**{"priors.1": frame["priors"]})
    spec = spec_of(copy, {"priors.1": "priors"}, infer=True)
    assert spec.excluded["priors.1"].startswith("duplicated header 'priors'")
    assert "priors" in spec.numeric


def test_leakage_probe_per_problem_type():
    rng = np.random.default_rng(1)
    x = rng.normal(size=600)
    assert single_feature_score(pd.Series(x), pd.Series(x * 3 + 1), "regression", 0)[1] > 0.99
    assert single_feature_score(pd.Series(rng.normal(size=600)), pd.Series(x), "regression", 0)[1] < 0.2
    labels = pd.Series(rng.choice(["a", "b", "c"], 600))
    assert single_feature_score(labels.map({"a": 0, "b": 5, "c": 9}), labels, "multiclass", 0)[1] == 1.0
    assert single_feature_score(pd.Series(rng.normal(size=600)), labels, "multiclass", 0)[1] < 0.5


def test_numbers_and_booleans_are_not_flagged():
    rng = np.random.default_rng(2)
    options = GuardOptions()
    for values in (pd.Series(rng.normal(size=500)), pd.Series(rng.integers(0, 10**9, 500), name="income"),
                   pd.Series(rng.choice([True, False], 500))):
        assert shape_problem(values, values, options) is None


def test_guard_rails_read_a_bounded_sample(frame):
    big = pd.concat([frame] * 5, ignore_index=True)
    findings = check_columns(big, target="y", problem_type="binary", inferred=["x"], declared=[], duplicated={},
                             keep=[], options=GuardOptions(sample_rows=500), seed=0)
    assert findings.notes == [f"guard rails read a seeded sample of 500 of {len(big):,} training rows"]


def test_guard_rails_can_be_turned_off_and_an_empty_feature_set_is_an_error(frame):
    spec = spec_of(frame, infer=True, guards={"enabled": False})
    assert not spec.excluded and "case_id" in spec.numeric
    with pytest.raises(DataError, match="no feature column is left"):
        spec_of(frame[["case_id", "y"]], infer=True)


def test_the_vif_table_is_capped_and_the_report_says_so(frame):
    from tasks.ml.preprocess import build_preprocessor, feature_summary
    from tasks.present.features_report import render_features_report

    spec = spec_of(frame, infer=True, keep=["zip"])
    options = FeaturizeConfig().options
    pre = build_preprocessor(spec, options).fit(frame.drop(columns="y"))
    summary = feature_summary(pre, spec, options, train=frame, vif_columns=50)
    assert summary["vif"] is None and summary["notes"][0].startswith("VIF table left out: ")
    summary["guards"] = {"excluded": spec.excluded, "warnings": spec.warnings, "notes": spec.notes}
    page = render_features_report({"p": summary}, title="t", lineage={})
    assert "Guard rails" in page and "likely leakage" in page and "VIF table left out" in page
