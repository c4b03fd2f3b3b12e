import pytest
import yaml

from tasks.core.config import parse_params
from tasks.core.errors import ConfigError
from tasks.stages.check import check_models


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


def with_models(repo_root, problem: str, **models: dict):
    raw = yaml.safe_load((repo_root / "params.yaml").read_text())
    raw["problems"][problem]["models"].update(models)
    return parse_params(raw)


# (problem, family, wrong hyperparameters, what the one line must say): one scikit-learn, one xgboost, one lightgbm,
# one keras family; housing and digits infer their column roles from the data, which a type check does not need
WRONG_TYPES = [
    ("housing", "random_forest", {"n_estimators": "many"},
     "problems.housing.models.m.hyperparameters.n_estimators: got 'many'; expected an int in the range [1, inf)"),
    ("employment", "xgboost", {"n_estimators": "many"},
     "problems.employment.models.m.hyperparameters.n_estimators: got 'many'; expected Optional[int]"),
    ("employment", "lightgbm", {"learning_rate": "fast"},
     "problems.employment.models.m.hyperparameters.learning_rate: got 'fast'; expected float"),
    ("penguins", "keras_dense", {"hidden_layers": [16, "wide"]},
     "problems.penguins.models.m.hyperparameters.hidden_layers: got [16, 'wide']; expected Sequence[int]"),
    ("digits", "keras_cnn", {"epochs": 2.5},
     "problems.digits.models.m.hyperparameters.epochs: got 2.5; expected int"),
]


@pytest.mark.parametrize(("problem", "family", "hp", "line"), WRONG_TYPES, ids=[case[1] for case in WRONG_TYPES])
def test_wrong_hyperparameter_type_fails_in_check_with_one_line(repo_root, problem, family, hp, line):
    with pytest.raises(ConfigError) as err:
        check_models(with_models(repo_root, problem, m={"family": family, "hyperparameters": hp}))
    lines = str(err.value).splitlines()
    assert len(lines) == 2 and lines[1].strip().startswith(line), lines
    assert "params.yaml" in lines[1]


@pytest.mark.parametrize(("problem", "family"), [("housing", "random_forest"), ("employment", "xgboost"),
                                                 ("employment", "lightgbm"), ("penguins", "keras_dense")])
def test_unknown_hyperparameter_name_fails_in_check(repo_root, problem, family):
    with pytest.raises(ConfigError) as err:
        check_models(with_models(repo_root, problem, m={"family": family, "hyperparameters": {"n_trees": 5}}))
    assert f"problems.{problem}.models.m: family {family!r}: invalid hyperparameters" in str(err.value)
    assert "n_trees" in str(err.value)


VALID = [
    ("housing", "random_forest", {"n_estimators": 5, "max_features": "sqrt", "max_depth": None}),
    ("employment", "xgboost", {"n_estimators": 5, "learning_rate": 1, "max_depth": 3}),  # an int is a valid float
    ("employment", "lightgbm", {"n_estimators": 5, "learning_rate": 0.2, "num_leaves": 7}),
    ("penguins", "keras_dense", {"hidden_layers": [16, 8], "dropout": 0.2, "epochs": 1}),
    ("digits", "keras_cnn", {"image_shape": [28, 28, 1], "epochs": 1}),
]


@pytest.mark.parametrize(("problem", "family", "hp"), VALID, ids=[case[1] for case in VALID])
def test_valid_hyperparameters_pass_check(repo_root, problem, family, hp):
    catalogue = check_models(with_models(repo_root, problem, m={"family": family, "hyperparameters": hp}))
    assert catalogue[f"{problem}-m"] == {"problem": problem, "family": family}


def test_every_wrong_hyperparameter_is_listed(repo_root):
    with pytest.raises(ConfigError) as err:
        check_models(with_models(repo_root, "employment",
                                 a={"family": "random_forest", "hyperparameters": {"max_depth": "deep"}},
                                 b={"family": "logistic_regression", "hyperparameters": {"C": "strong"}}))
    message = str(err.value)
    assert "problems.employment.models.a.hyperparameters.max_depth: got 'deep'" in message
    assert "problems.employment.models.b.hyperparameters.C: got 'strong'" in message


def test_impute_false_where_nan_cannot_go_is_a_named_error(repo_root):
    knn = {"family": "knn", "hyperparameters": {"n_neighbors": 5}, "features": {"impute": False}}
    with pytest.raises(ConfigError) as err:
        check_models(with_models(repo_root, "penguins", a=knn))
    assert "problems.penguins.models.a: family 'knn' cannot take missing values (feature option impute: false)" \
        in str(err.value)
    pca = {"family": "xgboost", "features": {"impute": False, "pca_variance": 0.9}}
    with pytest.raises(ConfigError, match=r"problems\.penguins\.models\.b\.features: .*impute: false keeps NaN"):
        with_models(repo_root, "penguins", b=pca)


def test_a_search_space_the_family_does_not_take_fails_in_check(repo_root):
    space = {"max_depth": {"type": "int", "low": 2, "high": 8},   # fine
             "n_trees": {"type": "int", "low": 1, "high": 5},     # no such parameter
             "criterion": {"type": "categorical", "choices": ["gini", "cubic"]}}  # the second choice is invalid
    tree = {"family": "decision_tree", "hyperparameters": {"max_depth": 3}, "tune": {"space": space, "trials": 3}}
    with pytest.raises(ConfigError) as err:
        check_models(with_models(repo_root, "employment", m=tree))
    lines = [line.strip() for line in str(err.value).splitlines()[1:]]
    assert [line.split(":")[0] for line in lines] == ["problems.employment.models.m.tune.space.n_trees",
                                                      "problems.employment.models.m.tune.space.criterion"]
    assert "cubic" in lines[1]
