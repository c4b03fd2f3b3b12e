"""The model family registry.

A family is one module in this package that defines `FAMILY = Family(...)`; its name is the module name.
Adding a family is one small module plus an entry under `train:` in `params.yaml`. Modules import their heavy
libraries inside `build`, so listing the registry stays cheap.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError
from sklearn.base import BaseEstimator

from tasks.core.artefacts import FeatureSpec
from tasks.core.errors import ConfigError
from tasks.core.feature_options import FeatureOptions

SUPERVISED = frozenset({"binary", "multiclass", "regression"})


@dataclass(frozen=True)
class BuildContext:
    """What a family needs to know to build an unfitted pipeline."""

    spec: FeatureSpec
    seed: int
    device: str = "cpu"
    features: dict[str, Any] = field(default_factory=dict)  # feature options params.yaml sets explicitly


@dataclass(frozen=True)
class Family:
    """A model family: which problem types it supports, whether it can use a GPU, and how to build it (its
    preprocessing preferences live in `build`, see `tasks.families._common.design`)."""

    name: str
    problem_types: frozenset[str]
    build: Callable[[BuildContext, dict[str, Any]], BaseEstimator]
    gpu: bool = False
    native_missing: bool = False  # its estimator splits on NaN itself (feature option impute: false)
    libraries: tuple[str, ...] = ()  # distributions beyond scikit-learn's stack whose version is part of a model's key

    @property
    def kind(self) -> str:
        """'supervised', or the unsupervised task it performs on a problem's features: 'clustering',
        'decomposition' or 'generation' (these ignore the target and work on any problem)."""
        return "supervised" if self.problem_types & SUPERVISED else min(self.problem_types)


def available() -> list[str]:
    """Names of every registered family."""
    return sorted(m.name for m in pkgutil.iter_modules(__path__) if not m.name.startswith("_"))


def get_family(name: str) -> Family:
    """Look a family up by name; an unknown name fails with the list of known ones."""
    if name not in available():
        raise ConfigError(f"unknown model family {name!r}; expected one of {available()}")
    family = importlib.import_module(f"{__name__}.{name}").FAMILY
    if family.name != name:
        raise ConfigError(f"family module {name!r} declares FAMILY.name={family.name!r}; they must match")
    return family


def explicit_features(problem: FeatureOptions, overrides: dict[str, Any]) -> dict[str, Any]:
    """The feature options params.yaml sets for a model: what the problem sets explicitly, then the model's own
    (`train.<model>.features`); validated, so a wrong value fails with its name."""
    chosen = {**problem.model_dump(exclude_unset=True), **overrides}
    try:
        FeatureOptions.model_validate(chosen)
    except ValidationError as exc:
        raise ConfigError(f"invalid feature options {chosen}: {exc.errors()[0]['msg']}") from None
    return chosen


def build_estimator(family: Family, ctx: BuildContext, hyperparameters: dict[str, Any]) -> BaseEstimator:
    """Build an unfitted pipeline, rejecting unsupported problem types and unknown hyperparameters clearly."""
    if family.kind == "supervised" and ctx.spec.problem_type not in family.problem_types:
        raise ConfigError(f"family {family.name!r} does not support {ctx.spec.problem_type!r} problems; "
                          f"it supports {sorted(family.problem_types)}")
    if ctx.features.get("impute") is False and not family.native_missing:
        raise ConfigError(f"family {family.name!r} cannot take missing values (feature option impute: false); "
                          "use a family that routes them natively (xgboost, lightgbm, decision_tree, random_forest) "
                          "or remove impute: false")
    try:
        return family.build(ctx, dict(hyperparameters))
    except TypeError as exc:
        raise ConfigError(f"family {family.name!r}: invalid hyperparameters {hyperparameters}: {exc}") from None
