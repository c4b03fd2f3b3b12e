import pytest
import yaml

from tasks.core.config import load_params, parse_params, restrict
from tasks.core.errors import ConfigError


@pytest.fixture
def raw(repo_root):
    return yaml.safe_load((repo_root / "params.yaml").read_text())


def test_repository_params_parse(params):
    assert params.seed == 42
    assert set(params.problems) == {"employment", "penguins", "housing", "reviews", "digits"}
    assert {m.family for m in params.train.values()} >= {"logistic_regression", "random_forest", "xgboost"}
    assert len(params.train) == 53


def test_a_problem_is_one_block_and_its_models_carry_its_name(params):
    xgb = params.train["employment-xgboost"]
    assert (xgb.problem, xgb.name, xgb.key) == ("employment", "xgboost", "employment-xgboost")
    assert params.ingest["employment"] is params.problems["employment"].data
    assert [m.key for m in params.models("penguins")][:2] == ["penguins-nb", "penguins-knn"]
    with pytest.raises(ConfigError, match="no such problem"):
        params.models("nope")


def test_wrong_type_names_the_parameter(raw):
    raw["problems"]["employment"]["data"]["holdout_fraction"] = "a lot"
    with pytest.raises(ConfigError, match=r"problems\.employment\.data\.holdout_fraction"):
        parse_params(raw)


def test_unknown_key_is_rejected(raw):
    raw["problems"]["employment"]["models"]["xgboost"]["hyperparams"] = {}
    with pytest.raises(ConfigError, match=r"problems\.employment\.models\.xgboost\.hyperparams"):
        parse_params(raw)


def test_a_problem_needs_its_blocks(raw):
    del raw["problems"]["penguins"]["features"]
    with pytest.raises(ConfigError, match=r"problems\.penguins\.features"):
        parse_params(raw)


def test_names_that_cannot_be_paths_are_rejected(raw):
    raw["problems"]["employment"]["models"]["bad/name"] = raw["problems"]["employment"]["models"]["logreg"]
    with pytest.raises(ConfigError, match="they name directories"):
        parse_params(raw)


def test_dask_engine_only_for_boosters(raw):
    raw["problems"]["employment"]["models"]["logreg"]["engine"] = "dask"
    with pytest.raises(ConfigError, match="engine: dask needs family xgboost or lightgbm"):
        parse_params(raw)


def test_missing_and_malformed_files(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_params(tmp_path / "params.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("seed: [1,\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_params(bad)


def test_restrict_cuts_the_default_parameters_to_one_valid_problem(raw):
    cut = parse_params(restrict(raw, "employment"))
    assert set(cut.problems) == {"employment"}
    assert len(cut.train) == len(raw["problems"]["employment"]["models"])
    assert list(parse_params(restrict(raw, "digits", ["cnn"])).train) == ["digits-cnn"]
    assert len(raw["problems"]) == 5, "the original stays whole"
    with pytest.raises(ConfigError, match="nope"):
        restrict(raw, "employment", ["nope"])


def _quarantine_off(raw):
    raw["problems"]["employment"]["validate"] = yaml.safe_load("{quarantine: off}")  # YAML 1.1: False


def _target_yes(raw):
    raw["problems"]["employment"]["data"]["target"] = yaml.safe_load("yes")


def _no_gates(raw):
    del raw["problems"]["penguins"]["gates"]


@pytest.mark.parametrize("breakage, message", [
    (_quarantine_off, r"problems\.employment\.validate\.quarantine: .*\(got False\); YAML reads an unquoted "
                      r"off/no/false/n as the boolean False: quote it: 'off'"),
    (_target_yes, r"data\.target: .*\(got True\); .* quote it: 'on'"),
    (_no_gates, r"problems\.penguins\.gates: Field required \(write `gates: \{\}`"),
])
def test_errors_say_the_fix(raw, breakage, message):
    breakage(raw)
    with pytest.raises(ConfigError, match=message):
        parse_params(raw)


def test_no_gate_overrides_keep_the_shared_settings(params):
    for name in params.problems:
        assert params.evaluate_for(name) == params.evaluate
        assert params.champion_for(name) == params.champion
        assert params.fairness_for(name) == params.fairness and params.drift_for(name) == params.drift


def test_threshold_rule_overridden_per_problem(raw):
    raw["problems"]["employment"]["gates"] = {"threshold_rule": "youden"}
    params = parse_params(raw)
    assert params.evaluate_for("employment").threshold_rule == "youden"
    assert params.evaluate_for("reviews").threshold_rule == "fixed:0.5", "other problems keep the shared rule"
    raw["problems"]["employment"]["gates"] = {"threshold_rule": "fixed:2"}
    with pytest.raises(ConfigError, match=r"problems\.employment\.gates\.threshold_rule"):
        parse_params(raw)


def test_quality_floor_and_metric_overridden_per_problem(raw):
    raw["problems"]["penguins"]["gates"] = {"quality_floor": {"min_accuracy": 0.9}, "metric": "accuracy"}
    params = parse_params(raw)
    own, shared = params.champion_for("penguins"), params.champion_for("digits")  # both multiclass
    assert own.quality_floor["multiclass"] == {"min_accuracy": 0.9} and own.metric["multiclass"] == "accuracy"
    assert shared.quality_floor["multiclass"] == {"min_f1_macro": 0.7} and shared.metric["multiclass"] == "f1_macro"
    raw["problems"]["penguins"]["gates"] = {"quality_floor": {"min_roc_auc": 0.9}}
    with pytest.raises(ConfigError, match=r"problems\.penguins\.gates\.quality_floor\.min_roc_auc"):
        parse_params(raw)


def test_champion_gate_policy_overridden_per_problem(raw):
    raw["problems"]["housing"]["gates"] = {"champion": {"on_fail": "fail", "fail_pipeline": True}}
    params = parse_params(raw)
    assert params.champion_for("housing").gate.fail_pipeline is True
    assert params.champion_for("penguins").gate.fail_pipeline is False
    raw["problems"]["housing"]["gates"] = {"champion": {"fail_pipeline": True}}  # needs on_fail: fail
    with pytest.raises(ConfigError, match=r"problems\.housing\.gates\.champion"):
        parse_params(raw)


def test_fairness_limits_overridden_per_problem_and_attribute(raw):
    sex = {"SEX": {"max_demographic_parity_difference": 0.05}}
    raw["problems"]["employment"]["gates"] = {"fairness": {"max_equalized_odds_difference": 0.2, "on_fail": "fail",
                                                           "attributes": sex}}
    gate = parse_params(raw).fairness_for("employment").gate
    assert gate.max_equalized_odds_difference == 0.2 and gate.on_fail == "fail"
    assert set(gate.attributes) == {"AGEP", "SEX"}, "the shared per-attribute limits are kept, the problem's added"
    assert gate.attributes["SEX"].max_demographic_parity_difference == 0.05
    raw["problems"]["employment"]["gates"] = {"fairness": {"max_equalized_odds_difference": 2}}
    with pytest.raises(ConfigError, match=r"problems\.employment\.gates\.fairness: max_equalized_odds_difference"):
        parse_params(raw)


def test_drift_gate_overridden_per_problem(raw):
    raw["problems"]["employment"]["gates"] = {"drift": {"max_share_drifted": 0.5, "fail_on_target_drift": True}}
    params = parse_params(raw)
    assert params.drift_for("employment").gate.max_share_drifted == 0.5
    assert params.drift_for("employment").gate.fail_on_target_drift is True
    assert params.drift_for("employment").max_rows == params.drift.max_rows
    raw["problems"]["employment"]["gates"] = {"drift": {"max_shares": 0.5}}
    with pytest.raises(ConfigError, match=r"problems\.employment\.gates\.drift: max_shares"):
        parse_params(raw)


@pytest.mark.parametrize(("dimension", "message"), [
    ({"type": "int", "low": 40, "high": 8}, "low 40.0 is above high 8.0"),
    ({"type": "float", "low": 0, "high": 0.3, "log": True}, "log: true needs low > 0"),
    ({"type": "categorical", "low": 1, "high": 2}, "categorical needs choices"),
    ({"type": "int", "low": 1.5, "high": 8}, "type int needs whole low and high"),
])
def test_a_bad_search_space_names_the_model_and_parameter(raw, dimension, message):
    raw["problems"]["employment"]["models"]["lightgbm"]["tune"] = {"space": {"num_leaves": dimension}, "trials": 5}
    with pytest.raises(ConfigError, match=r"problems\.employment\.models\.lightgbm\.tune\.space\.num_leaves") as err:
        parse_params(raw)
    assert message in str(err.value)


def test_a_search_needs_a_budget_and_a_local_engine(raw):
    model = raw["problems"]["employment"]["models"]["lightgbm"]
    model["tune"] = {"space": {"num_leaves": {"type": "int", "low": 8, "high": 64}}, "trials": None}
    with pytest.raises(ConfigError, match="give trials or timeout_s"):
        parse_params(raw)
    model["tune"] = {"space": {"num_leaves": {"type": "int", "low": 8, "high": 64}}, "timeout_s": 30}
    assert parse_params(raw).train["employment-lightgbm"].tune.trials == 20
    model["engine"] = "dask"
    with pytest.raises(ConfigError, match="tune needs engine: local"):
        parse_params(raw)
