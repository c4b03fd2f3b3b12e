"""The greedy ensemble: never worse than its best member on the rows it is fitted on, weights summing to 1,
reproducible; member resolution from params."""

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import make_classification, make_regression
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.metrics import f1_score, mean_squared_error, roc_auc_score
from sklearn.naive_bayes import GaussianNB
from sklearn.neighbors import KNeighborsClassifier, KNeighborsRegressor
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

from tasks.core.config import ModelConfig
from tasks.core.errors import ConfigError
from tasks.families.ensemble import member_names
from tasks.ml.ensemble import GreedyEnsemble


def _split(x, y):
    frame = pd.DataFrame(x, columns=[f"f{i}" for i in range(x.shape[1])])
    return frame.iloc[:300], y[:300], frame.iloc[300:], y[300:]


def _classifiers(n_classes: int):
    x, y = make_classification(n_samples=600, n_features=8, n_informative=5, n_classes=n_classes, flip_y=0.1,
                               random_state=3)
    x_train, y_train, x_valid, y_valid = _split(x, y)
    members = [("logreg", LogisticRegression(max_iter=500)), ("tree", DecisionTreeClassifier(max_depth=4,
                                                                                            random_state=0)),
               ("nb", GaussianNB()), ("knn", KNeighborsClassifier(15))]
    return [(n, m.fit(x_train, y_train)) for n, m in members], x_valid, y_valid


def test_binary_ensemble_is_never_worse_than_its_best_member_on_validation():
    members, x_valid, y_valid = _classifiers(2)
    oracle = {name: roc_auc_score(y_valid, m.predict_proba(x_valid)[:, 1]) for name, m in members}
    ensemble = GreedyEnsemble(members, rounds=20, metric="roc_auc", problem_type="binary").fit(x_valid, y_valid)
    achieved = roc_auc_score(y_valid, ensemble.predict_proba(x_valid)[:, 1])
    assert achieved >= max(oracle.values()) - 1e-12
    assert achieved == pytest.approx(ensemble.validation_score_)
    assert ensemble.member_scores_ == pytest.approx(oracle)
    assert sum(ensemble.weights().values()) == pytest.approx(1.0)
    assert set(ensemble.weights()) <= set(oracle)


def test_multiclass_ensemble_on_macro_f1():
    members, x_valid, y_valid = _classifiers(3)
    best = max(f1_score(y_valid, m.predict(x_valid), average="macro") for _, m in members)
    ensemble = GreedyEnsemble(members, rounds=15, metric="f1_macro", problem_type="multiclass").fit(x_valid, y_valid)
    assert f1_score(y_valid, ensemble.predict(x_valid), average="macro") >= best - 1e-12
    assert list(ensemble.classes_) == [0, 1, 2]


def test_regression_ensemble_minimises_rmse_and_is_reproducible():
    x, y = make_regression(n_samples=600, n_features=6, noise=20.0, random_state=5)
    x_train, y_train, x_valid, y_valid = _split(x, y)
    members = [(n, m.fit(x_train, y_train)) for n, m in (
        ("ridge", Ridge(alpha=50.0)), ("tree", DecisionTreeRegressor(max_depth=5, random_state=0)),
        ("knn", KNeighborsRegressor(10)))]
    best = min(mean_squared_error(y_valid, m.predict(x_valid)) ** 0.5 for _, m in members)
    first = GreedyEnsemble(members, rounds=30, metric="rmse", problem_type="regression").fit(x_valid, y_valid)
    second = GreedyEnsemble(members, rounds=30, metric="rmse", problem_type="regression").fit(x_valid, y_valid)
    assert mean_squared_error(y_valid, first.predict(x_valid)) ** 0.5 <= best + 1e-9
    assert first.weights() == second.weights()
    assert np.array_equal(first.predict(x_valid), second.predict(x_valid))
    weights = np.array([first.weights().get(n, 0.0) for n, _ in members])
    expected = sum(w * m.predict(x_valid) for w, (_, m) in zip(weights, members, strict=True))
    np.testing.assert_allclose(first.predict(x_valid), expected)


def _cfg(name: str, family: str, **hp) -> ModelConfig:
    return ModelConfig(problem="p", name=name, family=family, hyperparameters=hp)


def test_member_names_all_skips_unsupervised_models_and_ensembles():
    models = [_cfg("a", "ridge"), _cfg("k", "kmeans"), _cfg("b", "lasso"), _cfg("e", "ensemble")]
    assert member_names(models[3], models, {"p-a", "p-b", "p-e"}) == ["p-a", "p-b"]
    assert member_names(_cfg("e", "ensemble", members=["b"]), models, {"p-a", "p-b"}) == ["p-b"]
    with pytest.raises(ConfigError, match=r"members \['k'\]"):
        member_names(_cfg("e", "ensemble", members=["k"]), models, {"p-a", "p-b"})
    with pytest.raises(ConfigError, match="'all' or a non-empty list"):
        member_names(_cfg("e", "ensemble", members=[]), models, {"p-a", "p-b"})


ENSEMBLE_DUMP = """
import hashlib, sys
import joblib
from tasks.families.ensemble import load_member
from tasks.ml.ensemble import GreedyEnsemble
import pandas as pd
x = pd.read_parquet(sys.argv[1])
y = x.pop("y")
members = [(name, load_member(f"{sys.argv[2]}/{name}.joblib")) for name in ("tree", "forest")]
ensemble = GreedyEnsemble(members, rounds=5, metric="roc_auc", problem_type="binary").fit(x, y)
joblib.dump(ensemble, sys.argv[3], compress=3)
"""


def test_an_ensemble_of_saved_members_predicts_like_them_and_is_the_same_file_from_every_process(tmp_path):
    """Members kept as their files' bytes: predictions equal the loaded members' (the oracle), and two processes
    fitting the same ensemble from the same files write byte-identical files (a re-pickled scikit-learn tree carries
    uninitialised padding, so this differed before)."""
    import subprocess
    import sys

    import joblib
    from sklearn.ensemble import RandomForestClassifier

    from tasks.families.ensemble import load_member
    from tests.conftest import ROOT

    x, y = make_classification(n_samples=400, n_features=6, random_state=1)
    frame = pd.DataFrame(x, columns=[f"f{i}" for i in range(6)])
    for name, model in {"tree": DecisionTreeClassifier(max_depth=5, random_state=0),
                        "forest": RandomForestClassifier(n_estimators=20, random_state=0)}.items():
        joblib.dump(model.fit(frame, y), tmp_path / f"{name}.joblib", compress=3)
    saved = load_member(tmp_path / "forest.joblib")
    loaded = joblib.load(tmp_path / "forest.joblib")
    np.testing.assert_array_equal(saved.predict_proba(frame), loaded.predict_proba(frame))
    frame.assign(y=y).to_parquet(tmp_path / "valid.parquet")
    outs = [tmp_path / f"ensemble-{i}.joblib" for i in (1, 2)]
    for out in outs:
        subprocess.run([sys.executable, "-c", ENSEMBLE_DUMP, str(tmp_path / "valid.parquet"), str(tmp_path), str(out)],
                       cwd=ROOT, check=True, timeout=120)
    assert outs[0].read_bytes() == outs[1].read_bytes()
    again = joblib.load(outs[0])
    np.testing.assert_array_equal(again.predict_proba(frame), GreedyEnsemble(
        [("tree", joblib.load(tmp_path / "tree.joblib")), ("forest", joblib.load(tmp_path / "forest.joblib"))],
        rounds=5, metric="roc_auc", problem_type="binary").fit(frame, y).predict_proba(frame))
