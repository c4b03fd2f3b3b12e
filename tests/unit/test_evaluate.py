"""tasks/stages/evaluate.py and tasks/ml/metrics.py: every problem type, against scikit-learn and the stage's own
outputs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn import metrics as skm
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.pipeline import make_pipeline

from tasks.core.artefacts import FeatureSpec
from tasks.core.config import EvaluateConfig
from tasks.core.errors import ConfigError
from tasks.ml import stats
from tasks.ml.metrics import encode, headline, intervals, nan_to_null, point_values, score
from tasks.stages import ingest
from tasks.stages.evaluate import CURVE_COLUMNS, evaluate_model, family_insights, scores_from_predictions
from tasks.stages.featurize import build_spec
from tasks.stages.train import TrainedModel, train_model

CFG = EvaluateConfig(bootstrap_resamples=200, threshold_rule="f1", sweep_points=51, roc_points=21)


def fitted(name: str, pipeline, x: pd.DataFrame, y: pd.Series, problem: str = "p") -> TrainedModel:
    return TrainedModel(pipeline=pipeline.fit(x, y), meta={"name": name, "problem": problem})


@pytest.fixture(scope="module")
def employment(acs_sample, params):
    cfg = params.ingest["employment"]
    parts = ingest.split(acs_sample, cfg, seed=params.seed)
    spec = build_spec(parts["train"], cfg, params.featurize["employment"], "train")
    model = train_model("lr", params.train["employment-logreg"], spec, parts["train"], parts["valid"], seed=0)
    batches = {b: parts[b] for b in ingest.evaluation_batches(cfg)}
    return parts, spec, model, evaluate_model(model, spec, parts["valid"], batches, CFG, seed=3)


def test_binary_metrics_match_sklearn_on_every_batch(employment):
    parts, spec, model, result = employment
    threshold = result.metrics.threshold
    assert list(result.metrics.batches) == ["holdout", "batch_2016", "batch_2017", "batch_2018"]
    assert list(result.metrics.to_dict()) == ["threshold", *result.metrics.batches], "the DVC metrics file's layout"
    for batch in ("holdout", "batch_2016", "batch_2017", "batch_2018"):
        frame = parts[batch]
        y = frame["employed"].to_numpy()
        proba = model.pipeline.predict_proba(frame.drop(columns="employed"))[:, 1]
        pred = (proba >= threshold).astype(int)
        values = result.metrics.batches[batch]
        assert values["rows"] == len(frame)
        assert values["accuracy"] == pytest.approx(skm.accuracy_score(y, pred), abs=1e-6)
        assert values["f1"] == pytest.approx(skm.f1_score(y, pred), abs=1e-6)
        assert values["specificity"] == pytest.approx(skm.recall_score(1 - y, 1 - pred), abs=1e-6)
        assert values["roc_auc"] == pytest.approx(skm.roc_auc_score(y, proba), abs=1e-6)
        assert values["log_loss"] == pytest.approx(skm.log_loss(y, proba), abs=1e-6)
        assert values["brier"] == pytest.approx(skm.brier_score_loss(y, proba), abs=1e-6)
        entry = result.details["batches"][batch]
        assert np.asarray(entry["confusion"]).tolist() == skm.confusion_matrix(y, pred).tolist()
        for name, ci in entry["intervals"].items():
            assert ci["low"] <= ci["value"] <= ci["high"], (batch, name)
        assert entry["average_precision"] == pytest.approx(skm.average_precision_score(y, proba))


def test_threshold_is_chosen_on_the_validation_split(employment):
    parts, _, model, result = employment
    valid = parts["valid"]
    proba = model.pipeline.predict_proba(valid.drop(columns="employed"))[:, 1]
    sweep = stats.threshold_sweep(valid["employed"].to_numpy(), proba, np.linspace(0, 1, 51))
    assert result.metrics.threshold == stats.choose_threshold(sweep, "f1")
    assert result.details["threshold"] == {"rule": "f1", "value": result.metrics.threshold, "chosen_on": "valid"}


def test_curves_and_predictions(employment):
    parts, spec, _, result = employment
    curves = result.curves
    assert list(curves.columns) == CURVE_COLUMNS
    assert set(curves["curve"]) == {"threshold sweep (validation)", "ROC", "precision-recall", "calibration"}
    roc = curves[(curves["curve"] == "ROC") & (curves["series"] == "holdout")]
    assert len(roc) == 21 and roc["y"].is_monotonic_increasing and roc["y"].iloc[-1] == 1
    assert set(curves.loc[curves["curve"] == "threshold sweep (validation)", "series"]) == {
        "precision", "recall", "specificity", "f1"}
    predictions = result.predictions
    assert predictions.groupby("batch", sort=False).size().to_dict() == {
        b: len(parts[b]) for b in ("holdout", "batch_2016", "batch_2017", "batch_2018")}
    holdout = predictions[predictions["batch"] == "holdout"]
    assert holdout["row_id"].tolist() == parts["holdout"]["id"].tolist(), "the problem's id column is the row id"
    rescored = scores_from_predictions(holdout, spec, result.metrics.threshold)
    assert point_values(rescored)["roc_auc"] == pytest.approx(result.metrics.batches["holdout"]["roc_auc"], abs=1e-6)


def test_multiclass_problem():
    rng = np.random.default_rng(0)
    x = pd.DataFrame({"a": rng.normal(size=600), "b": rng.normal(size=600)})
    y = pd.Series(np.where(x["a"] > 0.5, "high", np.where(x["a"] < -0.5, "low", "mid")))
    y[rng.random(600) < 0.1] = "mid"
    spec = FeatureSpec(problem_type="multiclass", target="y", numeric=["a", "b"], ordinal=[], categorical=[],
                       classes=["high", "low", "mid"])
    frame = x.assign(y=y)
    model = fitted("m", LogisticRegression(max_iter=500), x[:400], y[:400])
    result = evaluate_model(model, spec, frame[:400], {"holdout": frame[400:]}, CFG, seed=0)
    values, truth = result.metrics.batches["holdout"], y[400:]
    pred = model.pipeline.predict(x[400:])
    proba = model.pipeline.predict_proba(x[400:])
    assert result.metrics.threshold is None and "threshold" not in result.metrics.to_dict()
    assert set(values) == {"rows", *headline("multiclass")}
    assert values["f1_macro"] == pytest.approx(skm.f1_score(truth, pred, average="macro"), abs=1e-6)
    assert values["roc_auc_ovr"] == pytest.approx(skm.roc_auc_score(truth, proba, multi_class="ovr"), abs=1e-6)
    assert values["log_loss"] == pytest.approx(skm.log_loss(truth, proba), abs=1e-6)
    per_class = pd.DataFrame(result.details["batches"]["holdout"]["per_class"]).set_index("label")
    assert per_class.loc["mid", "recall"] == pytest.approx(skm.recall_score(truth, pred, average=None,
                                                                            labels=["mid"])[0])
    assert set(result.curves["curve"]) == {"ROC one-vs-rest", "precision-recall one-vs-rest"}
    assert {c for c in result.predictions.columns if c.startswith("proba_")} == {"proba_high", "proba_low",
                                                                                "proba_mid"}


def test_regression_problem():
    rng = np.random.default_rng(1)
    x = pd.DataFrame({"a": rng.normal(size=500)})
    y = pd.Series(3 * x["a"] + rng.normal(size=500))
    spec = FeatureSpec(problem_type="regression", target="y", numeric=["a"], ordinal=[], categorical=[])
    frame = x.assign(y=y)
    model = fitted("r", LinearRegression(), x[:300], y[:300])
    result = evaluate_model(model, spec, frame[:300], {"holdout": frame[300:], "batch_1": frame[400:]}, CFG, seed=0)
    pred = model.pipeline.predict(x[300:])
    values = result.metrics.batches["holdout"]
    assert result.predictions["row_id"].tolist() == [*range(200), *range(100)], "no id column: the row's number"
    assert values["r2"] == pytest.approx(skm.r2_score(y[300:], pred), abs=1e-6)
    assert values["rmse"] == pytest.approx(np.sqrt(skm.mean_squared_error(y[300:], pred)), abs=1e-6)
    assert values["mae"] == pytest.approx(skm.mean_absolute_error(y[300:], pred), abs=1e-6)
    holdout = result.details["batches"]["holdout"]
    assert sum(holdout["histogram"]["counts"]) == 200 and "confusion" not in holdout
    assert set(result.curves["curve"]) == {"calibration", "residuals (holdout)"}
    residuals = result.curves[result.curves["curve"] == "residuals (holdout)"]
    assert len(residuals) == 200 and residuals["y"].abs().max() < 5


def test_informative_terms_of_a_text_model():
    texts = ["great fun film", "great acting", "dull plot", "dull and slow", "fun great cast", "slow dull story"] * 5
    labels = pd.Series(["fresh", "fresh", "rotten", "rotten", "fresh", "rotten"] * 5)
    frame = pd.DataFrame({"text": texts, "label": labels})
    spec = FeatureSpec(problem_type="binary", target="label", numeric=[], ordinal=[], categorical=[], text=["text"],
                       classes=["fresh", "rotten"])
    model = fitted("t", make_pipeline(_Column("text"), TfidfVectorizer(), LogisticRegression()), frame[["text"]],
                   labels)
    result = evaluate_model(model, spec, frame, {"holdout": frame}, CFG, seed=0, train=frame)
    terms = pd.DataFrame(result.details["informative_terms"])
    top = terms[terms["rank"] == 1].set_index("class")["term"].to_dict()
    assert top["fresh"] == "great" and top["rotten"] == "dull"


def test_misclassified_image_grid_and_a_wrong_shape():
    rng = np.random.default_rng(2)
    pixels = pd.DataFrame(rng.random((200, 4)), columns=["p0", "p1", "p2", "p3"])
    y = pd.Series((pixels["p0"] + 0.3 * rng.random(200) > 0.6).astype(int))
    spec = FeatureSpec(problem_type="binary", target="y", numeric=list(pixels.columns), ordinal=[], categorical=[],
                       classes=[0, 1])
    frame = pixels.assign(y=y)
    model = fitted("img", LogisticRegression(), pixels, y)
    result = evaluate_model(model, spec, frame, {"holdout": frame}, CFG, seed=0, image_shape=[2, 2])
    shown = result.details["misclassified"]
    assert shown["shape"] == [2, 2] and 0 < len(shown["examples"]) <= 24
    confidence = [e["confidence"] for e in shown["examples"]]
    assert confidence == sorted(confidence, reverse=True) and all(e["true"] != e["predicted"]
                                                                  for e in shown["examples"])
    with pytest.raises(ConfigError, match=r"shape \[3, 3\] needs 9 pixel columns"):
        evaluate_model(model, spec, frame, {"holdout": frame}, CFG, seed=0, image_shape=[3, 3])


def test_training_scores_and_intervals_share_one_definition(employment):
    parts, spec, model, _ = employment
    frame = parts["holdout"]
    values = score(model.pipeline, frame.drop(columns="employed"), frame["employed"], spec)
    proba = model.pipeline.predict_proba(frame.drop(columns="employed"))
    scored = encode("binary", spec.classes, frame["employed"], proba)
    cis = intervals(scored, n_resamples=100, confidence=0.9, seed=0)
    assert values == {k: round(v["value"], 6) for k, v in cis.items()}
    with pytest.raises(Exception, match="not among the training classes"):
        encode("binary", spec.classes, frame["employed"].replace({1: 7}), proba)


class _Column:
    """Select one text column as a 1-D array for a vectorizer (a minimal transformer for the test pipeline)."""

    def __init__(self, name: str):
        self.name = name

    def fit(self, x, y=None):
        return self

    def transform(self, x):
        return x[self.name].to_numpy()

    def get_params(self, deep: bool = True) -> dict:
        return {"name": self.name}


def test_metrics_files_hold_null_not_nan():
    assert nan_to_null({"a": float("nan"), "b": [1.0, float("nan")], "c": {"d": 2}}) == {"a": None, "b": [1.0, None],
                                                                                        "c": {"d": 2}}


class _Clusters:
    def fit(self, x, y=None):
        return self

    def summary(self) -> dict:
        return {"algorithm": "toy", "chosen_k": 2, "inertia_by_k": {"2": 3.0, "3": 2.0}}


class _Generator(_Clusters):
    def sample(self, n: int, random_state: int | None = None) -> np.ndarray:
        return np.random.default_rng(random_state).random((n, 4))


@pytest.mark.parametrize("estimator", [_Clusters(), _Generator()])
def test_unsupervised_models_are_described_not_scored(estimator):
    frame = pd.DataFrame({"p0": [0.1, 0.2], "p1": [0.3, 0.4], "p2": [0.5, 0.6], "p3": [0.7, 0.8], "y": [0, 1]})
    spec = FeatureSpec(problem_type="binary", target="y", numeric=["p0", "p1", "p2", "p3"], ordinal=[],
                       categorical=[], classes=[0, 1])
    model = TrainedModel(estimator, {"name": "u", "problem": "p", "kind": "clustering"})
    result = evaluate_model(model, spec, frame, {"holdout": frame}, CFG, seed=0, image_shape=[2, 2])
    assert result.metrics.to_dict() == {"holdout": {"rows": 2}} and result.predictions.empty and result.curves.empty
    assert result.details["kind"] == "clustering" and result.details["summary"]["inertia_by_k"] == {"2": 3.0,
                                                                                                    "3": 2.0}
    generated = result.details.get("generated")
    assert (generated is not None) == isinstance(estimator, _Generator)
    if generated:
        assert generated["shape"] == [2, 2] and len(generated["examples"][0]["pixels"]) == 4


def test_family_insights_are_kept_or_their_absence_explained(employment):
    _, _, _, result = employment
    tables = result.details["insights"]["tables"]
    assert tables["summary"]["family"] == "logistic_regression" and tables["coefficients"]
    class Opaque:  # coefficients it cannot name: three weights, no feature count, no preprocessing
        coef_ = np.ones(3)

    model = TrainedModel(Opaque(), {"name": "odd", "family": "custom"})
    assert family_insights(model)["unavailable"].startswith("ValueError")


def test_metric_names_declared_once_match_their_functions():
    """tasks.core.artefacts names the headline metrics config validates against; tasks.ml.metrics computes them."""
    from tasks.core.artefacts import SUPERVISED, metric_names
    from tasks.ml.metrics import headline

    for kind in SUPERVISED:
        assert tuple(headline(kind)) == metric_names(kind)
    assert metric_names("clustering") == () and headline("clustering") == {}
