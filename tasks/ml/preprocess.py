"""Preprocessing steps shared by the model families; always fitted inside the model's pipeline."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin, clone
from sklearn.compose import ColumnTransformer
from sklearn.decomposition import PCA, TruncatedSVD
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import (
    FunctionTransformer,
    KBinsDiscretizer,
    MinMaxScaler,
    OneHotEncoder,
    OrdinalEncoder,
    PolynomialFeatures,
    StandardScaler,
)
from sklearn.utils.validation import check_is_fitted, validate_data

from tasks.core.artefacts import FeatureSpec
from tasks.core.errors import ConfigError
from tasks.core.feature_options import FeatureOptions, TextOptions
from tasks.ml.image import Deskew, UnitScaler
from tasks.ml.resample import Resampled
from tasks.ml.text import CountText, HashingTextVectorizer, TextColumn, TfidfText, Tokenizer
from tasks.ml.vif import VifFilter, vif_table

Encoding = Literal["onehot", "ordinal"]


# Object columns of these kinds hold no two values that are equal but print differently (True == 1 does), so
# converting each distinct value once gives what converting every cell would.
_FACTORIZABLE = frozenset({"string", "integer", "floating", "mixed-integer-float", "boolean", "empty"})


def _code_str(value: Any) -> str:
    return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)


def _column_as_str(column: pd.Series) -> np.ndarray:
    if column.dtype == object and pd.api.types.infer_dtype(column, skipna=True) not in _FACTORIZABLE:
        return np.array([np.nan if pd.isna(v) else _code_str(v) for v in column], dtype=object)
    codes, uniques = pd.factorize(column)
    text = np.array([*map(_code_str, np.asarray(uniques, dtype=object)), np.nan], dtype=object)
    return text[codes]  # code -1 (missing) picks the trailing NaN


def _column_as_float(column: pd.Series) -> np.ndarray:
    if isinstance(column.dtype, pd.CategoricalDtype):
        categories = pd.to_numeric(pd.Series(column.cat.categories).astype("object"), errors="coerce")
        return np.append(categories.to_numpy(np.float64), np.nan)[column.cat.codes.to_numpy()]
    if column.dtype.kind in "iufb":
        return column.to_numpy(np.float64)
    return pd.to_numeric(column.astype("object"), errors="coerce").to_numpy(np.float64)


def _by_column(frame: pd.DataFrame, convert: Any) -> pd.DataFrame:
    out = pd.DataFrame({i: convert(frame.iloc[:, i]) for i in range(frame.shape[1])}, index=frame.index, copy=False)
    out.columns = frame.columns  # in place: set_axis would copy every column
    return out


def as_str(frame: pd.DataFrame) -> pd.DataFrame:
    """Categorical codes as strings, so '3', 3 and 3.0 mean the same category at fit and score time; every
    missing value (None, pd.NA, NaN) becomes NaN, which the imputer recognises (it does not see None).

    Each distinct value of a column is converted once and the result shared by its cells (a per-cell Python call
    took ~0.5 s per 70k rows of the employment problem and a string object per cell)."""
    return _by_column(frame, _column_as_str)


def as_float(frame: pd.DataFrame) -> pd.DataFrame:
    """Every column as float64; values that are not numbers become NaN. Categorical columns convert their
    categories, not every cell."""
    return _by_column(frame, _column_as_float)


def make_preprocessor(spec: FeatureSpec, *, encoding: Encoding, scale: bool) -> ColumnTransformer:
    """Numeric and ordinal columns: coerce, impute (median, with missing indicators), optionally standardise.
    Categorical columns: as strings, impute the mode, then one-hot (unseen -> all zeros) or ordinal codes
    (unseen -> -1)."""
    numeric_steps = [FunctionTransformer(as_float, feature_names_out="one-to-one"),
                     SimpleImputer(strategy="median", add_indicator=True, keep_empty_features=True)]
    if scale:
        numeric_steps.append(StandardScaler())
    if encoding == "onehot":
        encoder = OneHotEncoder(handle_unknown="ignore", sparse_output=False, dtype=np.float32)
    else:
        encoder = OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1, dtype=np.float32)
    categorical: Pipeline = make_pipeline(
        FunctionTransformer(as_str, feature_names_out="one-to-one"),
        SimpleImputer(strategy="most_frequent", keep_empty_features=True),
        encoder,
    )
    transformers = []
    if spec.numeric or spec.ordinal:
        transformers.append(("numeric", make_pipeline(*numeric_steps), [*spec.numeric, *spec.ordinal]))
    if spec.categorical:
        transformers.append(("categorical", categorical, spec.categorical))
    return ColumnTransformer(transformers, remainder="drop", verbose_feature_names_out=False)


# ------------------------------------------------------------------------------ configurable feature engineering


class PairwiseProducts(TransformerMixin, BaseEstimator):
    """Products of column pairs given by position, e.g. ((0, 1),) -> x0*x1."""

    def __init__(self, pairs: Sequence[tuple[int, int]] = ()) -> None:
        self.pairs = pairs

    def fit(self, X: Any, y: Any = None) -> PairwiseProducts:
        values = validate_data(self, X, dtype=np.float64, ensure_all_finite="allow-nan")
        bad = [p for p in self.pairs if max(p) >= values.shape[1] or min(p) < 0]
        if bad:
            raise ValueError(f"pairs {bad} refer to columns outside the n_features = {values.shape[1]} given")
        return self

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True  # a missing factor gives a missing product
        return tags

    def transform(self, X: Any) -> np.ndarray:
        check_is_fitted(self, "n_features_in_")
        values = validate_data(self, X, dtype=np.float64, reset=False, ensure_all_finite="allow-nan")
        products = [values[:, a] * values[:, b] for a, b in self.pairs]
        return np.column_stack(products) if products else np.empty((len(values), 0))

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        check_is_fitted(self, "n_features_in_")
        names = _input_names(self, input_features)
        return np.asarray([f"{names[a]}*{names[b]}" for a, b in self.pairs], dtype=object)


def _input_names(estimator: BaseEstimator, input_features: Any) -> list[str]:
    if input_features is not None:
        return [str(n) for n in input_features]
    known = getattr(estimator, "feature_names_in_", None)
    return [str(n) for n in known] if known is not None else [f"x{i}" for i in range(estimator.n_features_in_)]


def _scaler(options: FeatureOptions) -> list[BaseEstimator]:
    return {"standard": [StandardScaler()], "minmax": [MinMaxScaler()], "unit": [UnitScaler()],
            "none": []}[options.numeric_scaling]


def _vectorizer(text: TextOptions) -> BaseEstimator:
    """The configured vectorizer; word tokens go through `Tokenizer` when stop words or stemming are on."""
    custom = text.analyzer == "word" and (text.stop_words or text.stemming)
    tokens: dict[str, Any] = {"analyzer": text.analyzer, "ngram_range": tuple(text.ngram_range), "lowercase": True}
    if custom:
        tokens |= {"tokenizer": Tokenizer(stop_words=text.stop_words, stemmer=text.stemmer if text.stemming else None),
                   "token_pattern": None}
    if text.vectorizer == "hashing":
        return HashingTextVectorizer(n_features=text.n_features, alternate_sign=False, **tokens)
    vocabulary = {"max_features": text.max_features, "min_df": text.min_df, **tokens}
    if text.vectorizer == "tfidf":
        return TfidfText(**vocabulary)
    return CountText(binary=text.vectorizer == "binary", **vocabulary)


def _check_options(spec: FeatureSpec, options: FeatureOptions) -> None:
    numeric = [*spec.numeric, *spec.ordinal]
    binned = options.binning.columns if options.binning else []
    wrong = [c for c in binned if c not in numeric]
    if wrong:
        raise ConfigError(f"feature options binning.columns: {wrong} are not numeric or ordinal columns {numeric}")
    wrong = sorted({c for pair in options.interactions for c in pair if c not in numeric})
    if wrong:
        raise ConfigError(f"feature options interactions: {wrong} are not numeric or ordinal columns {numeric}")
    if spec.text and (options.pca_variance is not None or options.vif_threshold is not None):
        raise ConfigError("feature options pca_variance / vif_threshold need dense features; with text columns "
                          f"{spec.text} use svd_rank instead")


def build_preprocessor(spec: FeatureSpec, options: FeatureOptions, *, seed: int = 0) -> Pipeline:
    """An unfitted preprocessing pipeline for raw rows, as `options` describe; fitted inside the model's pipeline
    on training rows only.

    Steps: "columns" (a ColumnTransformer: numeric+ordinal imputed, optional polynomial, scaled; binned columns;
    interaction products; categorical imputed and encoded, unseen categories to zeros or -1, rare ones grouped;
    one vectorizer per text column), then optionally "vif", "pca" or "svd".
    """
    _check_options(spec, options)
    to_float = FunctionTransformer(as_float, feature_names_out="one-to-one")
    binned = options.binning.columns if options.binning else []
    branches: list[tuple[str, Any, list[str]]] = []
    numeric = [c for c in [*spec.numeric, *spec.ordinal] if c not in binned]
    if numeric:
        steps = [to_float, *([Deskew(shape=options.deskew)] if options.deskew else []),
                 *([SimpleImputer(strategy="median", add_indicator=options.impute_indicator,
                                  keep_empty_features=True)] if options.impute else [])]
        if options.polynomial_degree:
            steps.append(PolynomialFeatures(degree=options.polynomial_degree, include_bias=False))
        branches.append(("numeric", make_pipeline(*steps, *_scaler(options)), numeric))
    onehot = options.categorical_encoding == "onehot"
    if options.binning:
        bins = KBinsDiscretizer(n_bins=options.binning.n_bins, strategy=options.binning.strategy,
                                encode="onehot-dense" if onehot else "ordinal", random_state=seed)
        branches.append(("binned", make_pipeline(
            clone(to_float), SimpleImputer(strategy="median", keep_empty_features=True), bins), binned))
    if options.interactions:
        columns = list(dict.fromkeys(c for pair in options.interactions for c in pair))
        pairs = tuple((columns.index(a), columns.index(b)) for a, b in options.interactions)
        branches.append(("interactions", make_pipeline(
            clone(to_float), SimpleImputer(strategy="median", keep_empty_features=True), PairwiseProducts(pairs),
            *_scaler(options)), columns))
    if spec.categorical:
        rare = options.rare_category_min_frequency
        if onehot:
            encoder = OneHotEncoder(handle_unknown="infrequent_if_exist" if rare else "ignore", min_frequency=rare,
                                    sparse_output=False, dtype=np.float32)
        else:
            encoder = OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1, min_frequency=rare,
                                     dtype=np.float32)
        fill = [SimpleImputer(strategy="most_frequent", keep_empty_features=True)] if options.impute else []
        branches.append(("categorical", make_pipeline(  # unimputed: NaN codes (ordinal), a NaN category (one-hot)
            FunctionTransformer(as_str, feature_names_out="one-to-one"), *fill, encoder), spec.categorical))
    for column in spec.text:
        branches.append((f"text_{column}", make_pipeline(TextColumn(), _vectorizer(options.text)), [column]))
    columns = ColumnTransformer(branches, remainder="drop")
    if options.vif_threshold is not None:
        columns.set_output(transform="pandas")  # dense here (no text); the VIF filter then sees feature names
    steps: list[tuple[str, Any]] = [("columns", columns)]
    if options.vif_threshold is not None:
        steps.append(("vif", VifFilter(threshold=options.vif_threshold, random_state=seed)))
    if options.pca_variance is not None:
        steps.append(("pca", PCA(n_components=options.pca_variance, svd_solver="full", random_state=seed)))
    if options.svd_rank is not None:
        steps.append(("svd", TruncatedSVD(n_components=options.svd_rank, random_state=seed)))
    return Pipeline(steps)


# ------------------------------------------------------------------------------------------- features report


def feature_summary(
    preprocessor: Pipeline, spec: FeatureSpec, options: FeatureOptions, *, train: pd.DataFrame | None = None,
    resampled: Resampled | None = None, vif_rows: int = 2000, vif_columns: int = 300, seed: int = 0,
) -> dict[str, Any]:
    """What a fitted `build_preprocessor` pipeline made of the training data (JSON-serialisable).

    Feature counts after each step (and per column-transformer branch), the VIF table (the filter's when it is
    on; otherwise computed on up to `vif_rows` transformed `train` rows when the features are dense), explained
    variance of PCA/SVD components, and the class balance before/after resampling. An infinite VIF is None.
    The VIF table is left out above `vif_columns` model features (its cost grows with their cube: one-hot columns
    of an id took minutes and gigabytes), and `notes` says so.
    """
    columns: ColumnTransformer = preprocessor.named_steps["columns"]
    branches = {name: s.stop - s.start for name, s in columns.output_indices_.items() if name != "remainder"}
    steps: list[dict[str, Any]] = [
        {"step": "inputs", "features": len(spec.features), "detail": {
            "numeric": len(spec.numeric), "ordinal": len(spec.ordinal), "categorical": len(spec.categorical),
            "text": len(spec.text)}},
        {"step": "columns", "features": sum(branches.values()), "detail": branches},
    ]
    summary: dict[str, Any] = {"options": options.model_dump(mode="json"), "steps": steps, "vif": None,
                               "explained_variance": None, "class_balance": None, "notes": []}
    vif = preprocessor.named_steps.get("vif")
    if vif is not None:
        steps.append({"step": "vif", "features": int(vif.support_.sum()), "detail": {"dropped": vif.dropped_}})
        summary["vif"] = _vif_records(vif.vif_)
    elif train is not None and not spec.text and sum(branches.values()) > vif_columns:
        summary["notes"].append(f"VIF table left out: {sum(branches.values()):,} model features (> {vif_columns}); "
                                "it is computed up to that many")
    elif train is not None and not spec.text:
        sample = train.sample(min(vif_rows, len(train)), random_state=seed)
        summary["vif"] = _vif_records(vif_table(pd.DataFrame(columns.transform(sample),
                                                             columns=columns.get_feature_names_out())))
    for name in ("pca", "svd"):
        reducer = preprocessor.named_steps.get(name)
        if reducer is not None:
            ratios = [round(float(r), 6) for r in reducer.explained_variance_ratio_]
            steps.append({"step": name, "features": len(ratios), "detail": {"explained": round(sum(ratios), 4)}})
            summary["explained_variance"] = ratios
    if resampled is not None:
        summary["class_balance"] = {"how": options.resampling, "before": resampled.counts_before,
                                    "after": resampled.counts_after, "class_weight": resampled.class_weight}
    return summary


def _vif_records(table: pd.DataFrame) -> list[dict[str, Any]]:
    return [{"feature": f, "vif": None if np.isinf(v) else round(float(v), 4)} for f, v in table.itertuples(False)]
