import pytest
import yaml

from tasks.config import load_params, parse_params, restrict
from tasks.errors import ConfigError


@pytest.fixture
def raw(repo_root):
    return yaml.safe_load((repo_root / "params.yaml").read_text())


def test_repository_params_parse(params):
    assert params.seed == 42
    assert {m.family for m in params.train.values()} >= {"logistic_regression", "random_forest", "xgboost"}


def test_wrong_type_names_the_parameter(raw):
    raw["ingest"]["employment"]["holdout_fraction"] = "a lot"
    with pytest.raises(ConfigError, match=r"ingest\.employment\.holdout_fraction"):
        parse_params(raw)


def test_unknown_key_is_rejected(raw):
    raw["train"]["employment-xgboost"]["hyperparams"] = {}
    with pytest.raises(ConfigError, match=r"train\.employment-xgboost\.hyperparams"):
        parse_params(raw)


def test_model_for_unknown_problem(raw):
    raw["train"]["employment-xgboost"]["problem"] = "nope"
    with pytest.raises(ConfigError, match="unknown problem 'nope'"):
        parse_params(raw)


def test_missing_and_malformed_files(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_params(tmp_path / "params.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("seed: [1,\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_params(bad)


def test_restrict_cuts_the_default_parameters_to_one_valid_problem(repo_root):
    raw = yaml.safe_load((repo_root / "params.yaml").read_text())
    cut = parse_params(restrict(raw, "employment"))
    assert set(cut.ingest) == set(cut.featurize) == {"employment"}
    assert cut.train and all(model.problem == "employment" for model in cut.train.values())
    assert cut.evaluate.images == {} and raw["evaluate"]["images"], "the digits image shape goes, the original stays"
    assert list(parse_params(restrict(raw, "digits", ["digits-cnn"])).train) == ["digits-cnn"]
    with pytest.raises(ConfigError, match="nope"):
        restrict(raw, "employment", ["nope"])
