"""Helpers shared by the families (not a family: the registry skips modules starting with "_"). Every train stage
depends on this module, so a family module keeps only what is its own.

`design` is the preprocessing step: the shared tabular preprocessor, plus what it does not (yet) do. Text columns
(`spec.text`) become TF-IDF features; numeric columns can be cut into quantile bins for models that need counts or
discrete codes (multinomial naive Bayes, Jaccard and Hamming distances). Everything is fitted inside the model's
pipeline.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.calibration import CalibratedClassifierCV
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import FunctionTransformer, KBinsDiscretizer
from sklearn.svm import SVC, SVR

from tasks.core.errors import ConfigError
from tasks.core.feature_options import FeatureOptions, TextOptions
from tasks.families import BuildContext
from tasks.ml.estimators import Subsample
from tasks.ml.keras_estimators import TextRNNClassifier
from tasks.ml.preprocess import Encoding, as_float, build_preprocessor, make_preprocessor
from tasks.ml.text import TfidfText

TEXT_FEATURES = 50_000  # vocabulary cap of each text column for linear models, naive Bayes and kNN
COMPACT_TEXT_FEATURES = 2_000  # for dense-only estimators and trees (which scan every feature at every split)


def as_text(frame: pd.DataFrame) -> np.ndarray:
    """One text column as a 1-D array of strings, missing values as empty documents."""
    return frame.iloc[:, 0].fillna("").astype(str).to_numpy()


def text_vectorizer(max_features: int) -> Pipeline:
    """TF-IDF of word unigrams and bigrams seen in at least two documents, sublinear term frequency."""
    return make_pipeline(
        FunctionTransformer(as_text, feature_names_out="one-to-one"),
        TfidfText(ngram_range=(1, 2), min_df=2, sublinear_tf=True, max_features=max_features),
    )


def imputed() -> Pipeline:
    """Numeric columns as floats, missing values replaced by the training median (no missing-value indicators)."""
    return make_pipeline(FunctionTransformer(as_float, feature_names_out="one-to-one"),
                         SimpleImputer(strategy="median", keep_empty_features=True))


def binned(n_bins: int, encoding: Encoding) -> Pipeline:
    """Imputed numeric columns cut into quantile bins (one-hot or ordinal bin codes)."""
    encode = "onehot" if encoding == "onehot" else "ordinal"
    return Pipeline([*imputed().steps, ("bins", KBinsDiscretizer(n_bins=n_bins, encode=encode, strategy="quantile"))])


def to_dense(matrix: Any) -> np.ndarray:
    return matrix.toarray() if hasattr(matrix, "toarray") else np.asarray(matrix)


def design(ctx: BuildContext, *, encoding: Encoding, scale: bool, numeric_bins: int | None = None,
           dense: bool = False, text_features: int = TEXT_FEATURES) -> BaseEstimator:
    """The preprocessing step of a family's pipeline: the family's preferences, unless params.yaml sets feature
    options for the model (`ctx.features`); then `build_preprocessor` builds from the preferences overridden by them.

    Otherwise, without text columns or binning this is exactly `make_preprocessor`; with them the tabular part, the
    binned numeric columns and one TF-IDF block per text column (at most `text_features` terms each) are stacked,
    feature names prefixed by the block. `dense=True` returns a dense array, for estimators that reject sparse input.
    """
    spec = ctx.spec
    if ctx.features:
        preferred = FeatureOptions(
            categorical_encoding=encoding, numeric_scaling="standard" if scale else "none",
            text=TextOptions(ngram_range=(1, 2), min_df=2, max_features=text_features))
        built = build_preprocessor(spec, preferred.merged(ctx.features), seed=ctx.seed)
        return make_pipeline(built, FunctionTransformer(to_dense)) if dense else built
    if not spec.text and numeric_bins is None:
        return make_preprocessor(spec, encoding=encoding, scale=scale)
    numeric = [*spec.numeric, *spec.ordinal]
    tabular = replace(spec, text=[], numeric=[], ordinal=[]) if numeric_bins else replace(spec, text=[])
    blocks = []
    if tabular.features:
        blocks.append(("tabular", make_preprocessor(tabular, encoding=encoding, scale=scale), tabular.features))
    if numeric_bins and numeric:
        blocks.append(("bins", binned(numeric_bins, encoding), numeric))
    blocks.extend((f"text_{column}", text_vectorizer(text_features), [column]) for column in spec.text)
    return ColumnTransformer(blocks, sparse_threshold=0.0 if dense else 1.0)


def reject_unknown(estimator: BaseEstimator, hp: dict[str, Any]) -> None:
    """Raise TypeError (a ConfigError from `build_estimator`) for hyperparameters `estimator` does not declare.

    For libraries whose constructors accept arbitrary `**kwargs` (XGBoost, LightGBM) and only warn at fit time.
    """
    unknown = sorted(set(hp) - set(estimator.get_params(deep=False)))
    if unknown:
        raise TypeError(f"unexpected keyword argument(s) {unknown} for {type(estimator).__name__}")


def svm_pipeline(ctx: BuildContext, hp: dict, kernel: str) -> Pipeline:
    """An SVM on one-hot standardised features, fitted on at most `max_train_rows` (stratified) training rows:
    kernel SVMs scale worse than linearly in rows. Classifier probabilities: Platt scaling on cross-validated
    decision values, then one SVM on all the rows (`CalibratedClassifierCV(ensemble=False)`, which replaces the
    deprecated `SVC(probability=True)`)."""
    max_train_rows = hp.pop("max_train_rows", 5_000)
    if ctx.spec.problem_type == "regression":
        model = SVR(kernel=kernel, **hp)
    else:
        model = CalibratedClassifierCV(SVC(kernel=kernel, random_state=ctx.seed, **hp), ensemble=False)
    return Pipeline([
        ("preprocess", design(ctx, encoding="onehot", scale=True)),
        ("model", Subsample(model, max_rows=max_train_rows, random_state=ctx.seed)),
    ])


def pixel_columns(ctx: BuildContext) -> ColumnTransformer:
    """The pixel columns in declared order, a missing pixel read as 0 (background)."""
    if not ctx.spec.numeric:
        raise ConfigError("image families need the pixel columns declared as featurize.<problem>.numeric")
    imputer = make_pipeline(FunctionTransformer(as_float, feature_names_out="one-to-one"),  # uint8 pixels too
                            SimpleImputer(strategy="constant", fill_value=0.0, keep_empty_features=True))
    return ColumnTransformer([("pixels", imputer, ctx.spec.numeric)], remainder="drop")


def text_rnn_pipeline(ctx: BuildContext, hp: dict, cell: str) -> Pipeline:
    """Select the text columns (joined per row by the model) and attach a recurrent classifier."""
    if not ctx.spec.text:
        raise ConfigError("recurrent text families need at least one featurize.<problem>.text column")
    return Pipeline([
        ("text", ColumnTransformer([("text", "passthrough", ctx.spec.text)], remainder="drop")),
        ("model", TextRNNClassifier(cell=cell, random_state=ctx.seed, device=ctx.device, **hp)),
    ])
