import pytest

from tasks.check import check_models
from tasks.errors import ConfigError


def test_repository_models_are_buildable(params):
    catalogue = check_models(params)
    assert catalogue["employment-xgboost"] == {"problem": "employment", "family": "xgboost"}


def test_every_unbuildable_model_is_named(params):
    broken = params.model_copy(update={"train": {
        **params.train,
        "employment-a": params.train["employment-logreg"].model_copy(update={"family": "no_such_family"}),
        "employment-b": params.train["employment-logreg"].model_copy(update={"hyperparameters": {"depth": 3}}),
    }})
    with pytest.raises(ConfigError) as err:
        check_models(broken)
    message = str(err.value)
    assert "train.employment-a: unknown model family 'no_such_family'; expected one of" in message
    assert "train.employment-b: family 'logistic_regression': invalid hyperparameters" in message
