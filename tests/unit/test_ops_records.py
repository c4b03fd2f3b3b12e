from datetime import UTC, datetime

import numpy as np
import pytest

from tasks.core.errors import DataError
from tasks.stages import drift_check, ingest, retrain
from tasks.stages.featurize import build_spec
from tasks.stages.train import train_model

MODELS = {"p-a": "p", "p-b": "p"}


def test_experiment_name_and_rev():
    name = retrain.experiment_name(datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC))
    assert name == "retrain-20260304-050607"
    refs = f"aaa refs/exps/2e/f0/retrain-1\nbbb refs/exps/2e/f0/{name}\nccc refs/exps/exec/EXEC_HEAD\n"
    assert retrain.experiment_rev(refs, name) == "bbb"
    assert retrain.experiment_rev(refs, "missing") is None


def test_output_versions_are_the_model_hashes_in_dvc_lock():
    lock = {"stages": {
        "train@p-a": {"outs": [{"path": "models/p-a", "md5": "1.dir"}]},
        "report": {"outs": [{"path": "reports/index.html", "md5": "2"}]},
        "check": {"outs": [{"path": "models/catalogue.json", "md5": "3"}]},
    }}
    assert retrain.output_versions(lock) == {"models/catalogue.json": "3", "models/p-a": "1.dir"}


def test_metric_rows_are_read_by_name_at_any_depth():
    shown = {"": {"data": {
        "reports/evaluate/p-a/metrics.json": {"data": {"holdout": {"roc_auc": 0.9, "f1": 0.8}}},
        "reports/leaderboard.json": {"data": {"p-a/holdout": {"roc_auc": 0.9, "rows": 10}}},
        "broken.json": {"error": {"type": "FileNotFoundError"}},
        "reports/metrics/p.json": {"data": {"p": {"champion": "a", "metric": "roc_auc", "models": {
            "a": {"holdout": 0.91, "batch_2016": 0.9, "outcome": "champion"}}}}},
        "reports/metrics/q.json": {"data": {"q": {"champion": "c", "metric": "rmse", "models": {
            "c": {"holdout": 1.5}}}}},
    }}}
    assert retrain.metric_rows(shown, "roc_auc") == [
        {"file": "reports/evaluate/p-a/metrics.json", "key": "holdout", "roc_auc": 0.9},
        {"file": "reports/leaderboard.json", "key": "p-a/holdout", "roc_auc": 0.9},
        {"file": "reports/metrics/p.json", "key": "p.a.holdout", "roc_auc": 0.91},
        {"file": "reports/metrics/p.json", "key": "p.a.batch_2016", "roc_auc": 0.9},
    ]


def test_champion_file_wins_else_best_on_the_leaderboard():
    board = {"p": {"champion": "none", "p-a": {"rank": 2, "roc_auc": 0.8, "rmse": 3.0},
                   "p-b": {"rank": 1, "roc_auc": 0.85, "rmse": 1.0}},
             "q": {"q-c": {"roc_auc": 0.99}}}
    assert drift_check.champion("p", MODELS, {"champion": "p-a"}, board, "roc_auc") == ("p-a", "champion file")
    assert drift_check.champion("p", MODELS, {"champion": None}, board, "roc_auc")[0] == "p-b"  # no model passed
    assert drift_check.champion("p", MODELS, None, board, "rmse")[0] == "p-b"     # lower is better
    with pytest.raises(DataError, match="not a model of problem 'p'"):
        drift_check.champion("p", MODELS, {"champion": "q-c"}, board, "roc_auc")
    with pytest.raises(DataError, match="run the pipeline first"):
        drift_check.champion("p", MODELS, None, None, "roc_auc")


def test_predictions_are_the_positive_class_probability(acs_sample, params):
    parts = ingest.split(acs_sample, params.ingest["employment"], seed=params.seed)
    spec = build_spec(parts["train"], params.ingest["employment"], params.featurize["employment"], "train")
    trained = train_model("m", params.train["employment-logreg"], spec, parts["train"], parts["valid"], seed=0)
    scored = drift_check.with_predictions(trained.pipeline, parts["holdout"], spec)
    assert list(scored.columns) == [*parts["holdout"].columns, drift_check.PREDICTION]
    np.testing.assert_allclose(scored[drift_check.PREDICTION], trained.pipeline.predict_proba(
        parts["holdout"][spec.features])[:, list(trained.pipeline.classes_).index(spec.classes[1])])
