import numpy as np
import pytest
from sklearn.metrics import roc_auc_score
from sklearn.tree import DecisionTreeClassifier

from tasks.core.config import ModelConfig, TuneConfig
from tasks.core.errors import ConfigError
from tasks.stages import ingest
from tasks.stages.featurize import build_spec
from tasks.stages.train import fit_estimator, split_xy
from tasks.stages.tune import tune

SPACE = {"max_depth": {"type": "int", "low": 2, "high": 12},
         "min_samples_leaf": {"type": "int", "low": 1, "high": 60, "log": True},
         "criterion": {"type": "categorical", "choices": ["gini", "entropy"]}}


@pytest.fixture(scope="module")
def problem(acs_sample, params):
    cfg = params.ingest["employment"]
    parts = ingest.split(acs_sample, cfg, seed=params.seed)
    return parts, build_spec(parts["train"], cfg, params.featurize["employment"], "train")


def tree(trials=8, **tune_options) -> ModelConfig:
    return ModelConfig(problem="employment", name="tree", family="decision_tree",
                       hyperparameters={"max_depth": 3, "min_samples_leaf": 5},
                       tune=TuneConfig.model_validate({"space": SPACE, "trials": trials, **tune_options}))


def test_seeded_search_is_reproducible(problem):
    parts, spec = problem
    a, b = (tune(tree(), spec, parts["train"], parts["valid"], seed=7, metric="roc_auc") for _ in range(2))
    assert (a.best_trial, a.hyperparameters, a.best_value) == (b.best_trial, b.hyperparameters, b.best_value)
    assert a.trials == b.trials
    other = tune(tree(), spec, parts["train"], parts["valid"], seed=8, metric="roc_auc")
    assert [t["params"] for t in other.trials[1:]] != [t["params"] for t in a.trials[1:]], "the seed is used"


def test_defaults_are_trial_zero_and_the_best_is_no_worse(problem):
    parts, spec = problem
    result = tune(tree(trials=6), spec, parts["train"], parts["valid"], seed=1, metric="roc_auc")
    assert len(result.trials) == 6, "the trials budget is the number of trials, defaults included"
    assert result.trials[0]["defaults"] and result.trials[0]["params"] == {"max_depth": 3, "min_samples_leaf": 5}
    # the defaults' score, recomputed with scikit-learn alone on the validation split
    fitted, _ = fit_estimator("t", tree(), spec, parts["train"], seed=1)
    xv, yv = split_xy(parts["valid"], spec)
    oracle = roc_auc_score(yv == spec.classes[1], fitted.predict_proba(xv)[:, 1])
    assert result.default_value == pytest.approx(oracle, abs=1e-6)
    assert isinstance(fitted.steps[-1][1], DecisionTreeClassifier)
    assert result.best_value >= result.default_value and result.gain >= 0
    assert result.best_value == max(t["value"] for t in result.trials)
    assert result.hyperparameters == {**tree().hyperparameters, **result.trials[result.best_trial]["params"]}


def test_lower_is_better_metrics_are_minimised(problem):
    parts, spec = problem
    result = tune(tree(trials=5), spec, parts["train"], parts["valid"], seed=1, metric="log_loss")
    assert result.direction == "minimize"
    assert result.best_value == min(t["value"] for t in result.trials) <= result.default_value


def test_cross_validation_reports_each_fold_and_prunes(problem):
    parts, spec = problem
    result = tune(tree(trials=12, cv_folds=3), spec, parts["train"], parts["valid"], seed=0, metric="roc_auc")
    assert result.scored_on == "3-fold cross-validation"
    states = [t["state"] for t in result.trials]
    assert set(states) == {"complete", "pruned"} and states[:5] == ["complete"] * 5, "median pruner after 5 trials"
    assert result.trials[result.best_trial]["state"] == "complete"
    assert np.isfinite(result.best_value)


def test_a_parameter_the_family_does_not_take_names_model_and_parameter(problem):
    parts, spec = problem
    cfg = tree().model_copy(update={"tune": TuneConfig.model_validate(
        {"space": {"n_trees": {"type": "int", "low": 1, "high": 3}}, "trials": 2})})
    with pytest.raises(ConfigError, match=r"employment-tree\.tune\.space\.n_trees"):
        tune(cfg, spec, parts["train"], parts["valid"], seed=0, metric="roc_auc")
