"""Every registered family is in exactly one test group, and each group's module exists and is not empty."""

from __future__ import annotations

import pytest

from tasks.families import available
from tests.conftest import ROOT
from tests.unit.family_groups import GROUPS, families


def test_the_groups_partition_the_registry() -> None:
    grouped = [name for kind in GROUPS for name in families(kind)]
    assert sorted(grouped) == available() and len(grouped) == len(set(grouped))
    assert families("ensemble") == ["ensemble"]
    assert {"kmeans", "pca"} <= set(families("unsupervised")) and "keras_dense" in families("keras")
    assert {"xgboost", "logistic_regression"} <= set(families("classic"))


@pytest.mark.parametrize("kind", list(GROUPS))
def test_each_group_is_tested_by_its_module(kind: str) -> None:
    assert families(kind) and (ROOT / GROUPS[kind]).is_file()


def test_an_unknown_group_is_refused() -> None:
    with pytest.raises(KeyError, match="classic"):
        families("generative")
