"""A weighted ensemble of a problem's fitted models: greedy ensemble selection with replacement (Caruana et al.,
"Ensemble selection from libraries of models", ICML 2004) on the validation split.

Starting from the best single member, each round adds (again, possibly) the member whose inclusion gives the best
ranking metric of the averaged output: class probabilities for classifiers, predictions for regression. The weights
are how often each member was picked in the best prefix of rounds, so on the rows it is fitted on the ensemble is
never worse than its best member. The members are fitted before (the train flow's second wave) and not refitted.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_is_fitted

from tasks.core.artefacts import LOWER_IS_BETTER
from tasks.core.io import load_pickle
from tasks.ml.metrics import encode, metric_inputs, predict_proba_aligned


class SavedModel:
    """A fitted member kept as the bytes of the file it was saved to; it predicts like the model in it, and pickles
    as those bytes unchanged.

    A scikit-learn tree that is unpickled and pickled again writes the padding bytes of its node records, which
    unpickling leaves uninitialised: the same forest file gave another pickle in every process, so an ensemble that
    held its loaded members was another file on every fit, with the same weights and scores."""

    def __init__(self, blob: bytes) -> None:
        self.blob = blob
        self._model: Any = None

    @classmethod
    def load(cls, path: str | Path) -> SavedModel:
        """The model saved at `path` (read now: a damaged file fails here, naming it)."""
        saved = cls(Path(path).read_bytes())
        saved._model = load_pickle(path)
        return saved

    @property
    def model(self) -> Any:
        if self._model is None:
            import joblib

            self._model = joblib.load(io.BytesIO(self.blob))
        return self._model

    def __getattr__(self, name: str) -> Any:  # predict, predict_proba, classes_, ... of the model
        if name.startswith("__") or name in ("blob", "_model"):
            raise AttributeError(name)
        return getattr(self.model, name)

    def __getstate__(self) -> dict[str, bytes]:
        return {"blob": self.blob}

    def __setstate__(self, state: dict[str, bytes]) -> None:
        self.blob, self._model = state["blob"], None


class GreedyEnsemble(BaseEstimator):
    """Weighted average of fitted `estimators` ((member name, estimator) pairs), weights chosen by greedy selection with
    replacement over `rounds` rounds, maximising (or minimising) `metric` of `problem_type` on the rows `fit` gets."""

    def __init__(self, estimators: Sequence[tuple[str, Any]] = (), rounds: int = 25, metric: str = "roc_auc",
                 problem_type: str = "binary") -> None:
        self.estimators = estimators
        self.rounds = rounds
        self.metric = metric
        self.problem_type = problem_type

    def _outputs(self, X: pd.DataFrame) -> np.ndarray:
        """(members, rows[, classes]): each member's probabilities in `classes_` order, or its predictions."""
        if self.problem_type == "regression":
            return np.stack([np.asarray(m.predict(X), dtype=float) for _, m in self.estimators])
        return np.stack([predict_proba_aligned(m, X, list(self.classes_)) for _, m in self.estimators])

    def _score(self, y: Any, output: np.ndarray) -> float:
        scored = encode(self.problem_type, list(getattr(self, "classes_", [])), y, output)
        fn, values = metric_inputs(scored, [self.metric])[self.metric]
        return float(fn(scored.y, values, np.arange(len(scored.y))[None, :])[0])

    def fit(self, X: pd.DataFrame, y: Any) -> GreedyEnsemble:
        if not self.estimators:
            raise ValueError("GreedyEnsemble needs at least one fitted member")
        if self.rounds < 1:
            raise ValueError(f"rounds must be >= 1, got {self.rounds}")
        if self.problem_type != "regression":
            self.classes_ = np.asarray(self.estimators[0][1].classes_)
        sign = 1.0 if self.metric in LOWER_IS_BETTER else -1.0  # minimise sign * metric
        outputs = self._outputs(X)
        self.member_scores_ = {name: self._score(y, output)
                               for (name, _), output in zip(self.estimators, outputs, strict=True)}
        counts = np.zeros(len(self.estimators), dtype=int)
        total = np.zeros_like(outputs[0])
        best_loss, best_counts, history = np.inf, counts.copy(), []
        for step in range(1, self.rounds + 1):
            losses = [sign * self._score(y, (total + out) / step) for out in outputs]
            pick = int(np.argmin(losses))  # ties: the earlier member
            counts[pick] += 1
            total = total + outputs[pick]
            history.append(sign * losses[pick])
            if losses[pick] < best_loss:
                best_loss, best_counts = losses[pick], counts.copy()
        self.weights_ = best_counts / best_counts.sum()
        self.history_ = history
        self.validation_score_ = sign * best_loss
        return self

    def weights(self) -> dict[str, float]:
        """Member name -> weight (members never picked left out)."""
        check_is_fitted(self, "weights_")
        return {name: float(w) for (name, _), w in zip(self.estimators, self.weights_, strict=True) if w > 0}

    def _combined(self, X: pd.DataFrame) -> np.ndarray:
        check_is_fitted(self, "weights_")
        used = [(m, w) for m, w in zip(self.estimators, self.weights_, strict=True) if w > 0]
        if self.problem_type == "regression":
            return sum(w * np.asarray(m.predict(X), dtype=float) for (_, m), w in used)
        return sum(w * predict_proba_aligned(m, X, list(self.classes_)) for (_, m), w in used)

    @available_if(lambda self: self.problem_type != "regression")
    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        return self._combined(X)

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        combined = self._combined(X)
        return combined if self.problem_type == "regression" else self.classes_[combined.argmax(axis=1)]

    def summary(self) -> dict[str, Any]:
        """Weights, each member's validation score and the ensemble's, for the model's page."""
        check_is_fitted(self, "weights_")
        return {"metric": self.metric, "weights": self.weights(), "member_scores": self.member_scores_,
                "ensemble_score": self.validation_score_, "history": self.history_}
