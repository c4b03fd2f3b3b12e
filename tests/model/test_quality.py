"""Model tier: quality floors on the real default problems, plus behavioural checks of the fitted models.

Each floor is set below what the family reaches (see `scripts/family_scores.py`) so that only a real regression
fails it; single-threaded models keep the tier fast and deterministic on a shared CI machine.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.model_selection import StratifiedKFold, cross_val_score

from tasks.families import BuildContext, build_estimator, get_family
from tasks.ml.metrics import score
from tests.model.problems import load_frame, load_split, problems, spec_for


def fit(family: str, train: pd.DataFrame, spec, **hp):
    model = build_estimator(get_family(family), BuildContext(spec=spec, seed=0), hp)
    return model.fit(train.drop(columns=spec.target), train[spec.target])


@pytest.fixture(scope="module")
def housing():
    train, test, spec = load_split("housing")
    model = fit("lightgbm", train, spec, n_estimators=600, learning_rate=0.05, num_leaves=15, subsample=0.8,
                subsample_freq=1, colsample_bytree=0.5, n_jobs=1)
    return model, test, spec


@pytest.fixture(scope="module")
def reviews():
    train, test, spec = load_split("reviews")
    return fit("naive_bayes_multinomial", train, spec, alpha=0.3), test, spec


def test_penguins_accuracy_floor() -> None:
    """Logistic regression, 5-fold stratified cross-validated accuracy (a 69-row hold-out is too coarse)."""
    frame = load_frame("penguins")
    spec = spec_for(problems()["penguins"], frame)
    model = build_estimator(get_family("logistic_regression"), BuildContext(spec=spec, seed=0), {"max_iter": 1000})
    folds = StratifiedKFold(n_splits=5, shuffle=True, random_state=0)
    accuracy = cross_val_score(model, frame.drop(columns=spec.target), frame[spec.target], cv=folds).mean()
    assert accuracy >= 0.97


def test_housing_log_price_rmse_floor(housing) -> None:
    model, test, spec = housing
    assert score(model, test.drop(columns=spec.target), test[spec.target], spec)["rmse"] <= 0.15


def test_housing_more_living_area_never_lowers_the_price(housing) -> None:
    """Directional: the same houses with 20% more above-ground living area are predicted no cheaper on average."""
    model, test, spec = housing
    x = test.drop(columns=spec.target)
    bigger = x.assign(Gr_Liv_Area=x["Gr_Liv_Area"] * 1.2)
    assert np.mean(model.predict(bigger) - model.predict(x)) > 0


def test_reviews_naive_bayes_accuracy_floor(reviews) -> None:
    model, test, spec = reviews
    assert score(model, test.drop(columns=spec.target), test[spec.target], spec)["accuracy"] >= 0.75


def test_reviews_minimum_functionality(reviews) -> None:
    """Unambiguous sentences get the obvious verdict."""
    model, _, _ = reviews
    sentences = pd.DataFrame({"text": ["a funny, moving and beautifully acted film",
                                       "a dull, tedious mess with a lazy script"]})
    assert model.predict(sentences).tolist() == ["fresh", "rotten"]


def test_reviews_case_and_whitespace_invariance(reviews) -> None:
    model, test, _ = reviews
    x = test[["text"]].head(200)
    shouted = x.assign(text="  " + x["text"].str.upper() + "  ")
    np.testing.assert_allclose(model.predict_proba(shouted), model.predict_proba(x))
