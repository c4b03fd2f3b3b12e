import pytest
import yaml

from tasks.check import check_models
from tasks.config import parse_params
from tasks.errors import ConfigError


def test_repository_models_are_buildable(params):
    catalogue = check_models(params)
    assert catalogue["employment-xgboost"] == {"problem": "employment", "family": "xgboost"}
    assert len(catalogue) == sum(len(problem.models) for problem in params.problems.values())


def test_every_unbuildable_model_is_named(repo_root):
    raw = yaml.safe_load((repo_root / "params.yaml").read_text())
    models = raw["problems"]["employment"]["models"]
    models["a"] = {**models["logreg"], "family": "no_such_family"}
    models["b"] = {**models["logreg"], "hyperparameters": {"depth": 3}}
    with pytest.raises(ConfigError) as err:
        check_models(parse_params(raw))
    message = str(err.value)
    assert "problems.employment.models.a: unknown model family 'no_such_family'; expected one of" in message
    assert "problems.employment.models.b: family 'logistic_regression': invalid hyperparameters" in message
