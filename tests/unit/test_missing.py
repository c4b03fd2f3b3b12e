"""Native missing-value routing (feature option impute: false) and tasks/ml/missing.py's counts and model pairs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError

from tasks.core.artefacts import FeatureSpec
from tasks.core.errors import ConfigError
from tasks.core.feature_options import FeatureOptions
from tasks.families import BuildContext, available, build_estimator, get_family
from tasks.ml.missing import imputed_twins, missing_counts

SPEC = FeatureSpec(problem_type="binary", target="y", numeric=["x", "z"], ordinal=[], categorical=["c"],
                   classes=[0, 1])


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    """y is 1 exactly where x is missing: only a model that sees the missingness can learn it."""
    rng = np.random.default_rng(0)
    n = 400
    x = rng.normal(size=n)
    gone = rng.random(n) < 0.25
    x[gone] = np.nan
    c = rng.choice(["p", "q"], n).astype(object)
    c[rng.random(n) < 0.1] = None
    return pd.DataFrame({"x": x, "z": rng.normal(size=n), "c": c, "y": gone.astype(int)})


def test_counts_per_column_and_rows(frame):
    counts = missing_counts(frame, ["x", "z", "c"])
    assert counts["rows"] == 400
    assert counts["columns"] == {"x": int(np.isnan(frame["x"]).sum()), "c": int(frame["c"].isna().sum())}
    assert counts["rows_with_missing"] == int((frame["x"].isna() | frame["c"].isna()).sum())


@pytest.mark.parametrize("family", [name for name in available() if get_family(name).native_missing])
def test_native_families_get_nan_and_learn_from_it(frame, family):
    x, y = frame[["x", "z", "c"]], frame["y"]
    native = build_estimator(get_family(family), BuildContext(spec=SPEC, seed=0, features={"impute": False}), {})
    design = np.asarray(native[:-1].fit(x, y).transform(x), dtype=float)
    assert np.isnan(design).sum() == x["x"].isna().sum() + x["c"].isna().sum()   # every missing value kept
    assert native.fit(x, y).score(x, y) == 1.0    # the split on missingness separates y exactly


def test_one_split_on_missingness_needs_native_routing(frame):
    """A stump routes NaN to its own side; imputed, the missing rows sit at the median, inside the others."""
    x, y = frame[["x", "z", "c"]], frame["y"]

    def stump(**features):
        return build_estimator(get_family("decision_tree"), BuildContext(spec=SPEC, seed=0, features=features),
                               {"max_depth": 1}).fit(x, y)

    assert stump(impute=False).score(x, y) == 1.0
    imputed = stump(impute_indicator=False)
    assert not np.isnan(np.asarray(imputed[:-1].transform(x), dtype=float)).any()
    assert imputed.score(x, y) < 0.9


def test_impute_false_is_refused_where_it_cannot_work():
    with pytest.raises(ConfigError, match="family 'knn' cannot take missing values"):
        build_estimator(get_family("knn"), BuildContext(spec=SPEC, seed=0, features={"impute": False}), {})
    with pytest.raises(ValidationError, match="impute: false keeps NaN"):
        FeatureOptions(impute=False, pca_variance=0.9)


def test_imputed_twins_pair_only_identical_models():
    def meta(family, hp, **options):
        return {"family": family, "hyperparameters": hp, "feature_options": {"impute": True, **options}}

    metas = {"xgb": meta("xgboost", {"max_depth": 4}), "xgb-native": meta("xgboost", {"max_depth": 4}, impute=False),
             "tree-native": meta("decision_tree", {"max_depth": 5}, impute=False),
             "tree": meta("decision_tree", {"max_depth": 3}),   # different hyperparameters: not a twin
             "xgb-native-wide": meta("xgboost", {"max_depth": 4}, impute=False, numeric_scaling="none")}
    assert imputed_twins(metas) == [("xgb-native", "xgb")]
