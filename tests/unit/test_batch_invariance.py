"""Batch invariance: every family's fitted pipeline scores a frame the same whether it sees it at once or in chunks
(three uneven chunks and a one-row chunk). A step that learns from the rows it scores (a scaler re-fitted at
predict time, a per-batch normalisation) gives different scores by chunk and fails here."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_digits, make_blobs

from tasks.core.artefacts import FeatureSpec
from tasks.families import BuildContext, available, build_estimator, get_family
from tests.unit.test_families_classic import CLASSIC, ENSEMBLES, OPENMP, WORDS, frame

CUTS = [0, 1, 38, 97, 150]  # chunks of 1, 37, 59 and 53 rows
KERAS_FAST = {"epochs": 1, "batch_size": 64}
UNSCORED = {"keras_gan": "generates digits; it scores no rows"}


def classic(name: str, problem: str) -> tuple[FeatureSpec, pd.DataFrame, pd.DataFrame, dict]:
    train, spec = frame(problem, rows=300, seed=0)
    test, _ = frame(problem, rows=CUTS[-1], seed=1)
    quick = {"n_estimators": 10, **({"n_jobs": 1} if name in OPENMP else {})} if name in ENSEMBLES else {}
    return spec, train, test, quick


def keras_tabular(problem: str) -> tuple[FeatureSpec, pd.DataFrame, pd.DataFrame, dict]:
    train, spec = frame(problem, rows=300, seed=0)
    test, _ = frame(problem, rows=CUTS[-1], seed=1)
    return spec, train, test, {"hidden_layers": [8], "batch_norm": True, **KERAS_FAST}


def pixels() -> tuple[FeatureSpec, pd.DataFrame, pd.DataFrame, dict]:
    x, y = load_digits(return_X_y=True)
    data = pd.DataFrame(x, columns=[f"p{i}" for i in range(64)]).assign(y=y.astype(str))
    spec = FeatureSpec(problem_type="multiclass", target="y", numeric=[f"p{i}" for i in range(64)],
                       ordinal=[], categorical=[], classes=sorted(data["y"].unique()))
    return spec, data.iloc[:300], data.iloc[300:300 + CUTS[-1]], {"image_shape": [8, 8, 1], "filters": [4],
                                                                  "dense_layers": [8], **KERAS_FAST}


def texts(seed: int, rows: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    labels = rng.choice(["yes", "no"], rows)
    return pd.DataFrame({"review": [" ".join(rng.choice(WORDS[label] + ["film"], 5)) for label in labels],
                         "y": labels})


def reviews() -> tuple[FeatureSpec, pd.DataFrame, pd.DataFrame, dict]:
    spec = FeatureSpec(problem_type="binary", target="y", numeric=[], ordinal=[], categorical=[], text=["review"],
                       classes=["no", "yes"])
    return spec, texts(0, 300), texts(1, CUTS[-1]), {"sequence_length": 6, "embedding_dim": 4, "units": 4,
                                                     **KERAS_FAST}


def blobs(name: str, problem: str) -> tuple[FeatureSpec, pd.DataFrame, pd.DataFrame, dict]:
    x, _ = make_blobs(n_samples=300 + CUTS[-1], centers=3, n_features=3, random_state=0)
    data = pd.DataFrame(x, columns=["a", "b", "c"])
    spec = FeatureSpec(problem_type=problem, target="none", numeric=["a", "b", "c"], ordinal=[], categorical=[])
    hp = {"kmeans": {"k_range": [2, 4]}, "agglomerative": {"n_clusters": 3}, "truncated_svd": {"rank": 2}}.get(name, {})
    return spec, data.iloc[:300], data.iloc[300:], hp


def ensemble(problem: str) -> tuple[FeatureSpec, pd.DataFrame, pd.DataFrame, dict]:
    """Two fitted classic members; the ensemble itself is fitted (weights chosen) on the same rows."""
    spec, train, test, _ = classic("decision_tree", problem)
    x, y = train.drop(columns=[spec.target]), train[spec.target]
    linear = "ridge" if problem == "regression" else "logistic_regression"
    members = [(n, build_estimator(get_family(n), BuildContext(spec=spec, seed=0), {}).fit(x, y))
               for n in (linear, "decision_tree")]
    metric = {"binary": "roc_auc", "multiclass": "f1_macro", "regression": "rmse"}[problem]
    return spec, train, test, {"estimators": members, "metric": metric, "rounds": 5}


CASES = {
    **{f"{name}-{problem}": (name, lambda n=name, p=problem: classic(n, p))
       for name in CLASSIC for problem in sorted(get_family(name).problem_types)},
    **{f"keras_dense-{problem}": ("keras_dense", lambda p=problem: keras_tabular(p))
       for problem in ("binary", "multiclass", "regression")},
    **{f"ensemble-{problem}": ("ensemble", lambda p=problem: ensemble(p))
       for problem in ("binary", "multiclass", "regression")},
    "keras_cnn-multiclass": ("keras_cnn", pixels),
    "keras_lstm-binary": ("keras_lstm", reviews),
    "keras_gru-binary": ("keras_gru", reviews),
    **{f"{name}-{problem}": (name, lambda n=name, p=problem: blobs(n, p))
       for name, problem in [("kmeans", "clustering"), ("agglomerative", "clustering"), ("pca", "decomposition"),
                             ("truncated_svd", "decomposition")]},
}


def outputs(pipeline, x: pd.DataFrame) -> dict[str, np.ndarray]:
    """Everything the pipeline scores a frame with: labels or values, probabilities, projections."""
    methods = [m for m in ("predict", "predict_proba", "transform") if hasattr(pipeline, m)]
    return {method: np.asarray(getattr(pipeline, method)(x)) for method in methods}


def test_every_family_that_scores_rows_has_a_case():
    covered = {name for name, _ in CASES.values()}
    assert covered | set(UNSCORED) == set(available())


@pytest.mark.parametrize("case", list(CASES))
def test_scores_in_chunks_equal_scores_at_once(case: str) -> None:
    name, make = CASES[case]
    spec, train, test, hp = make()
    pipeline = build_estimator(get_family(name), BuildContext(spec=spec, seed=0), hp)
    target = spec.target if spec.target in train else None
    pipeline.fit(train.drop(columns=[target]) if target else train, train[target] if target else None)
    x = test.drop(columns=[target]) if target else test
    whole = outputs(pipeline, x)
    assert whole, f"{name} has neither predict nor transform"
    chunks = [outputs(pipeline, x.iloc[start:stop]) for start, stop in zip(CUTS, CUTS[1:], strict=False)]
    for method, at_once in whole.items():
        in_chunks = np.concatenate([chunk[method] for chunk in chunks])
        assert in_chunks.shape == at_once.shape
        if at_once.dtype.kind in "fc":
            np.testing.assert_allclose(in_chunks, at_once, rtol=0, atol=1e-5, err_msg=f"{name}.{method}")
        else:
            np.testing.assert_array_equal(in_chunks, at_once, err_msg=f"{name}.{method}")
