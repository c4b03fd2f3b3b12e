"""Per-family explanation artefacts of a fitted pipeline, for the evaluation report.

`insights` returns JSON-serialisable tables (lists of row dicts, or a dict of scalars) and, optionally, matplotlib
figures. What appears depends on the fitted model: feature importances (tree ensembles), coefficients, the OLS
inference table and residual plots (linear_regression), odds ratios with confidence intervals and McFadden's pseudo
R2 (logistic_regression, from a statsmodels Logit on the same design matrix), support-vector counts (SVMs), depth,
leaves and a plot of the tree (decision_tree), per-class evidence (naive Bayes), the loss curve (logistic_sgd),
parameter counts and accuracy before/after pruning and the pre-training comparison (Keras networks).
"""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass, field
from itertools import combinations
from typing import Any

import numpy as np
import pandas as pd
from scipy import sparse
from sklearn.base import BaseEstimator
from sklearn.calibration import CalibratedClassifierCV
from sklearn.pipeline import Pipeline

from tasks.ml.estimators import (
    GradientDescentLogisticRegression,
    LabelEncodedClassifier,
    StatsmodelsOLS,
    Subsample,
    independent_columns,
)

MAX_LOGIT_COLUMNS = 500  # statsmodels inference on wider (e.g. text) designs is slow and rarely meaningful


@dataclass(frozen=True)
class Insights:
    """`tables`: name -> JSON-serialisable table; `figures`: name -> matplotlib Figure (not serialisable)."""

    family: str
    tables: dict[str, Any] = field(default_factory=dict)
    figures: dict[str, Any] = field(default_factory=dict)


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as plain dicts: Python numbers and strings, NaN as None."""
    return json.loads(frame.to_json(orient="records", double_precision=8))


def final_estimator(model: BaseEstimator) -> BaseEstimator:
    """The estimator doing the work, inside the platform's wrappers (label encoding, subsampling, calibration)."""
    while True:
        if isinstance(model, CalibratedClassifierCV):
            model = model.calibrated_classifiers_[0].estimator
        elif isinstance(model, (LabelEncodedClassifier, Subsample)):
            model = model.estimator_
        else:
            return model


def feature_names_of(pipeline: BaseEstimator, n_features: int) -> list[str]:
    """Names of the features the final estimator sees, or x0..xN when a step cannot name them."""
    try:
        return [str(n) for n in pipeline[:-1].get_feature_names_out()]
    except (AttributeError, TypeError, ValueError):
        return [f"x{i}" for i in range(n_features)]


def importances(model: BaseEstimator) -> np.ndarray | None:
    """Impurity/gain importances; bagging averages its trees' importances over the features each tree saw."""
    if hasattr(model, "feature_importances_"):
        return np.asarray(model.feature_importances_, dtype=float)
    if hasattr(model, "estimators_features_"):
        total = np.zeros(model.n_features_in_)
        for tree, columns in zip(model.estimators_, model.estimators_features_, strict=True):
            total[columns] += tree.feature_importances_
        return total / len(model.estimators_)
    return None


def importance_table(values: np.ndarray, names: list[str], top: int) -> list[dict]:
    share = values / values.sum() if values.sum() > 0 else values
    frame = pd.DataFrame({"feature": names, "importance": values, "share": share})
    return records(frame.sort_values("importance", ascending=False).head(top))


def coefficient_table(model: BaseEstimator, names: list[str], top: int) -> list[dict]:
    """Largest coefficients by absolute value; for multiclass models one column per class (per pair of classes
    for one-vs-one SVMs)."""
    coef = model.coef_
    coef = np.atleast_2d(coef.toarray() if sparse.issparse(coef) else coef)  # SVC on sparse (text) input
    if coef.shape[0] == 1:
        frame = pd.DataFrame({"feature": names, "coefficient": coef[0]})
        order = frame["coefficient"].abs()
    else:
        pairs = hasattr(model, "support_")
        labels = [f"{a} vs {b}" for a, b in combinations(model.classes_, 2)] if pairs else list(model.classes_)
        frame = pd.DataFrame(coef.T, columns=[f"coefficient[{c}]" for c in labels]).assign(feature=names)
        order = pd.DataFrame(np.abs(coef.T)).max(axis=1)
    return records(frame.loc[order.sort_values(ascending=False).index].head(top))


def ols_tables(model: StatsmodelsOLS, names: list[str]) -> dict[str, Any]:
    intercept = {"feature": "(intercept)", "coefficient": model.intercept_, **model.intercept_stats_}
    frame = pd.DataFrame({
        "feature": names, "coefficient": np.where(model.aliased_, np.nan, model.coef_), "std_err": model.bse_,
        "p_value": model.pvalues_, "ci_low": model.conf_int_[:, 0], "ci_high": model.conf_int_[:, 1],
        "vif": model.vif_, "aliased": model.aliased_,
    })
    fit = {"r2": model.rsquared_, "adjusted_r2": model.rsquared_adj_, "f_statistic": model.fvalue_,
           "f_p_value": model.f_pvalue_, "observations": model.nobs_, "residual_df": model.df_resid_,
           "confidence": model.confidence, "aliased_features": int(model.aliased_.sum())}
    return {"ols": records(pd.concat([pd.DataFrame([intercept]), frame], ignore_index=True)),
            "ols_fit": records(pd.DataFrame([fit]))[0]}


def new_figure(width: float, height: float):
    """A matplotlib Figure with its own Agg canvas: no pyplot global state, no display needed."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def residual_figure(fitted: np.ndarray, residuals: np.ndarray):
    """Residuals against fitted values, and their normal Q-Q plot."""
    from scipy import stats

    figure = new_figure(9, 4)
    left, right = figure.subplots(1, 2)
    left.scatter(fitted, residuals, s=6, alpha=0.5)
    left.axhline(0, color="grey", linewidth=1)
    left.set(xlabel="fitted value", ylabel="residual", title="Residuals vs fitted")
    (theoretical, ordered), (slope, intercept, _) = stats.probplot(residuals, dist="norm")
    right.scatter(theoretical, ordered, s=6, alpha=0.5)
    right.plot(theoretical, slope * theoretical + intercept, color="grey", linewidth=1)
    right.set(xlabel="normal quantile", ylabel="residual quantile", title="Normal Q-Q")
    return figure


def logit_tables(design, y: pd.Series, classes: list, names: list[str], confidence: float = 0.95) -> dict[str, Any]:
    """Unpenalised statsmodels (MN)Logit on the model's design matrix: odds ratios with confidence intervals,
    p-values and McFadden's pseudo R2 (1 - log-likelihood / null log-likelihood).

    Odds ratios are per unit of each design column: per standard deviation for numeric features, against the
    aliased (reference) level for one-hot categories. Multiclass ratios compare each class with the first.
    """
    import statsmodels.api as sm

    if sparse.issparse(design) or design.shape[1] > MAX_LOGIT_COLUMNS:
        return {"logit_fit": {"skipped": f"design has {design.shape[1]} columns (sparse or more than "
                                         f"{MAX_LOGIT_COLUMNS}); no statsmodels inference"}}
    design = np.column_stack([np.ones(len(design)), np.asarray(design, dtype=float)])
    keep = independent_columns(design)
    keep[0] = True
    codes = pd.Categorical(y, categories=classes).codes
    model = sm.Logit(codes, design[:, keep]) if len(classes) == 2 else sm.MNLogit(codes, design[:, keep])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            result = model.fit(disp=0, maxiter=200)
        except np.linalg.LinAlgError as exc:
            return {"logit_fit": {"skipped": f"statsmodels could not fit the design ({exc})"}}
    params = np.asarray(result.params).reshape(keep.sum(), -1)
    interval = np.asarray(result.conf_int(alpha=1 - confidence)).reshape(-1, 2)
    lower, upper = (interval[:, i].reshape(params.shape[1], -1).T for i in (0, 1))
    pvalues = np.asarray(result.pvalues).reshape(params.shape)
    kept_names = np.asarray(["(intercept)", *names])[keep]
    rows = []
    for k, label in enumerate(classes[1:]):
        rows.append(pd.DataFrame({
            "class": label, "feature": kept_names, "odds_ratio": np.exp(params[:, k]),
            "ci_low": np.exp(lower[:, k]), "ci_high": np.exp(upper[:, k]), "p_value": pvalues[:, k],
        }))
    fit = {"mcfadden_pseudo_r2": float(result.prsquared), "log_likelihood": float(result.llf),
           "null_log_likelihood": float(result.llnull), "observations": int(result.nobs),
           "reference_class": classes[0], "converged": bool(result.mle_retvals["converged"]),
           "confidence": confidence, "aliased_features": [str(n) for n in np.asarray(names)[~keep[1:]]],
           "warnings": sorted({str(w.message).splitlines()[0] for w in caught})}
    return {"odds_ratios": records(pd.concat(rows, ignore_index=True)), "logit_fit": fit}


def tree_figure(model: BaseEstimator, names: list[str], depth: int):
    from sklearn.tree import plot_tree

    figure = new_figure(min(4 * 2 ** depth, 24), 2.5 * (depth + 1))
    class_names = [str(c) for c in model.classes_] if hasattr(model, "classes_") else None
    plot_tree(model, max_depth=depth, feature_names=names, class_names=class_names, filled=True, impurity=False,
              fontsize=8, ax=figure.subplots())
    return figure


def loss_figure(model: GradientDescentLogisticRegression):
    figure = new_figure(5, 3.5)
    ax = figure.subplots()
    epochs = np.arange(1, len(model.loss_curve_) + 1)
    ax.plot(epochs, model.loss_curve_, label="training")
    if model.validation_loss_curve_:
        ax.plot(epochs, model.validation_loss_curve_, label="validation")
    ax.axvline(model.best_epoch_, color="grey", linestyle=":", label="kept")
    ax.set(xlabel="epoch", ylabel="cross-entropy", title="Gradient descent")
    ax.legend()
    return figure


def naive_bayes_evidence(model: BaseEstimator, names: list[str], top: int) -> list[dict]:
    """The features that most favour each class: log P(feature | class) minus its mean over the other classes."""
    logp = model.feature_log_prob_
    rows = []
    for k, label in enumerate(model.classes_):
        others = np.delete(logp, k, axis=0).mean(axis=0)
        gap = logp[k] - others
        for i in np.argsort(gap)[::-1][:top]:
            rows.append({"class": label, "feature": names[i], "log_ratio": gap[i]})
    return records(pd.DataFrame(rows))


def insights(
    pipeline: BaseEstimator, family: str, feature_names: list[str] | None = None, *,
    x: pd.DataFrame | None = None, y: pd.Series | None = None, top: int = 30, figures: bool = True,
    tree_depth: int = 3,
) -> Insights:
    """Explanation tables (and figures) for one fitted family pipeline.

    `feature_names` defaults to the pipeline's own; `x`, `y` (training rows) enable the statsmodels Logit
    statistics of logistic_regression. `top` bounds the importance/coefficient tables; `tree_depth` the tree plot.
    """
    last = pipeline.steps[-1][1] if isinstance(pipeline, Pipeline) else pipeline
    model = final_estimator(last)
    n_features = getattr(model, "n_features_in_", None)  # None for sequence models over token ids
    names = feature_names or feature_names_of(pipeline, n_features or 0)
    tables: dict[str, Any] = {"summary": {"family": family, "estimator": type(model).__name__,
                                          "features": None if n_features is None else int(n_features)}}
    shown: dict[str, Any] = {}
    values = importances(model)
    if values is not None:
        tables["feature_importances"] = importance_table(values, names, top)
    if isinstance(model, StatsmodelsOLS):
        tables.update(ols_tables(model, names))
        if figures:
            shown["residuals"] = residual_figure(model.fitted_, model.resid_)
    elif hasattr(model, "coef_"):
        tables["coefficients"] = coefficient_table(model, names, top)
    if family == "logistic_regression" and x is not None and y is not None:
        tables.update(logit_tables(pipeline[:-1].transform(x), y, list(model.classes_), names))
    if hasattr(model, "support_"):
        counts = np.atleast_1d(model.n_support_)
        per_class = dict(zip(map(str, getattr(model, "classes_", ["all"])), counts.tolist(), strict=True))
        tables["support_vectors"] = {"total": int(counts.sum()), "per_class": per_class,
                                     "training_rows": int(getattr(last, "n_train_rows_", model.shape_fit_[0]))}
    if hasattr(model, "tree_"):
        tables["tree"] = {"depth": int(model.get_depth()), "leaves": int(model.get_n_leaves()),
                          "nodes": int(model.tree_.node_count)}
        if figures:
            shown["tree"] = tree_figure(model, names, tree_depth)
    if hasattr(model, "feature_log_prob_"):
        tables["class_evidence"] = naive_bayes_evidence(model, names, min(top, 15))
    if hasattr(model, "n_samples_fit_"):
        tables["neighbours"] = {"n_neighbors": model.n_neighbors, "metric": str(model.metric),
                                "weights": str(model.weights), "training_rows": int(model.n_samples_fit_)}
    if hasattr(model, "member_scores_"):  # tasks.ml.ensemble.GreedyEnsemble (not imported: keeps it out of model keys)
        summary = model.summary()
        tables["ensemble_weights"] = [{"member": name, "weight": round(summary["weights"].get(name, 0.0), 4),
                                       f"validation {summary['metric']}": round(value, 6)}
                                      for name, value in summary["member_scores"].items()]
        tables["ensemble"] = {"metric": summary["metric"], "validation": round(summary["ensemble_score"], 6),
                              "rounds": len(summary["history"])}
    if isinstance(model, GradientDescentLogisticRegression):
        tables["training"] = {"epochs": model.n_iter_, "best_epoch": model.best_epoch_,
                              "final_training_loss": model.loss_curve_[-1]}
        if figures:
            shown["loss_curve"] = loss_figure(model)
    for name in ("pruning", "transfer"):  # Keras networks: magnitude pruning, pre-training on another image set
        if hasattr(model, f"{name}_"):
            tables[name] = getattr(model, f"{name}_")
    return Insights(family=family, tables=tables, figures=shown)
