"""Keras families: built through the registry, clone-able, fitted for two epochs on tiny data, pickled, and
falling back to the CPU (with a warning) when a GPU is requested but none is visible."""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass

import joblib
import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.neighbors import KNeighborsClassifier

from tasks.core.artefacts import FeatureSpec
from tasks.core.errors import ConfigError
from tasks.families import BuildContext, build_estimator, get_family
from tasks.ml.keras_estimators import TextSequencer, mode_collapse, sample_grid, seed_and_determinism
from tests.unit.family_groups import families

FAST = {"epochs": 2, "batch_size": 64}


@dataclass
class Case:
    family: str
    spec: FeatureSpec
    frame: pd.DataFrame
    hyperparameters: dict


def tabular(problem_type: str) -> Case:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"age": rng.normal(40, 10, 300), "colour": rng.choice(["red", "green", "blue"], 300)})
    signal = (frame["age"] - 40) / 10 + (frame["colour"] == "red")
    target = signal + rng.normal(0, 0.1, 300) if problem_type == "regression" else (signal > 0.3).astype(int)
    frame["y"] = target
    spec = FeatureSpec(problem_type=problem_type, target="y", numeric=["age"], ordinal=[], categorical=["colour"],
                       classes=[] if problem_type == "regression" else [0, 1])
    return Case("keras_dense", spec, frame, {"hidden_layers": [16, 8], "batch_norm": True, "clipnorm": 1.0, **FAST})


def digits(family: str, problem_type: str, hyperparameters: dict) -> Case:
    x, y = load_digits(return_X_y=True)
    frame = pd.DataFrame(x, columns=[f"p{i}" for i in range(64)]).assign(digit=y)
    spec = FeatureSpec(problem_type=problem_type, target="digit", numeric=[f"p{i}" for i in range(64)], ordinal=[],
                       categorical=[], classes=list(range(10)) if problem_type == "multiclass" else [])
    return Case(family, spec, frame, hyperparameters)


def reviews(family: str) -> Case:
    rng = np.random.default_rng(1)
    good, bad, filler = ["great", "moving", "funny", "superb"], ["dull", "awful", "boring", "weak"], ["film", "plot"]
    labels = rng.integers(0, 2, 300)
    texts = [" ".join(rng.choice((good if label else bad) + filler, 6)) for label in labels]
    frame = pd.DataFrame({"review": texts, "fresh": labels})
    spec = FeatureSpec(problem_type="binary", target="fresh", numeric=[], ordinal=[], categorical=[],
                       text=["review"], classes=[0, 1])
    return Case(family, spec, frame, {"sequence_length": 8, "embedding_dim": 8, "units": 8,
                                      "bidirectional": family == "keras_gru", **FAST})


CASES = {
    "dense-binary": lambda: tabular("binary"),
    "dense-regression": lambda: tabular("regression"),
    "cnn": lambda: digits("keras_cnn", "multiclass", {"image_shape": [8, 8, 1], "filters": [8, 16],
                                                      "dense_layers": [16], **FAST}),
    "lstm": lambda: reviews("keras_lstm"),
    "gru": lambda: reviews("keras_gru"),
}


def test_every_keras_family_of_the_registry_has_a_case() -> None:
    """The cases above, and the GAN's own test below, cover the registry's Keras families."""
    assert {case().family for case in CASES.values()} | {"keras_gan"} == set(families("keras"))


class Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def fit_logged(estimator, x, y=None) -> list[logging.LogRecord]:
    """Fit while collecting what the "mlplatform.train" logger emits."""
    logger, handler = logging.getLogger("mlplatform.train"), Records()
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        estimator.fit(x, y)
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
    return handler.records


def gpu_visible() -> bool:
    import keras

    return bool(keras.distribution.list_devices("gpu"))


@dataclass
class Fitted:
    case: Case
    pipeline: object
    x: pd.DataFrame
    y: pd.Series
    records: list[logging.LogRecord]


@pytest.fixture(scope="module", params=list(CASES))
def fitted(request) -> Fitted:
    """Each case built through the registry with device="cuda" and fitted once."""
    case = CASES[request.param]()
    pipeline = build_estimator(get_family(case.family), BuildContext(case.spec, seed=0, device="cuda"),
                               case.hyperparameters)
    x, y = case.frame.drop(columns=[case.spec.target]), case.frame[case.spec.target]
    return Fitted(case, pipeline, x, y, fit_logged(pipeline, x, y))


def test_clone_gives_an_unfitted_copy_with_the_same_hyperparameters(fitted):
    copy = clone(fitted.pipeline)
    assert copy.get_params()["model"].get_params() == fitted.pipeline.get_params()["model"].get_params()
    assert not hasattr(copy[-1], "model_")


def test_predictions_have_one_value_per_row_and_probabilities_sum_to_one(fitted):
    pred = fitted.pipeline.predict(fitted.x)
    assert pred.shape == (len(fitted.x),)
    if fitted.case.spec.problem_type == "regression":
        assert np.isfinite(pred).all()
        return
    assert set(pred) <= set(fitted.case.spec.classes)
    proba = fitted.pipeline.predict_proba(fitted.x)
    assert proba.shape == (len(fitted.x), len(fitted.case.spec.classes))
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-9)


def test_joblib_round_trip_keeps_predictions(fitted):
    buffer = io.BytesIO()
    joblib.dump(fitted.pipeline, buffer)
    buffer.seek(0)
    loaded = joblib.load(buffer)
    np.testing.assert_array_equal(loaded.predict(fitted.x), fitted.pipeline.predict(fitted.x))
    if fitted.case.spec.problem_type != "regression":
        np.testing.assert_allclose(loaded.predict_proba(fitted.x), fitted.pipeline.predict_proba(fitted.x))


def test_requested_gpu_falls_back_to_cpu_with_a_warning(fitted):
    warnings = [r.getMessage() for r in fitted.records if r.levelno == logging.WARNING]
    if gpu_visible():
        assert fitted.pipeline[-1].device_used_ == "cuda" and not warnings
    else:
        assert fitted.pipeline[-1].device_used_ == "cpu"
        assert any("no GPU" in message for message in warnings)


def test_gpu_fits_turn_on_deterministic_ops_and_turn_off_tf32_cpu_fits_change_nothing(monkeypatch):
    import keras
    import tensorflow as tf

    calls = []
    monkeypatch.setattr(tf.config.experimental, "enable_op_determinism", lambda: calls.append("determinism"))
    monkeypatch.setattr(tf.config.experimental, "enable_tensor_float_32_execution",
                        lambda enabled: calls.append(f"tf32={enabled}"))
    seed_and_determinism(keras, 0, "cpu")
    assert calls == []
    seed_and_determinism(keras, 0, "cuda")
    assert calls == ["determinism", "tf32=False"]


def test_one_info_line_per_epoch_with_both_losses(fitted):
    lines = [r.getMessage() for r in fitted.records if r.levelno == logging.INFO]
    assert len(lines) == len(fitted.pipeline[-1].history_["loss"]) == 2
    assert "epoch 1/2" in lines[0] and "loss=" in lines[0] and "val_loss=" in lines[0]


def test_text_sequencer_keeps_the_most_frequent_tokens_and_pads_at_the_end():
    sequencer = TextSequencer(max_tokens=2, sequence_length=4).fit(["b a a", "A b c", None])
    assert sequencer.vocabulary_ == {"a": 2, "b": 3}
    np.testing.assert_array_equal(sequencer.transform(["a zz b", "b b b b b"]), [[2, 1, 3, 0], [3, 3, 3, 3]])


def test_unknown_hyperparameter_and_unsupported_problem_type_fail_clearly():
    case = tabular("binary")
    with pytest.raises(ConfigError, match="invalid hyperparameters"):
        build_estimator(get_family("keras_dense"), BuildContext(case.spec, seed=0), {"hidden_units": [4]})
    with pytest.raises(ConfigError, match="does not support 'regression'"):
        build_estimator(get_family("keras_cnn"), BuildContext(tabular("regression").spec, seed=0), {})
    with pytest.raises(ConfigError, match="text column"):
        build_estimator(get_family("keras_lstm"), BuildContext(case.spec, seed=0), {})


@pytest.mark.parametrize("architecture,layers", [("dense", [32]), ("dcgan", [16, 8])])
def test_gan_samples_a_grid_and_a_mode_collapse_signal(architecture, layers):
    case = digits("keras_gan", "generation", {"architecture": architecture, "image_shape": [8, 8, 1],
                                               "latent_dim": 8, "generator_layers": layers,
                                               "discriminator_layers": layers[::-1], "epochs": 1})
    pipeline = build_estimator(get_family("keras_gan"), BuildContext(case.spec, seed=0), case.hyperparameters)
    x, y = case.frame.drop(columns=["digit"]), case.frame["digit"]
    records = fit_logged(pipeline, x)
    gan = pipeline[-1]
    assert len(records) == len(gan.history_["g_loss"]) == 1
    samples = gan.sample(20, random_state=3)
    assert samples.shape == (20, 64) and samples.min() >= 0 and samples.max() <= gan.pixel_max_
    svg = io.BytesIO()
    sample_grid(samples, (8, 8), columns=5).savefig(svg, format="svg")
    assert svg.getvalue().startswith(b"<?xml")
    signal = mode_collapse(gan, KNeighborsClassifier().fit(x.to_numpy(), y), n_samples=200)
    assert sum(signal["class_counts"].values()) == 200 and 1 <= signal["distinct_classes"] <= 10
    assert 0 <= signal["normalised_entropy"] <= 1
    buffer = io.BytesIO()
    joblib.dump(pipeline, buffer)
    buffer.seek(0)
    np.testing.assert_array_equal(joblib.load(buffer)[-1].sample(5, random_state=1), gan.sample(5, random_state=1))


def test_insights_summarise_every_keras_model(fitted):
    """Sequence models over token ids have no n_features_in_: insights still give their summary."""
    from tasks.ml.model_insights import insights

    summary = insights(fitted.pipeline, fitted.case.family, figures=False).tables["summary"]
    assert summary["family"] == fitted.case.family and summary["estimator"] == type(fitted.pipeline[-1]).__name__
    if fitted.case.family in ("keras_lstm", "keras_gru"):
        assert summary["features"] is None


def test_a_fit_is_the_same_while_other_threads_draw_from_pythons_random():
    """Keras seeds layers made without a seed from Python's process-wide `random`; Dask's and Prefect's threads
    draw from it too. The oracle is the same fit with no other thread drawing."""
    import random
    import threading

    case = tabular("binary")
    x, y = case.frame[["age", "colour"]], case.frame["y"]

    def fit_predict() -> np.ndarray:
        model = build_estimator(get_family(case.family), BuildContext(spec=case.spec, seed=3),
                                {**case.hyperparameters, "dropout": 0.3})
        return model.fit(x, y).predict_proba(x)

    quiet = fit_predict()
    stop = threading.Event()

    def draw() -> None:
        while not stop.is_set():
            random.random()

    drawer = threading.Thread(target=draw, daemon=True)
    drawer.start()
    try:
        noisy = [fit_predict(), fit_predict()]
    finally:
        stop.set()
        drawer.join()
    np.testing.assert_array_equal(noisy[0], quiet)
    np.testing.assert_array_equal(noisy[1], quiet)
