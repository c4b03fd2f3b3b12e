"""Feature engineering: every option builds a pipeline that fits on training rows only and scores raw rows."""

from __future__ import annotations

import json
import pickle
import re
import warnings

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.utils.estimator_checks import parametrize_with_checks

from tasks.core.artefacts import FeatureSpec
from tasks.core.errors import ConfigError, DataError
from tasks.core.feature_options import FeatureOptions
from tasks.ml.preprocess import (
    PairwiseProducts,
    build_preprocessor,
    feature_summary,
    make_preprocessor,
)
from tasks.ml.resample import balanced_class_weights, downsample, resample
from tasks.ml.text import Tokenizer
from tasks.ml.vif import VifFilter, vif_table
from tasks.present.features_report import render_features_report

WORDS = ["loan", "loans", "paid", "late", "running", "runs", "the", "and", "bank", "card", "credit", "debt"]


def _frame(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    age = rng.normal(40, 12, n).round()
    income = rng.lognormal(10, 0.5, n)
    colour = rng.choice(["red", "green", "blue", "teal"], n, p=[0.45, 0.3, 0.23, 0.02])
    notes = [" ".join(rng.choice(WORDS, 4)) for _ in range(n)]
    logit = 0.05 * (age - 40) + (colour == "red") - 0.5
    frame = pd.DataFrame({
        "age": age, "income": income, "edu": rng.integers(0, 6, n),
        "colour": pd.Categorical(colour), "city": rng.choice(["a", "b", "c"], n), "note": notes,
        "y": (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int),
    })
    frame.loc[frame.index[::17], "age"] = np.nan
    frame.loc[frame.index[::23], "city"] = None
    frame.loc[frame.index[::29], "note"] = None
    return frame


@pytest.fixture(scope="module")
def train() -> pd.DataFrame:
    return _frame(400, seed=1)


@pytest.fixture(scope="module")
def test_rows() -> pd.DataFrame:
    """Scoring rows: shifted numbers, a colour and a city never seen in training, missing values, a new word."""
    frame = _frame(60, seed=2)
    frame["income"] *= 3
    frame["colour"] = frame["colour"].cat.add_categories(["purple"])
    frame.loc[frame.index[:3], "colour"] = "purple"
    frame.loc[frame.index[3:6], "city"] = "zzz"
    frame.loc[frame.index[6:9], ["age", "income", "edu", "colour", "note"]] = np.nan
    frame.loc[frame.index[9], "note"] = "unseenword " * 3
    return frame


def _spec(text: bool = True) -> FeatureSpec:
    return FeatureSpec(problem_type="binary", target="y", numeric=["age", "income"], ordinal=["edu"],
                       categorical=["colour", "city"], text=["note"] if text else [])


# (id, options, with a text column): together they set every option to each of its values
CASES = [
    ("defaults", {}, True),
    ("minmax", {"numeric_scaling": "minmax"}, True),
    ("no-scaling-no-indicator", {"numeric_scaling": "none", "impute_indicator": False}, True),
    ("binning-quantile", {"binning": {"columns": ["age"], "n_bins": 4}}, True),
    ("binning-uniform-ordinal", {"binning": {"columns": ["age", "edu"], "strategy": "uniform"},
                                 "categorical_encoding": "ordinal"}, True),
    ("binning-kmeans", {"binning": {"columns": ["income"], "n_bins": 3, "strategy": "kmeans"}}, True),
    ("interactions", {"interactions": [["age", "income"], ["age", "edu"]]}, True),
    ("polynomial", {"polynomial_degree": 2}, True),
    ("ordinal-encoding", {"categorical_encoding": "ordinal"}, True),
    ("rare-count", {"rare_category_min_frequency": 20}, True),
    ("rare-fraction-ordinal", {"rare_category_min_frequency": 0.05, "categorical_encoding": "ordinal"}, True),
    ("text-binary", {"text": {"vectorizer": "binary"}}, True),
    ("text-count-bigrams", {"text": {"vectorizer": "count", "ngram_range": [1, 2], "max_features": 20}}, True),
    ("text-tfidf-stop-porter", {"text": {"vectorizer": "tfidf", "stop_words": True, "stemming": True}}, True),
    ("text-snowball-min-df", {"text": {"stemming": True, "stemmer": "snowball", "min_df": 2}}, True),
    ("text-hashing", {"text": {"vectorizer": "hashing", "n_features": 64, "stop_words": True}}, True),
    ("text-char-wb", {"text": {"analyzer": "char_wb", "ngram_range": [2, 3]}}, True),
    ("svd", {"svd_rank": 5}, True),
    ("pca", {"pca_variance": 0.8}, False),
    ("vif", {"vif_threshold": 5.0}, False),
    ("downsample", {"resampling": "downsample"}, True),
    ("class-weight", {"resampling": "class_weight"}, True),
]


def _model(spec: FeatureSpec, options: FeatureOptions) -> Pipeline:
    return Pipeline([("preprocess", build_preprocessor(spec, options, seed=0)),
                     ("model", LogisticRegression(max_iter=100))])


@pytest.mark.parametrize(("options", "text"), [pytest.param(o, t, id=i) for i, o, t in CASES])
def test_every_option_fits_and_scores_raw_rows(options, text, train, test_rows):
    opts = FeatureOptions.model_validate(options)
    spec = _spec(text)
    fitted = resample(train, "y", opts.resampling, seed=0)
    model = _model(spec, opts)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no silent problems (unknown categories, empty bins, ...)
        warnings.simplefilter("ignore", ConvergenceWarning)  # unscaled income converges slowly, on purpose
        model.fit(fitted.frame.drop(columns="y"), fitted.frame["y"], model__sample_weight=fitted.sample_weight)
        proba = model.predict_proba(test_rows.drop(columns="y"))
    assert proba.shape == (len(test_rows), 2) and np.isfinite(proba).all()
    assert 0 <= model.score(test_rows.drop(columns="y"), test_rows["y"]) <= 1
    restored = pickle.loads(pickle.dumps(model))  # the tokenizer and every transformer pickle
    np.testing.assert_allclose(restored.predict_proba(test_rows.drop(columns="y")), proba)
    assert clone(model).get_params()["preprocess__columns__remainder"] == "drop"


def test_scaler_and_imputer_learn_from_training_rows_only(train, test_rows):
    model = _model(_spec(), FeatureOptions()).fit(train.drop(columns="y"), train["y"])
    numeric = model["preprocess"]["columns"].named_transformers_["numeric"]
    imputer, scaler = numeric.named_steps["simpleimputer"], numeric.named_steps["standardscaler"]
    np.testing.assert_allclose(imputer.statistics_, train[["age", "income", "edu"]].median())
    assert scaler.mean_[1] == pytest.approx(train["income"].mean())
    assert scaler.mean_[1] != pytest.approx(test_rows["income"].mean(), rel=0.1)
    model.predict(test_rows.drop(columns="y"))  # scoring changes nothing learned
    assert scaler.mean_[1] == pytest.approx(train["income"].mean())
    vocabulary = model["preprocess"]["columns"].named_transformers_["text_note"][-1].vocabulary_
    assert "unseenword" not in vocabulary and set(vocabulary) <= {w for w in WORDS if len(w) > 1}


def test_unseen_and_rare_categories(train, test_rows):
    spec = _spec(text=False)
    onehot = build_preprocessor(spec, FeatureOptions()).fit(train)
    names = list(onehot.get_feature_names_out())
    out = pd.DataFrame(onehot.transform(test_rows), columns=names)
    colour_columns = [n for n in names if n.startswith("categorical__colour_")]
    assert (out.loc[:2, colour_columns] == 0).all().all()  # "purple": no column lights up
    rare = build_preprocessor(spec, FeatureOptions(rare_category_min_frequency=20)).fit(train)
    encoder = rare["columns"].named_transformers_["categorical"][-1]
    assert list(encoder.infrequent_categories_[0]) == ["teal"] and encoder.infrequent_categories_[1] is None
    assert "categorical__colour_infrequent_sklearn" in rare.get_feature_names_out()
    codes = build_preprocessor(spec, FeatureOptions(categorical_encoding="ordinal")).fit(train).transform(test_rows)
    assert (codes[:3, -2] == -1).all()  # unseen colour -> -1


def test_binning_interactions_polynomial_feature_names(train):
    options = FeatureOptions(binning={"columns": ["age"], "n_bins": 4}, interactions=[("income", "edu")],
                             polynomial_degree=2, impute_indicator=False)
    names = list(build_preprocessor(_spec(False), options).fit(train).get_feature_names_out())
    assert "numeric__income^2" in names and "numeric__income edu" in names and "numeric__age" not in names
    assert sum(n.startswith("binned__age_") for n in names) == 4
    assert "interactions__income*edu" in names


def test_options_reject_unknown_keys_and_contradictions():
    with pytest.raises(ValidationError, match="extra"):
        FeatureOptions.model_validate({"numeric_scalling": "standard"})
    with pytest.raises(ValidationError, match="one reduction"):
        FeatureOptions(pca_variance=0.9, svd_rank=3)
    with pytest.raises(ValidationError, match="analyzer='word'"):
        FeatureOptions.model_validate({"text": {"analyzer": "char_wb", "stemming": True}})
    with pytest.raises(ValidationError, match="hashing"):
        FeatureOptions.model_validate({"text": {"vectorizer": "hashing", "max_features": 10}})
    with pytest.raises(ValidationError):
        FeatureOptions(resampling="smote")
    with pytest.raises(ConfigError, match="binning.columns"):
        build_preprocessor(_spec(), FeatureOptions(binning={"columns": ["colour"]}))
    with pytest.raises(ConfigError, match="interactions"):
        build_preprocessor(_spec(), FeatureOptions(interactions=[("age", "nope")]))
    with pytest.raises(ConfigError, match="svd_rank"):
        build_preprocessor(_spec(text=True), FeatureOptions(pca_variance=0.9))


def test_per_model_overrides_merge_and_revalidate():
    base = FeatureOptions(numeric_scaling="minmax", svd_rank=4)
    merged = base.merged({"categorical_encoding": "ordinal", "svd_rank": None})
    assert (merged.numeric_scaling, merged.categorical_encoding, merged.svd_rank) == ("minmax", "ordinal", None)
    assert base.merged(None) is base
    with pytest.raises(ValidationError):
        base.merged({"pca_variance": 0.9})


def test_missing_categories_are_imputed_whatever_their_spelling():
    frame = pd.DataFrame({"colour": ["red", None, np.nan, "red", pd.NA], "city": ["a", "b", "b", None, "b"]})
    encoded = build_preprocessor(FeatureSpec("binary", "y", [], [], ["colour", "city"]), FeatureOptions())
    assert list(encoded.fit(frame).get_feature_names_out()) == [
        "categorical__colour_red", "categorical__city_a", "categorical__city_b"]


def test_defaults_match_the_existing_preprocessor(train):
    new = build_preprocessor(_spec(False), FeatureOptions()).fit_transform(train)
    old = make_preprocessor(_spec(False), encoding="onehot", scale=True).fit_transform(train)
    np.testing.assert_allclose(new, old, atol=1e-6)


def test_tokenizer_stop_words_stemming_and_pickle():
    assert Tokenizer()("The loans, running late!") == ["the", "loans", "running", "late"]
    assert Tokenizer(stop_words=True, stemmer="porter")("The loans, running late!") == ["loan", "run", "late"]
    snowball = Tokenizer(stemmer="snowball")
    assert snowball("generously") == ["generous"]
    assert pickle.loads(pickle.dumps(snowball))("generously") == ["generous"]


def test_vif_table_matches_statsmodels():
    from statsmodels.stats.outliers_influence import variance_inflation_factor

    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 4))
    x[:, 3] = x[:, 0] + 0.3 * x[:, 1] + 0.1 * rng.normal(size=300)
    frame = pd.DataFrame(x, columns=list("abcd"))
    exog = np.column_stack([np.ones(len(x)), x])
    expected = {c: variance_inflation_factor(exog, i + 1) for i, c in enumerate(frame.columns)}
    got = vif_table(frame).set_index("feature")["vif"]
    assert list(got.index[:2]) == ["d", "a"]
    for column, value in expected.items():
        assert got[column] == pytest.approx(value, rel=1e-6)
    degenerate = vif_table(frame.assign(const=1.0, total=frame["a"] + frame["b"])).set_index("feature")["vif"]
    assert np.isinf(degenerate[["const", "total", "a", "b"]]).all()
    for column in "cd":  # outside the dependence: regressing on `total` adds nothing to a and b
        assert degenerate[column] == pytest.approx(expected[column], rel=1e-6)


def test_vif_filter_drops_collinear_columns_learned_on_train():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 3))
    frame = pd.DataFrame({"a": x[:, 0], "b": x[:, 1], "a2": x[:, 0] * 2 + 0.05 * rng.normal(size=200),
                          "c": x[:, 2], "k": np.ones(200)})
    vif = VifFilter(threshold=5).fit(frame)
    assert vif.dropped_[0] == "k" and len(vif.dropped_) == 2 and vif.dropped_[1] in ("a", "a2")
    assert {"b", "c"} <= set(vif.get_feature_names_out())
    assert (vif.vif_["vif"] <= 5).all()
    assert vif.transform(frame.iloc[:5] * 100).shape == (5, 3)  # scoring rows are not re-examined


@parametrize_with_checks([VifFilter(), PairwiseProducts(pairs=((0, 1),))])
def test_custom_transformers_follow_the_sklearn_contract(estimator, check):
    check(estimator)


def test_downsampling_is_seeded_and_balances_training_rows(train):
    once, again = downsample(train, "y", seed=3), downsample(train, "y", seed=3)
    counts = once["y"].value_counts()
    assert counts.nunique() == 1 and counts.iloc[0] == train["y"].value_counts().min()
    assert once.index.equals(again.index) and once.index.is_monotonic_increasing
    assert not once.index.equals(downsample(train, "y", seed=4).index)
    with pytest.raises(DataError, match="1 class"):
        downsample(train.assign(y=1), "y", seed=0)


def test_class_weights_are_balanced(train):
    weights = balanced_class_weights(train["y"])
    counts = train["y"].value_counts()
    for label, weight in weights.items():
        assert weight == pytest.approx(len(train) / (2 * counts[label]))
    result = resample(train, "y", "class_weight", seed=0)
    assert result.frame is train and result.sample_weight.sum() == pytest.approx(len(train))


def test_feature_summary_and_report(train):
    spec = _spec(text=False)
    cases = {"pca": FeatureOptions(pca_variance=0.8, resampling="downsample"),
             "vif": FeatureOptions(vif_threshold=5.0, resampling="class_weight"), "plain": FeatureOptions()}
    summaries = {}
    for name, options in cases.items():
        fitted = resample(train, "y", options.resampling, seed=0)
        pre = build_preprocessor(spec, options).fit(fitted.frame)
        summaries[name] = feature_summary(pre, spec, options, train=fitted.frame, resampled=fitted)
    steps = {s["step"]: s for s in summaries["pca"]["steps"]}
    assert steps["inputs"]["features"] == 5 and steps["columns"]["detail"]["categorical"] == 7
    assert steps["pca"]["features"] == len(summaries["pca"]["explained_variance"]) < steps["columns"]["features"]
    assert summaries["pca"]["class_balance"]["after"][0] == summaries["pca"]["class_balance"]["after"][1]
    vif_steps = {s["step"]: s for s in summaries["vif"]["steps"]}
    assert vif_steps["vif"]["features"] < vif_steps["columns"]["features"] and summaries["vif"]["vif"]
    assert summaries["plain"]["vif"] and any(r["vif"] is None for r in summaries["plain"]["vif"])  # one-hot trap
    page = render_features_report(summaries, title="Features", lineage={"commit": "abc"})
    assert "<svg" in page and "Variance inflation factors" in page and "class_weight" in page
    assert not re.search(r"<(script|link|img)[^>]+(src|href)=[\"']?https?:", page)
    stored = json.loads(json.dumps(summaries, sort_keys=True))  # as the report stage reads summary.json
    built = "; ".join(f"{k}: {v}" for k, v in steps["inputs"]["detail"].items())  # feature_summary's order
    assert built.startswith("numeric: ") and render_features_report(stored, title="Features", lineage={}).count(
        f"<td>{built}</td>") == 3, "counts in role order, not sorted"
