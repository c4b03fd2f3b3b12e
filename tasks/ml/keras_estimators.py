"""Scikit-learn estimators around small Keras 3 networks: dense, CNN and LSTM/GRU text models, and a digits GAN.

Keras is imported inside `fit` and when a fitted model is unpickled (TensorFlow backend unless `KERAS_BACKEND` is
already set), so importing this module stays cheap. A fitted network pickles as its JSON config plus its weights.
Training logs one INFO line per epoch on the "mlplatform.train" logger.
"""

from __future__ import annotations

import logging
import math
import os
import random
import re
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from types import ModuleType
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin, TransformerMixin
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_array, check_consistent_length, check_is_fitted, column_or_1d, validate_data

from tasks.ml.keras_pretrain import source_images
from tasks.ml.keras_pruning import apply_masks, magnitude_mask, mask_keeper, prunable_kernels, weight_counts

LOGGER = logging.getLogger("mlplatform.train")
_TOKEN = re.compile(r"[a-z0-9']+")
_PREDICT_BATCH = 2048


def _keras() -> ModuleType:
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras

    return keras


def _check_choice(name: str, value: Any, options: Sequence[Any]) -> None:
    if value not in options:
        raise ValueError(f"{name}={value!r}; expected one of {list(options)}")


def resolve_device(requested: str) -> str:
    """"cuda" when it is requested and Keras sees a GPU; otherwise "cpu", with a warning if a GPU was requested."""
    _check_choice("device", requested, ("cpu", "cuda"))
    if requested == "cuda":
        if _keras().distribution.list_devices("gpu"):
            return "cuda"
        LOGGER.warning("device 'cuda' was requested but no GPU is visible; training on the CPU instead")
    return "cpu"


def seed_and_determinism(keras: ModuleType, random_state: int | None, device: str) -> None:
    """Seed Python, NumPy and the backend; on a GPU also make TensorFlow reproducible: deterministic op
    implementations (the same inputs give the same outputs on the same hardware) and no TF32, so float32 matmuls and
    convolutions keep their full precision on Ampere and later GPUs.

    Only for "cuda": the CPU kernels are deterministic already, and turning determinism on there would still change
    CPU results in the last bits (TensorFlow then computes sparse softmax cross-entropy by another path). Both
    settings are process-wide and stay on; CPU fits happen in processes that never fit on a GPU (the train stage and
    its Dask workers; a GPU worker runs each fit in a flow-run process of its own)."""
    keras.utils.set_random_seed(random_state)
    if device == "cuda" and keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        tf.config.experimental.enable_op_determinism()
        tf.config.experimental.enable_tensor_float_32_execution(False)


@contextmanager
def seeded(keras: ModuleType, random_state: int | None, device: str) -> Iterator[None]:
    """One reproducible fit: `seed_and_determinism`, and Keras's default seeds drawn from a generator of its own.

    Keras gives every initializer, dropout layer and seed generator created without a seed one drawn from Python's
    process-wide `random` (`keras.src.random.seed_generator.make_default_seed`). Other threads draw from it too: in
    a Dask worker (its heartbeats) or under Prefect, so the same fit gave other weights from run to run (the digits
    CNN's holdout macro F1 was 0.976, 0.977 and 0.982 in three pipeline runs). For the fit, that module's
    `python_random` is a `random.Random(random_state)`, the same sequence `random.seed(random_state)` starts, so a
    fit with no other thread drawing is unchanged. One Keras fit at a time per process (Dask workers run one task
    at a time: `distributed.threads_per_worker: 1`)."""
    from keras.src.random import seed_generator

    seed_and_determinism(keras, random_state, device)
    shared = seed_generator.python_random
    seed_generator.python_random = random.Random(random_state)
    try:
        yield
    finally:
        seed_generator.python_random = shared


def _optimizer(keras: ModuleType, name: str, learning_rate: float, momentum: float, clipnorm: float | None) -> Any:
    _check_choice("optimizer", name, ("adam", "sgd", "adagrad"))
    if name == "sgd":
        return keras.optimizers.SGD(learning_rate=learning_rate, momentum=momentum, clipnorm=clipnorm)
    cls = keras.optimizers.Adam if name == "adam" else keras.optimizers.Adagrad
    return cls(learning_rate=learning_rate, clipnorm=clipnorm)


def _epoch_logger(keras: ModuleType, label: str, epochs: int) -> Any:
    class EpochLogger(keras.callbacks.Callback):
        def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
            losses = " ".join(f"{k}={v:.4f}" for k, v in (logs or {}).items() if k.endswith("loss"))
            LOGGER.info("%s epoch %d/%d %s", label, epoch + 1, epochs, losses)

    return EpochLogger()


def _dense_stack(keras: ModuleType, x: Any, units: Sequence[int], *, activation: str, dropout: float,
                 batch_norm: bool, initializer: str) -> Any:
    """Dense -> [BatchNorm] -> activation -> [Dropout], once per entry of `units`."""
    _check_choice("activation", activation, ("relu", "tanh"))
    _check_choice("initializer", initializer, ("glorot_uniform", "he_normal"))
    for n in units:
        x = keras.layers.Dense(int(n), kernel_initializer=initializer)(x)
        if batch_norm:
            x = keras.layers.BatchNormalization()(x)
        x = keras.layers.Activation(activation)(x)
        if dropout:
            x = keras.layers.Dropout(dropout)(x)
    return x


def _predict(model: Any, x: np.ndarray) -> np.ndarray:
    """Inference in batches, calling the model directly (no per-model predict function to trace)."""
    ops = _keras().ops
    batches = range(0, max(len(x), 1), _PREDICT_BATCH)
    return np.concatenate([ops.convert_to_numpy(model(x[i: i + _PREDICT_BATCH], training=False)) for i in batches])


def validation_score(model: Any, x: np.ndarray, y: np.ndarray, loss: str) -> dict[str, float]:
    """{"accuracy": ...} for a softmax classifier, {"mse": ...} (standardised target) for a regressor."""
    out = _predict(model, x)
    if loss == "sparse_categorical_crossentropy":
        return {"accuracy": float(np.mean(out.argmax(axis=1) == y))}
    return {"mse": float(np.mean((out[:, 0] - y) ** 2))}


def _copy_convolutions(keras: ModuleType, source: Any, target: Any) -> None:
    """Copy the weights of each Conv2D layer of `source` into the matching Conv2D layer of `target`."""
    def convolutions(model: Any) -> list[Any]:
        return [layer for layer in model.layers if isinstance(layer, keras.layers.Conv2D)]

    for src, dst in zip(convolutions(source), convolutions(target), strict=True):
        dst.set_weights(src.get_weights())


def _target(estimator: BaseEstimator, x: np.ndarray, y: Any) -> np.ndarray:
    if y is None:
        raise ValueError(f"{type(estimator).__name__} requires y to be passed, but the target y is None")
    y = column_or_1d(y, warn=True)
    check_consistent_length(x, y)
    return y


def _dump_network(model: Any) -> dict[str, Any]:
    return {"config": model.to_json(), "weights": model.get_weights()}


def _load_network(state: dict[str, Any]) -> Any:
    model = _keras().models.model_from_json(state["config"])
    model.set_weights(state["weights"])
    return model


class _KerasBase(BaseEstimator):
    """Pickling of the fitted Keras networks named in `_networks` (config + weights, no optimizer state)."""

    _networks: tuple[str, ...] = ("model_",)

    def __getstate__(self) -> dict[str, Any]:
        state = super().__getstate__()
        return {k: _dump_network(v) if k in self._networks else v for k, v in state.items()}

    def __setstate__(self, state: dict[str, Any]) -> None:
        super().__setstate__({k: _load_network(v) if k in self._networks else v for k, v in state.items()})


class _SupervisedNetwork(_KerasBase):
    """The shared training loop. Subclasses define `_encode` (rows -> network input) and `_body` (the layers)."""

    def _encode(self, X: Any, *, fit: bool) -> np.ndarray:
        raise NotImplementedError

    def _body(self, keras: ModuleType, inputs: Any) -> Any:
        raise NotImplementedError

    def _fit_network(self, x: np.ndarray, y: np.ndarray, *, outputs: int, activation: str, loss: str) -> None:
        """Seed, pick the device, hold out `validation_fraction` of the rows for early stopping, and fit; then prune
        when `prune_sparsity` > 0."""
        keras = _keras()
        self.device_used_ = resolve_device(self.device)
        order = np.random.default_rng(self.random_state).permutation(len(x))
        n_valid = int(round(len(x) * self.validation_fraction))
        fit_rows, valid_rows = order[n_valid:], order[:n_valid]
        validation = (x[valid_rows], y[valid_rows]) if n_valid else None
        with (seeded(keras, self.random_state, self.device_used_),
              keras.device("gpu:0" if self.device_used_ == "cuda" else "cpu:0")):
            inputs, features = self._network(keras, x)
            self._prepare(keras, inputs, features, x[fit_rows], y[fit_rows], validation, loss)
            model = self._compile(keras, inputs, features, outputs, activation, loss)
            self.history_ = self._train(keras, model, x[fit_rows], y[fit_rows], validation, self.epochs)
            if self.prune_sparsity:
                self.pruning_ = self._prune(keras, model, x[fit_rows], y[fit_rows], validation, loss)
        self.model_ = model

    def _network(self, keras: ModuleType, x: np.ndarray) -> tuple[Any, Any]:
        """A fresh input and body (everything but the output layer)."""
        inputs = keras.Input(shape=x.shape[1:], dtype=str(x.dtype))
        return inputs, self._body(keras, inputs)

    def _prepare(self, keras: ModuleType, inputs: Any, features: Any, x: np.ndarray, y: np.ndarray,
                 validation: tuple[np.ndarray, np.ndarray] | None, loss: str) -> None:
        """Work on the body before the real fit (the CNN pre-trains it here); nothing by default."""

    def _compile(self, keras: ModuleType, inputs: Any, features: Any, outputs: int, activation: str,
                 loss: str) -> Any:
        model = keras.Model(inputs, keras.layers.Dense(outputs, activation=activation)(features))
        model.compile(optimizer=_optimizer(keras, self.optimizer, self.learning_rate, self.momentum, self.clipnorm),
                      loss=loss)
        return model

    def _train(self, keras: ModuleType, model: Any, x: np.ndarray, y: np.ndarray,
               validation: tuple[np.ndarray, np.ndarray] | None, epochs: int,
               callbacks: Sequence[Any] = ()) -> dict[str, list[float]]:
        callbacks = [*callbacks, *([_epoch_logger(keras, type(self).__name__, epochs)] if self.verbose else [])]
        if validation is not None and self.patience:
            callbacks.append(keras.callbacks.EarlyStopping(patience=self.patience, restore_best_weights=True))
        history = model.fit(x, y, validation_data=validation, epochs=epochs, batch_size=self.batch_size,
                            callbacks=callbacks, verbose=0)
        return {k: [float(v) for v in values] for k, values in history.history.items()}

    def _prune(self, keras: ModuleType, model: Any, x: np.ndarray, y: np.ndarray,
               validation: tuple[np.ndarray, np.ndarray] | None, loss: str) -> dict[str, Any]:
        """Zero the `prune_sparsity` smallest-magnitude weights of each Dense/Conv2D kernel, fine-tune
        `prune_epochs` epochs with the zeros kept, and record counts and the validation score at each step."""
        x_eval, y_eval = validation if validation is not None else (x, y)
        kernels = prunable_kernels(keras, model)
        before, score_before = weight_counts(model, kernels), validation_score(model, x_eval, y_eval, loss)
        masks = [magnitude_mask(keras.ops.convert_to_numpy(k), self.prune_sparsity) for k in kernels]
        apply_masks(kernels, masks)
        score_pruned = validation_score(model, x_eval, y_eval, loss)
        if self.prune_epochs:
            self._train(keras, model, x, y, validation, self.prune_epochs, [mask_keeper(keras, kernels, masks)])
        after, score_after = weight_counts(model, kernels), validation_score(model, x_eval, y_eval, loss)
        metric = next(iter(score_before))
        return {"sparsity": self.prune_sparsity, "scope": "per layer (Dense and Conv2D kernels)",
                "fine_tune_epochs": self.prune_epochs, "evaluated_rows": len(x_eval),
                **{f"{k}_before": v for k, v in before.items()}, **{f"{k}_after": v for k, v in after.items()},
                f"{metric}_before": score_before[metric], f"{metric}_pruned": score_pruned[metric],
                f"{metric}_after": score_after[metric]}

    def _raw_predict(self, X: Any) -> np.ndarray:
        check_is_fitted(self)
        return _predict(self.model_, self._encode(X, fit=False))


class _Classifier(ClassifierMixin):
    """Softmax output over `classes_`, trained with sparse categorical cross-entropy."""

    def fit(self, X: Any, y: Any) -> _Classifier:
        x = self._encode(X, fit=True)
        y = _target(self, x, y)
        check_classification_targets(y)
        self.classes_, codes = np.unique(y, return_inverse=True)
        self._fit_network(x, codes.astype(np.int32), outputs=len(self.classes_), activation="softmax",
                          loss="sparse_categorical_crossentropy")
        return self

    def predict_proba(self, X: Any) -> np.ndarray:
        proba = self._raw_predict(X).astype(np.float64)
        return proba / proba.sum(axis=1, keepdims=True)

    def predict(self, X: Any) -> np.ndarray:
        proba = self.predict_proba(X)
        return self.classes_[proba.argmax(axis=1)]


class _Regressor(RegressorMixin):
    """One linear output trained with mean squared error on the standardised target."""

    def fit(self, X: Any, y: Any) -> _Regressor:
        x = self._encode(X, fit=True)
        target = check_array(_target(self, x, y), ensure_2d=False, dtype=np.float64)
        self.y_mean_, self.y_scale_ = float(target.mean()), float(target.std()) or 1.0
        self._fit_network(x, ((target - self.y_mean_) / self.y_scale_).astype(np.float32), outputs=1,
                          activation="linear", loss="mean_squared_error")
        return self

    def predict(self, X: Any) -> np.ndarray:
        return self._raw_predict(X)[:, 0].astype(np.float64) * self.y_scale_ + self.y_mean_


class _Dense(_SupervisedNetwork):
    """A multilayer perceptron on numeric (already encoded and scaled) features."""

    def __init__(self, hidden_layers: Sequence[int] = (64, 32), activation: str = "relu", dropout: float = 0.1,
                 batch_norm: bool = False, initializer: str = "glorot_uniform", optimizer: str = "adam",
                 learning_rate: float = 1e-3, momentum: float = 0.9, clipnorm: float | None = None,
                 epochs: int = 20, batch_size: int = 256, patience: int = 3, validation_fraction: float = 0.1,
                 random_state: int = 0, device: str = "cpu", verbose: bool = True,
                 prune_sparsity: float = 0.0, prune_epochs: int = 2):
        self.hidden_layers = hidden_layers
        self.activation = activation
        self.dropout = dropout
        self.batch_norm = batch_norm
        self.initializer = initializer
        self.optimizer = optimizer
        self.learning_rate = learning_rate
        self.momentum = momentum
        self.clipnorm = clipnorm
        self.epochs = epochs
        self.batch_size = batch_size
        self.patience = patience
        self.validation_fraction = validation_fraction
        self.random_state = random_state
        self.device = device
        self.verbose = verbose
        self.prune_sparsity = prune_sparsity
        self.prune_epochs = prune_epochs

    def _encode(self, X: Any, *, fit: bool) -> np.ndarray:
        return validate_data(self, X, dtype=np.float32, reset=fit)

    def _body(self, keras: ModuleType, inputs: Any) -> Any:
        return _dense_stack(keras, inputs, self.hidden_layers, activation=self.activation, dropout=self.dropout,
                            batch_norm=self.batch_norm, initializer=self.initializer)


class DenseClassifier(_Classifier, _Dense):
    """Dense network classifier (binary or multiclass)."""


class DenseRegressor(_Regressor, _Dense):
    """Dense network regressor."""


def _pixels(estimator: BaseEstimator, X: Any, image_shape: Sequence[int], *, fit: bool) -> np.ndarray:
    """Pixel rows -> float32 images in [0, 1] of `image_shape`, scaled by the training maximum `pixel_max_`."""
    x = validate_data(estimator, X, dtype=np.float32, reset=fit, ensure_all_finite="allow-nan")
    shape = tuple(int(d) for d in image_shape)
    if x.shape[1] != math.prod(shape):
        raise ValueError(f"image_shape={shape} needs {math.prod(shape)} pixel columns, got {x.shape[1]}")
    if fit:
        estimator.pixel_max_ = float(np.nanmax(x)) or 1.0
    return np.nan_to_num(x / estimator.pixel_max_).reshape(-1, *shape)


class CNNClassifier(_Classifier, _SupervisedNetwork):
    """Convolutional image classifier on row-major pixel columns (e.g. 784 for 28x28 grayscale).

    One block per entry of `filters`: Conv2D(kernel_size, strides, padding) -> [BatchNorm] -> activation ->
    MaxPool(pool_size, skipped when 0); then flatten, a dense head (`dense_layers`) with dropout, softmax.
    `augment` > 0 shifts training images at random by up to that fraction of their height and width.

    `pretrain` (a `tasks.ml.keras_pretrain.SOURCES` name) first trains a copy of the network for `pretrain_epochs` on
    that packaged image set, resized to `image_shape`; the model's Conv2D layers start from its weights and the whole
    network is then fine-tuned. With `transfer_fraction` > 0 it also measures what pre-training buys with few
    labels: the same network trained on that share of the training rows from scratch and from the pre-trained
    convolutions, both scored on the validation rows (`transfer_`). `prune_sparsity` (every supervised network
    here) magnitude-prunes after the fit (`pruning_`).
    """

    def __init__(self, image_shape: Sequence[int] = (28, 28, 1), filters: Sequence[int] = (32, 64),
                 kernel_size: int = 3, strides: int = 1, padding: str = "same", pool_size: int = 2,
                 dense_layers: Sequence[int] = (128,), activation: str = "relu", dropout: float = 0.3,
                 batch_norm: bool = False, augment: float = 0.1, initializer: str = "he_normal",
                 optimizer: str = "adam", learning_rate: float = 1e-3, momentum: float = 0.9,
                 clipnorm: float | None = None, epochs: int = 20, batch_size: int = 64, patience: int = 4,
                 validation_fraction: float = 0.1, random_state: int = 0, device: str = "cpu", verbose: bool = True,
                 prune_sparsity: float = 0.0, prune_epochs: int = 2, pretrain: str | None = None,
                 pretrain_epochs: int = 5, transfer_fraction: float = 0.1):
        self.image_shape = image_shape
        self.filters = filters
        self.kernel_size = kernel_size
        self.strides = strides
        self.padding = padding
        self.pool_size = pool_size
        self.dense_layers = dense_layers
        self.activation = activation
        self.dropout = dropout
        self.batch_norm = batch_norm
        self.augment = augment
        self.initializer = initializer
        self.optimizer = optimizer
        self.learning_rate = learning_rate
        self.momentum = momentum
        self.clipnorm = clipnorm
        self.epochs = epochs
        self.batch_size = batch_size
        self.patience = patience
        self.validation_fraction = validation_fraction
        self.random_state = random_state
        self.device = device
        self.verbose = verbose
        self.prune_sparsity = prune_sparsity
        self.prune_epochs = prune_epochs
        self.pretrain = pretrain
        self.pretrain_epochs = pretrain_epochs
        self.transfer_fraction = transfer_fraction

    def _encode(self, X: Any, *, fit: bool) -> np.ndarray:
        return _pixels(self, X, self.image_shape, fit=fit)

    def _prepare(self, keras: ModuleType, inputs: Any, features: Any, x: np.ndarray, y: np.ndarray,
                 validation: tuple[np.ndarray, np.ndarray] | None, loss: str) -> None:
        """Pre-train a copy of the network on the source images and start this one's convolutions from it."""
        if self.pretrain is None:
            return
        source_x, source_y = source_images(self.pretrain, self.image_shape)
        source = self._compile(keras, *self._network(keras, x), int(source_y.max()) + 1, "softmax", loss)
        source_history = self._train(keras, source, source_x, source_y, None, self.pretrain_epochs)
        _copy_convolutions(keras, source, keras.Model(inputs, features))
        self.transfer_ = {"source": self.pretrain, "source_images": len(source_x),
                          "pretrain_epochs": self.pretrain_epochs, "transferred": "Conv2D layers",
                          "source_training_loss": round(source_history["loss"][-1], 6)}
        if not self.transfer_fraction or validation is None:
            return
        n = max(1, int(round(self.transfer_fraction * len(x))))
        outputs = int(max(y.max(), validation[1].max())) + 1
        scores = {}
        for start in ("scratch", "pretrained"):
            fresh_inputs, fresh_features = self._network(keras, x)
            if start == "pretrained":
                _copy_convolutions(keras, source, keras.Model(fresh_inputs, fresh_features))
            model = self._compile(keras, fresh_inputs, fresh_features, outputs, "softmax", loss)
            self._train(keras, model, x[:n], y[:n], validation, self.epochs)
            scores[start] = validation_score(model, *validation, loss)["accuracy"]
        self.transfer_ |= {"label_fraction": self.transfer_fraction, "labelled_rows": n,
                           "validation_rows": len(validation[0]), "accuracy_scratch": scores["scratch"],
                           "accuracy_pretrained": scores["pretrained"],
                           "gain": scores["pretrained"] - scores["scratch"]}

    def _body(self, keras: ModuleType, inputs: Any) -> Any:
        _check_choice("padding", self.padding, ("same", "valid"))
        x = inputs
        if self.augment:
            x = keras.layers.RandomTranslation(self.augment, self.augment, fill_mode="constant",
                                               seed=self.random_state)(x)
        for n in self.filters:
            x = keras.layers.Conv2D(int(n), self.kernel_size, strides=self.strides, padding=self.padding,
                                    kernel_initializer=self.initializer)(x)
            if self.batch_norm:
                x = keras.layers.BatchNormalization()(x)
            x = keras.layers.Activation(self.activation)(x)
            if self.pool_size:
                x = keras.layers.MaxPooling2D(self.pool_size)(x)
        x = keras.layers.Flatten()(x)
        if self.dropout:
            x = keras.layers.Dropout(self.dropout)(x)
        return _dense_stack(keras, x, self.dense_layers, activation=self.activation, dropout=self.dropout,
                            batch_norm=self.batch_norm, initializer=self.initializer)


def _texts(X: Any) -> list[str]:
    """One lowercase string per row; several text columns are joined, missing values count as empty."""
    rows = np.asarray(X, dtype=object)
    if rows.ndim == 1:
        rows = rows[:, None]
    return [" ".join(v for v in row if isinstance(v, str)).lower() for row in rows]


class TextSequencer(TransformerMixin, BaseEstimator):
    """Texts -> fixed-length integer sequences, in plain Python (picklable, no TextVectorization layer).

    Tokens are lowercase runs of letters, digits and apostrophes; the vocabulary is the `max_tokens` most frequent
    training tokens (ties alphabetical), numbered from 2: 0 pads, 1 is out-of-vocabulary. Sequences keep the first
    `sequence_length` tokens and are padded at the end.
    """

    def __init__(self, max_tokens: int = 20000, sequence_length: int = 50):
        self.max_tokens = max_tokens
        self.sequence_length = sequence_length

    def fit(self, X: Any, y: Any = None) -> TextSequencer:
        counts = Counter(token for text in _texts(X) for token in _TOKEN.findall(text))
        ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))[: self.max_tokens]
        self.vocabulary_ = {token: i + 2 for i, (token, _) in enumerate(ranked)}
        return self

    def transform(self, X: Any) -> np.ndarray:
        check_is_fitted(self)
        texts = _texts(X)
        out = np.zeros((len(texts), self.sequence_length), dtype=np.int32)
        for i, text in enumerate(texts):
            ids = [self.vocabulary_.get(token, 1) for token in _TOKEN.findall(text)][: self.sequence_length]
            out[i, : len(ids)] = ids
        return out


class TextRNNClassifier(_Classifier, _SupervisedNetwork):
    """Text classifier: TextSequencer -> Embedding (padding masked) -> [Bidirectional] LSTM or GRU -> dense head.

    Takes raw text: a 1-D array, or a 2-D array / frame of text columns (joined with spaces).
    """

    def __init__(self, cell: str = "lstm", max_tokens: int = 20000, sequence_length: int = 50,
                 embedding_dim: int = 64, units: int = 64, bidirectional: bool = False,
                 dense_layers: Sequence[int] = (), activation: str = "relu", dropout: float = 0.2,
                 initializer: str = "glorot_uniform", optimizer: str = "adam", learning_rate: float = 1e-3,
                 momentum: float = 0.9, clipnorm: float | None = 1.0, epochs: int = 5, batch_size: int = 64,
                 patience: int = 2, validation_fraction: float = 0.1, random_state: int = 0, device: str = "cpu",
                 verbose: bool = True, prune_sparsity: float = 0.0, prune_epochs: int = 2):
        self.cell = cell
        self.max_tokens = max_tokens
        self.sequence_length = sequence_length
        self.embedding_dim = embedding_dim
        self.units = units
        self.bidirectional = bidirectional
        self.dense_layers = dense_layers
        self.activation = activation
        self.dropout = dropout
        self.initializer = initializer
        self.optimizer = optimizer
        self.learning_rate = learning_rate
        self.momentum = momentum
        self.clipnorm = clipnorm
        self.epochs = epochs
        self.batch_size = batch_size
        self.patience = patience
        self.validation_fraction = validation_fraction
        self.random_state = random_state
        self.device = device
        self.verbose = verbose
        self.prune_sparsity = prune_sparsity
        self.prune_epochs = prune_epochs

    def _encode(self, X: Any, *, fit: bool) -> np.ndarray:
        if fit:
            self.sequencer_ = TextSequencer(self.max_tokens, self.sequence_length).fit(X)
        return self.sequencer_.transform(X)

    def _body(self, keras: ModuleType, inputs: Any) -> Any:
        _check_choice("cell", self.cell, ("lstm", "gru"))
        x = keras.layers.Embedding(len(self.sequencer_.vocabulary_) + 2, self.embedding_dim, mask_zero=True)(inputs)
        layer = (keras.layers.LSTM if self.cell == "lstm" else keras.layers.GRU)(
            self.units, kernel_initializer=self.initializer)
        x = (keras.layers.Bidirectional(layer) if self.bidirectional else layer)(x)
        if self.dropout:
            x = keras.layers.Dropout(self.dropout)(x)
        return _dense_stack(keras, x, self.dense_layers, activation=self.activation, dropout=self.dropout,
                            batch_norm=False, initializer=self.initializer)


class DigitGAN(_KerasBase):
    """A small GAN for grayscale digit images given as pixel rows; not a predictor.

    `fit(X)` learns to generate rows like X (any `y` is ignored); `sample(n)` draws n new rows in the training pixel
    scale. `architecture="dense"` uses multilayer perceptrons with `generator_layers` / `discriminator_layers` units;
    `"dcgan"` reads them as filter counts: the generator starts from a (H/2^k, W/2^k) map, k = len(generator_layers),
    and doubles it with each transposed convolution; the discriminator halves it with strided convolutions.
    Trained with Adam (beta_1=0.5) and one-sided label smoothing. Needs the TensorFlow backend.
    """

    _networks = ("generator_", "discriminator_")

    def __init__(self, architecture: str = "dense", latent_dim: int = 64,
                 generator_layers: Sequence[int] = (256, 512), discriminator_layers: Sequence[int] = (512, 256),
                 image_shape: Sequence[int] = (28, 28, 1), epochs: int = 30, batch_size: int = 64,
                 learning_rate: float = 2e-4, random_state: int = 0, device: str = "cpu", verbose: bool = True):
        self.architecture = architecture
        self.latent_dim = latent_dim
        self.generator_layers = generator_layers
        self.discriminator_layers = discriminator_layers
        self.image_shape = image_shape
        self.epochs = epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.random_state = random_state
        self.device = device
        self.verbose = verbose

    def _networks_for(self, keras: ModuleType) -> tuple[Any, Any]:
        _check_choice("architecture", self.architecture, ("dense", "dcgan"))
        layers, shape = keras.layers, tuple(int(d) for d in self.image_shape)
        pixels = math.prod(shape)
        z = keras.Input(shape=(self.latent_dim,))
        image = keras.Input(shape=(pixels,))
        if self.architecture == "dense":
            g = z
            for n in self.generator_layers:
                g = layers.LeakyReLU(0.2)(layers.BatchNormalization()(layers.Dense(int(n))(g)))
            g = layers.Dense(pixels, activation="tanh")(g)
            d = image
            for n in self.discriminator_layers:
                d = layers.Dropout(0.3)(layers.LeakyReLU(0.2)(layers.Dense(int(n))(d)))
        else:
            scale = 2 ** len(self.generator_layers)
            if shape[0] % scale or shape[1] % scale:
                raise ValueError(f"dcgan: image_shape {shape} must be divisible by 2**len(generator_layers)={scale}")
            base = (shape[0] // scale, shape[1] // scale)
            g = layers.Dense(base[0] * base[1] * int(self.generator_layers[0]))(z)
            g = layers.Reshape((*base, int(self.generator_layers[0])))(layers.LeakyReLU(0.2)(g))
            for n in self.generator_layers[1:]:
                g = layers.Conv2DTranspose(int(n), 4, strides=2, padding="same")(g)
                g = layers.LeakyReLU(0.2)(layers.BatchNormalization()(g))
            g = layers.Conv2DTranspose(shape[2], 4, strides=2, padding="same", activation="tanh")(g)
            g = layers.Flatten()(g)
            d = layers.Reshape(shape)(image)
            for n in self.discriminator_layers:
                d = layers.Conv2D(int(n), 4, strides=2, padding="same")(d)
                d = layers.Dropout(0.3)(layers.LeakyReLU(0.2)(d))
            d = layers.Flatten()(d)
        d = layers.Dense(1)(d)
        return keras.Model(z, g, name="generator"), keras.Model(image, d, name="discriminator")

    def fit(self, X: Any, y: Any = None) -> DigitGAN:
        keras = _keras()
        if keras.backend.backend() != "tensorflow":
            raise RuntimeError(f"DigitGAN needs the TensorFlow Keras backend, not {keras.backend.backend()!r}")
        import tensorflow as tf

        images = _pixels(self, X, self.image_shape, fit=True)
        x = images.reshape(len(images), -1) * 2.0 - 1.0
        self.device_used_ = resolve_device(self.device)
        rng = np.random.default_rng(self.random_state)
        with (seeded(keras, self.random_state, self.device_used_),
              keras.device("gpu:0" if self.device_used_ == "cuda" else "cpu:0")):
            generator, discriminator = self._networks_for(keras)
            g_opt = keras.optimizers.Adam(self.learning_rate, beta_1=0.5)
            d_opt = keras.optimizers.Adam(self.learning_rate, beta_1=0.5)
            g_opt.build(generator.trainable_variables)
            d_opt.build(discriminator.trainable_variables)
            bce = keras.losses.BinaryCrossentropy(from_logits=True)

            @tf.function
            def step(real: Any) -> tuple[Any, Any]:
                noise = tf.random.normal((tf.shape(real)[0], self.latent_dim))
                with tf.GradientTape() as g_tape, tf.GradientTape() as d_tape:
                    fake = generator(noise, training=True)
                    real_logits = discriminator(real, training=True)
                    fake_logits = discriminator(fake, training=True)
                    d_loss = (bce(tf.fill(tf.shape(real_logits), 0.9), real_logits)
                              + bce(tf.zeros_like(fake_logits), fake_logits))
                    g_loss = bce(tf.ones_like(fake_logits), fake_logits)
                d_opt.apply(d_tape.gradient(d_loss, discriminator.trainable_variables),
                            discriminator.trainable_variables)
                g_opt.apply(g_tape.gradient(g_loss, generator.trainable_variables), generator.trainable_variables)
                return d_loss, g_loss

            self.history_ = {"d_loss": [], "g_loss": []}
            for epoch in range(self.epochs):
                order = rng.permutation(len(x))
                losses = [step(tf.constant(x[order[i: i + self.batch_size]]))
                          for i in range(0, len(x), self.batch_size)]
                d_loss, g_loss = (float(np.mean([float(loss[k]) for loss in losses])) for k in (0, 1))
                self.history_["d_loss"].append(d_loss)
                self.history_["g_loss"].append(g_loss)
                if self.verbose:
                    LOGGER.info("DigitGAN epoch %d/%d d_loss=%.4f g_loss=%.4f", epoch + 1, self.epochs, d_loss, g_loss)
        self.generator_, self.discriminator_ = generator, discriminator
        return self

    def sample(self, n: int, random_state: int | None = None) -> np.ndarray:
        """`n` generated pixel rows, shape (n, pixels), in the training pixel scale [0, pixel_max_]."""
        check_is_fitted(self)
        noise = np.random.default_rng(random_state).standard_normal((n, self.latent_dim)).astype(np.float32)
        images = _predict(self.generator_, noise)
        return (np.clip(images, -1.0, 1.0) + 1.0) / 2.0 * self.pixel_max_


def mode_collapse(gan: DigitGAN, classifier: Any, n_samples: int = 1000, random_state: int = 0,
                  min_share: float = 0.01) -> dict[str, Any]:
    """How evenly generated digits spread over the classes, as labelled by a classifier fitted on real digits.

    `normalised_entropy` is the entropy of the predicted-class distribution over log(number of classes): near 1
    every digit is generated about equally often; near 0 the generator has collapsed onto a few modes.
    `distinct_classes` counts classes predicted for at least `min_share` of the samples.
    """
    labels = classifier.predict(gan.sample(n_samples, random_state=random_state))
    counts = Counter(labels.tolist())
    shares = np.array(list(counts.values()), dtype=np.float64) / n_samples
    entropy = float(-(shares * np.log(shares)).sum())
    n_classes = len(classifier.classes_)
    return {
        "samples": n_samples,
        "class_counts": {str(k): int(v) for k, v in sorted(counts.items(), key=lambda kv: str(kv[0]))},
        "entropy": round(entropy, 6),
        "normalised_entropy": round(entropy / math.log(n_classes), 6),
        "distinct_classes": int((shares >= min_share).sum()),
        "classes": n_classes,
    }


def sample_grid(samples: np.ndarray, image_shape: Sequence[int], columns: int = 10) -> Any:
    """A matplotlib Figure of generated images in a grid (save it as PNG or SVG with `savefig`)."""
    from matplotlib.figure import Figure

    rows = math.ceil(len(samples) / columns)
    figure = Figure(figsize=(columns * 0.8, rows * 0.8))
    axes = figure.subplots(rows, columns, squeeze=False)
    height, width = int(image_shape[0]), int(image_shape[1])
    for i, ax in enumerate(axes.ravel()):
        ax.set_axis_off()
        if i < len(samples):
            ax.imshow(np.asarray(samples[i]).reshape(height, width), cmap="gray_r")
    figure.subplots_adjust(wspace=0.05, hspace=0.05, left=0, right=1, top=1, bottom=0)
    return figure
