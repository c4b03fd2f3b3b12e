"""Clustering and decomposition families: k chosen on separated blobs, PCA variance threshold, SVD error by rank."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.datasets import make_blobs
from sklearn.utils.estimator_checks import parametrize_with_checks

from tasks.core.artefacts import FeatureSpec
from tasks.core.errors import ConfigError
from tasks.families import BuildContext, build_estimator, get_family
from tasks.ml.unsupervised import KMeansSelect, RankSVD, SampledAgglomerative, VariancePCA, elbow
from tests.unit.family_groups import families


def blobs(problem_type: str) -> tuple[FeatureSpec, pd.DataFrame]:
    x, blob = make_blobs(n_samples=600, centers=3, n_features=4, cluster_std=0.5, center_box=(-10, 10),
                         random_state=0)
    frame = pd.DataFrame(x, columns=["a", "b", "c", "d"]).assign(kind=np.array(["u", "v", "w"])[blob])
    spec = FeatureSpec(problem_type=problem_type, target="none", numeric=["a", "b", "c", "d"], ordinal=[],
                       categorical=["kind"])
    return spec, frame


def fit(family: str, problem_type: str, hyperparameters: dict):
    spec, frame = blobs(problem_type)
    pipeline = build_estimator(get_family(family), BuildContext(spec, seed=0), hyperparameters)
    return pipeline.fit(frame), frame


@pytest.mark.parametrize("selection", ["silhouette", "elbow"])
def test_kmeans_picks_three_clusters_on_three_separated_blobs(selection):
    pipeline, frame = fit("kmeans", "clustering", {"k_range": [2, 7], "selection": selection,
                                                   "silhouette_sample_size": 300})
    summary = pipeline[-1].summary()
    assert summary["chosen_k"] == summary["elbow_k"] == summary["silhouette_k"] == 3
    assert list(summary["inertia_by_k"]) == ["2", "3", "4", "5", "6", "7"]
    assert sorted(summary["cluster_sizes"].values()) == [200, 200, 200]
    assert pipeline.predict(frame).shape == (600,)
    assert json.loads(json.dumps(summary)) == summary


def test_elbow_is_the_knee_of_the_inertia_curve():
    assert elbow([1, 2, 3, 4, 5, 6], [100, 60, 20, 18, 16, 15]) == 3
    assert elbow([2, 3], [10, 5]) == 2


def test_agglomerative_clusters_a_sample_and_assigns_every_row():
    pipeline, frame = fit("agglomerative", "clustering", {"n_clusters": 3, "linkage": "average", "max_samples": 150})
    summary = pipeline[-1].summary()
    assert summary["clustered_rows"] == 150 and summary["silhouette"] > 0.7
    assert sorted(summary["cluster_sizes"].values()) == [200, 200, 200]
    np.testing.assert_array_equal(pipeline.predict(frame), pipeline[-1].labels_)
    assert json.loads(json.dumps(summary)) == summary


@pytest.mark.parametrize("threshold", [0.5, 0.9, 0.999])
def test_pca_keeps_the_fewest_components_reaching_the_variance_threshold(threshold):
    pipeline, frame = fit("pca", "decomposition", {"variance_threshold": threshold})
    summary = pipeline[-1].summary()
    cumulative, n = summary["cumulative_explained_variance"], summary["n_components"]
    assert cumulative[n - 1] >= threshold - 1e-9 and (n == 1 or cumulative[n - 2] < threshold)
    assert pipeline.transform(frame).shape == (600, n)
    assert json.loads(json.dumps(summary)) == summary


def test_svd_reconstruction_error_decreases_with_rank():
    errors = [fit("truncated_svd", "decomposition", {"rank": r})[0][-1].reconstruction_error_ for r in (1, 2, 4)]
    assert errors[0] > errors[1] > errors[2] >= 0
    pipeline, frame = fit("truncated_svd", "decomposition", {"rank": 4})
    by_rank = list(pipeline[-1].summary()["reconstruction_error_by_rank"].values())
    assert by_rank == sorted(by_rank, reverse=True) and by_rank[-1] == pytest.approx(errors[2], abs=1e-6)
    x = pipeline[:-1].transform(frame)
    projected = pipeline.transform(frame) @ pipeline[-1].svd_.components_
    assert np.linalg.norm(x - projected) / np.linalg.norm(x) == pytest.approx(errors[2], rel=1e-6)
    assert pipeline.transform(frame).shape == (600, 4)


SMALL = {"truncated_svd": {"rank": 4}}   # its default rank (10) is more than the blobs' 7 design columns


def test_special_cases_name_unsupervised_families():
    assert set(SMALL) <= set(families("unsupervised"))


@pytest.mark.parametrize("name", families("unsupervised"))
def test_unsupervised_families_run_on_any_problems_features_and_are_clone_able(name):
    """Built with their defaults (SMALL: where the toy data needs less) on a binary problem's features (the
    target is ignored): a label per row, or fewer components than columns."""
    spec, frame = blobs("binary")
    pipeline = build_estimator(get_family(name), BuildContext(spec, seed=0), SMALL.get(name, {}))
    assert clone(pipeline)[-1].get_params() == pipeline[-1].get_params()
    pipeline.fit(frame)
    if get_family(name).kind == "clustering":
        assert pipeline.predict(frame).shape == (600,)
    else:
        assert get_family(name).kind == "decomposition" and 1 <= pipeline.transform(frame).shape[1] < 7
    with pytest.raises(ConfigError, match="invalid hyperparameters"):
        build_estimator(get_family(name), BuildContext(spec, seed=0), {"no_such_parameter": 3})


@parametrize_with_checks([KMeansSelect(k_range=(2, 3), n_init=1), SampledAgglomerative(n_clusters=2), VariancePCA(),
                          RankSVD(rank=1)])
def test_scikit_learn_estimator_contract(estimator, check):
    check(estimator)
