"""Custom scikit-learn-compatible estimators used by the model families.

Each follows the estimator contract: `__init__` stores hyperparameters verbatim, `fit` returns `self`, learned
attributes end in `_`, and every class is `clone`-able (checked with `parametrize_with_checks` in the unit tests).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, MetaEstimatorMixin, RegressorMixin, clone, is_classifier
from sklearn.ensemble import (
    GradientBoostingClassifier,
    GradientBoostingRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)
from sklearn.preprocessing import LabelEncoder
from sklearn.utils import check_random_state, get_tags, indexable, resample
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

LOG = logging.getLogger("mlplatform.train")


def progress_period(total: int) -> int:
    """Log every tenth of a long loop (at least every step)."""
    return max(1, total // 10)


def _inner_has(method: str):
    return lambda self: hasattr(self.estimator, method)


def _delegated_tags(tags, inner):
    """Copy the wrapped estimator's type and input tags onto a meta-estimator's tags."""
    inner_tags = get_tags(inner)
    tags.estimator_type = inner_tags.estimator_type
    tags.classifier_tags = inner_tags.classifier_tags
    tags.regressor_tags = inner_tags.regressor_tags
    tags.input_tags.sparse = inner_tags.input_tags.sparse
    tags.input_tags.allow_nan = inner_tags.input_tags.allow_nan
    return tags


class LabelEncodedClassifier(ClassifierMixin, MetaEstimatorMixin, BaseEstimator):
    """Fit a classifier on labels encoded as 0..K-1 (XGBoost requires it) and decode its predictions."""

    def __init__(self, estimator: BaseEstimator):
        self.estimator = estimator

    def fit(self, X, y) -> LabelEncodedClassifier:
        check_classification_targets(y)
        self.encoder_ = LabelEncoder().fit(y)
        self.classes_ = self.encoder_.classes_
        self.estimator_ = clone(self.estimator).fit(X, self.encoder_.transform(y))
        return self

    @property
    def n_features_in_(self) -> int:
        return self.estimator_.n_features_in_

    def predict(self, X) -> np.ndarray:
        check_is_fitted(self)
        return self.encoder_.inverse_transform(np.asarray(self.estimator_.predict(X)).astype(int))

    @available_if(_inner_has("predict_proba"))
    def predict_proba(self, X) -> np.ndarray:
        check_is_fitted(self)
        return self.estimator_.predict_proba(X)

    def __sklearn_tags__(self):
        tags = _delegated_tags(super().__sklearn_tags__(), self.estimator)
        tags.estimator_type = "classifier"
        return tags


class Subsample(MetaEstimatorMixin, BaseEstimator):
    """Fit `estimator` on at most `max_rows` training rows (stratified for classifiers).

    Bounds the training time of estimators that scale worse than linearly in the number of rows (kernel SVMs).
    `max_rows=None` uses every row.
    """

    def __init__(self, estimator: BaseEstimator, max_rows: int | None = None, random_state: int | None = None):
        self.estimator = estimator
        self.max_rows = max_rows
        self.random_state = random_state

    def fit(self, X, y) -> Subsample:
        X, y = indexable(X, y)
        if self.max_rows is not None and len(y) > self.max_rows:
            LOG.info("%s: fitting on a sample of %d of the %d training rows", type(self.estimator).__name__,
                     self.max_rows, len(y))
            stratify = y if is_classifier(self.estimator) else None
            X, y = resample(X, y, replace=False, n_samples=self.max_rows, stratify=stratify,
                            random_state=self.random_state)
        self.estimator_ = clone(self.estimator).fit(X, y)
        self.n_train_rows_ = len(y)
        if hasattr(self.estimator_, "classes_"):
            self.classes_ = self.estimator_.classes_
        return self

    @property
    def n_features_in_(self) -> int:
        return self.estimator_.n_features_in_

    def predict(self, X) -> np.ndarray:
        check_is_fitted(self)
        return self.estimator_.predict(X)

    @available_if(_inner_has("predict_proba"))
    def predict_proba(self, X) -> np.ndarray:
        check_is_fitted(self)
        return self.estimator_.predict_proba(X)

    @available_if(_inner_has("decision_function"))
    def decision_function(self, X) -> np.ndarray:
        check_is_fitted(self)
        return self.estimator_.decision_function(X)

    @available_if(_inner_has("score"))
    def score(self, X, y) -> float:
        check_is_fitted(self)
        return self.estimator_.score(X, y)

    def __sklearn_tags__(self):
        return _delegated_tags(super().__sklearn_tags__(), self.estimator)


def independent_columns(design: np.ndarray, tol: float = 1e-7) -> np.ndarray:
    """Mask of columns not linearly dependent on the columns before them (as R's `lm` aliases them).

    A column is dropped when its QR diagonal is below `tol` times its norm, so with an intercept first and
    one-hot blocks after it, the last level of each block is the one aliased.
    """
    norms = np.linalg.norm(design, axis=0)
    diagonal = np.abs(np.diag(np.linalg.qr(design, mode="r")))
    return (norms > 0) & (diagonal > tol * np.maximum(norms, 1.0))


class StatsmodelsOLS(RegressorMixin, BaseEstimator):
    """Ordinary least squares fitted by statsmodels, keeping its inference as learned attributes.

    Columns linearly dependent on earlier ones (a full one-hot block next to the intercept) are aliased: their
    coefficient is 0 and their statistics NaN. Learned: `coef_`, `intercept_`, `bse_`, `pvalues_`, `conf_int_`
    (n_features x 2, at `confidence`), `aliased_`, `vif_`, `rsquared_`, `rsquared_adj_`, `fvalue_`,
    `f_pvalue_`, `nobs_`, `df_resid_`, `resid_` and `fitted_` (training rows).
    """

    def __init__(self, confidence: float = 0.95):
        self.confidence = confidence

    def fit(self, X, y) -> StatsmodelsOLS:
        import statsmodels.api as sm

        X, y = validate_data(self, X, y, y_numeric=True, ensure_min_samples=2, dtype=np.float64)
        design = np.column_stack([np.ones(len(X)), X])
        keep = independent_columns(design)
        keep[0] = True
        results = sm.OLS(y, design[:, keep]).fit()
        kept = keep[1:]
        params, bse, pvalues = (np.full(X.shape[1] + 1, np.nan) for _ in range(3))
        interval = np.full((X.shape[1] + 1, 2), np.nan)
        params[keep], bse[keep], pvalues[keep] = results.params, results.bse, results.pvalues
        interval[keep] = results.conf_int(alpha=1 - self.confidence)
        self.aliased_ = ~kept
        self.intercept_ = float(params[0])
        self.coef_ = np.where(kept, params[1:], 0.0)
        self.bse_, self.pvalues_, self.conf_int_ = bse[1:], pvalues[1:], interval[1:]
        self.intercept_stats_ = {"std_err": bse[0], "p_value": pvalues[0], "ci_low": interval[0, 0],
                                 "ci_high": interval[0, 1]}
        self.vif_ = np.full(X.shape[1], np.nan)
        if kept.sum() > 1:
            self.vif_[kept] = np.diag(np.linalg.pinv(np.corrcoef(X[:, kept], rowvar=False)))
        elif kept.sum() == 1:
            self.vif_[kept] = 1.0
        self.rsquared_, self.rsquared_adj_ = float(results.rsquared), float(results.rsquared_adj)
        self.fvalue_, self.f_pvalue_ = float(results.fvalue), float(results.f_pvalue)
        self.nobs_, self.df_resid_ = int(results.nobs), float(results.df_resid)
        self.resid_, self.fitted_ = np.asarray(results.resid), np.asarray(results.fittedvalues)
        LOG.info("OLS: %d rows, %d of %d columns estimable, R2=%.4f, adjusted R2=%.4f", self.nobs_, kept.sum(),
                 X.shape[1], self.rsquared_, self.rsquared_adj_)
        return self

    def predict(self, X) -> np.ndarray:
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=np.float64)
        return X @ self.coef_ + self.intercept_


class GradientDescentLogisticRegression(ClassifierMixin, BaseEstimator):
    """Logistic regression (sigmoid for two classes, softmax for more) trained by gradient descent.

    `batch_size=None` is batch gradient descent (one step per epoch over all rows), 1 is stochastic gradient
    descent, k is mini-batch. Each step moves the weights by `learning_rate` times the mean cross-entropy
    gradient plus `alpha` times the weights (L2). Training stops after `max_epochs`, or when the monitored loss
    (on a `validation_fraction` hold-out if `early_stopping`, else on the training rows) has gone
    `n_iter_no_change` epochs without beating, by `tol`, the last loss that did (so slow, steady progress
    continues); the best epoch's weights are kept. Accepts sparse input.
    """

    def __init__(self, batch_size: int | None = None, learning_rate: float = 0.1, max_epochs: int = 200,
                 alpha: float = 0.0, early_stopping: bool = True, validation_fraction: float = 0.1,
                 n_iter_no_change: int = 5, tol: float = 1e-4, random_state: int | None = None):
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.max_epochs = max_epochs
        self.alpha = alpha
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.random_state = random_state

    def _logits(self, X, weights: np.ndarray, bias: np.ndarray) -> np.ndarray:
        return np.asarray(X @ weights) + bias

    def _proba(self, logits: np.ndarray) -> np.ndarray:
        if logits.shape[1] == 1:
            return 1.0 / (1.0 + np.exp(-np.clip(logits, -500, 500)))
        shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
        return shifted / shifted.sum(axis=1, keepdims=True)

    def _loss(self, X, targets: np.ndarray, weights: np.ndarray, bias: np.ndarray) -> float:
        proba = np.clip(self._proba(self._logits(X, weights, bias)), 1e-15, 1 - 1e-15)
        if targets.shape[1] == 1:
            return float(-np.mean(targets * np.log(proba) + (1 - targets) * np.log(1 - proba)))
        return float(-np.mean(np.sum(targets * np.log(proba), axis=1)))

    def fit(self, X, y) -> GradientDescentLogisticRegression:
        X, y = validate_data(self, X, y, accept_sparse="csr", dtype=np.float64)
        check_classification_targets(y)
        self.classes_, codes = np.unique(y, return_inverse=True)
        if len(self.classes_) < 2:
            raise ValueError(f"needs samples of at least 2 classes in the data; got 1 class: {self.classes_[0]}")
        targets = (codes[:, None] == 1).astype(float) if len(self.classes_) == 2 else np.eye(len(self.classes_))[codes]
        rng = check_random_state(self.random_state)
        order = rng.permutation(X.shape[0])
        n_valid = int(round(self.validation_fraction * X.shape[0])) if self.early_stopping else 0
        valid, train = order[:n_valid], order[n_valid:]
        x_train, t_train = X[train], targets[train]
        x_mon, t_mon = (X[valid], targets[valid]) if n_valid else (x_train, t_train)
        weights = np.zeros((X.shape[1], targets.shape[1]))
        bias = np.zeros(targets.shape[1])
        batch = len(train) if self.batch_size is None else self.batch_size
        best = (np.inf, weights.copy(), bias.copy(), 0)
        self.loss_curve_, self.validation_loss_curve_ = [], []
        reference, stale = np.inf, 0  # the loss that must be beaten by `tol` to reset the patience count
        for epoch in range(1, self.max_epochs + 1):
            shuffled = rng.permutation(len(train))
            for start in range(0, len(train), batch):
                rows = shuffled[start:start + batch] if batch < len(train) else slice(None)
                xb, tb = x_train[rows], t_train[rows]
                residual = self._proba(self._logits(xb, weights, bias)) - tb
                weights -= self.learning_rate * (np.asarray(xb.T @ residual) / xb.shape[0] + self.alpha * weights)
                bias -= self.learning_rate * residual.mean(axis=0)
            self.loss_curve_.append(self._loss(x_train, t_train, weights, bias))
            monitored = self._loss(x_mon, t_mon, weights, bias) if n_valid else self.loss_curve_[-1]
            if n_valid:
                self.validation_loss_curve_.append(monitored)
            reference, stale = (monitored, 0) if monitored < reference - self.tol else (reference, stale + 1)
            if monitored < best[0]:
                best = (monitored, weights.copy(), bias.copy(), epoch)
            if epoch % progress_period(self.max_epochs) == 0 or stale >= self.n_iter_no_change:
                LOG.info("gradient descent epoch %d: train loss %.5f, monitored loss %.5f", epoch,
                         self.loss_curve_[-1], monitored)
            if stale >= self.n_iter_no_change:
                break
        _, weights, bias, self.best_epoch_ = best
        self.n_iter_ = epoch
        self.coef_, self.intercept_ = weights.T, bias
        return self

    def decision_function(self, X) -> np.ndarray:
        check_is_fitted(self)
        X = validate_data(self, X, accept_sparse="csr", reset=False, dtype=np.float64)
        logits = self._logits(X, self.coef_.T, self.intercept_)
        return logits[:, 0] if logits.shape[1] == 1 else logits

    def predict_proba(self, X) -> np.ndarray:
        logits = self.decision_function(X)
        if logits.ndim == 1:
            positive = self._proba(logits[:, None])[:, 0]
            return np.column_stack([1 - positive, positive])
        return self._proba(logits)

    def predict(self, X) -> np.ndarray:
        scores = self.decision_function(X)
        return self.classes_[(scores > 0).astype(int) if scores.ndim == 1 else scores.argmax(axis=1)]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags


class GradientBoostingProgress:
    """A scikit-learn gradient-boosting `monitor` that logs the training loss every tenth of the stages."""

    def __call__(self, stage: int, estimator: BaseEstimator, _locals: dict) -> bool:
        if (stage + 1) % progress_period(estimator.n_estimators) == 0:
            LOG.info("%s: stage %d/%d, training loss %.5f", type(estimator).__name__, stage + 1,
                     estimator.n_estimators, estimator.train_score_[stage])
        return False


class LoggedGradientBoostingClassifier(GradientBoostingClassifier):
    """GradientBoostingClassifier that logs its progress (GradientBoostingProgress) unless given a monitor."""

    def fit(self, X, y, sample_weight=None, monitor=None) -> LoggedGradientBoostingClassifier:
        return super().fit(X, y, sample_weight=sample_weight, monitor=monitor or GradientBoostingProgress())


class LoggedGradientBoostingRegressor(GradientBoostingRegressor):
    """GradientBoostingRegressor that logs its progress (GradientBoostingProgress) unless given a monitor."""

    def fit(self, X, y, sample_weight=None, monitor=None) -> LoggedGradientBoostingRegressor:
        return super().fit(X, y, sample_weight=sample_weight, monitor=monitor or GradientBoostingProgress())


@contextmanager
def _one_thread(forest: BaseEstimator) -> Iterator[None]:
    n_jobs = forest.n_jobs
    forest.n_jobs = 1
    try:
        yield
    finally:
        forest.n_jobs = n_jobs


class OrderedForestClassifier(RandomForestClassifier):
    """RandomForestClassifier that fits on `n_jobs` threads but predicts on one.

    scikit-learn's forest adds its trees' predictions from `n_jobs` threads in whatever order they finish, so the
    last bits of a probability change from run to run; summed in tree order they are the same every time.
    """

    def predict_proba(self, X) -> np.ndarray:
        with _one_thread(self):
            return super().predict_proba(X)


class OrderedForestRegressor(RandomForestRegressor):
    """RandomForestRegressor that fits on `n_jobs` threads but predicts on one (see OrderedForestClassifier)."""

    def predict(self, X) -> np.ndarray:
        with _one_thread(self):
            return super().predict(X)
