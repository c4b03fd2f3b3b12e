"""Check: every model in `params.yaml` names a known family that supports its problem and accepts its
hyperparameters (names and types), before any stage that needs the family's module runs."""

from __future__ import annotations

import re
import typing
from dataclasses import replace
from functools import cache
from typing import Any

from pydantic import ConfigDict, TypeAdapter, ValidationError
from sklearn.base import BaseEstimator
from sklearn.utils._param_validation import InvalidParameterError, validate_parameter_constraints

from tasks.core.artefacts import FeatureSpec
from tasks.core.config import Params, SearchDimension
from tasks.core.errors import ConfigError
from tasks.families import BuildContext, Family, build_estimator, explicit_features, get_family
from tasks.families.ensemble import FAMILY_NAME, member_names

STRICT = ConfigDict(arbitrary_types_allowed=True, strict=True)  # YAML gives typed values: no "3" -> 3 coercion


def check_models(params: Params) -> dict[str, dict[str, str]]:
    """All problems found in one pass; returns model -> {problem, family} when everything is buildable.

    Models are built on the declared column roles; for problems whose roles are inferred from the data
    (`featurize.<problem>.infer`) on those plus a placeholder numeric and categorical column (types need no data).
    """
    problems, catalogue = [], {}
    for name, model in params.train.items():
        ingest, roles = params.ingest[model.problem], params.featurize[model.problem]
        spec = FeatureSpec(problem_type=ingest.problem_type, target=ingest.target, numeric=roles.numeric,
                           ordinal=roles.ordinal, categorical=roles.categorical, text=roles.text)
        if roles.infer:
            spec = replace(spec, numeric=[*spec.numeric, "_inferred_numeric"],
                           categorical=[*spec.categorical, "_inferred_categorical"])
        where = f"problems.{model.problem}.models.{model.name}"
        try:
            family = get_family(model.family)
            options = explicit_features(roles.options, model.features)
            ctx = BuildContext(spec=spec, seed=params.seed, features=options)
            wrong = check_hyperparameters(family, ctx, model.hyperparameters)
            if model.family == FAMILY_NAME:
                siblings = params.models(model.problem)
                member_names(model, siblings, {m.key for m in siblings if get_family(m.family).kind == "supervised"})
            wrong_space = [] if model.tune is None else space_errors(family, ctx, model.hyperparameters,
                                                                      model.tune.space)
        except ConfigError as exc:
            problems.append(f"  {where}: {exc}")
            continue
        if wrong or wrong_space:
            problems.extend(f"  {where}.hyperparameters.{line}" for line in wrong)
            problems.extend(f"  {where}.tune.space.{line}" for line in wrong_space)
            continue
        catalogue[name] = {"problem": model.problem, "family": model.family}
    if problems:
        raise ConfigError("params.yaml names models that cannot be built:\n" + "\n".join(problems))
    return catalogue


def check_hyperparameters(family: Family, ctx: BuildContext, hyperparameters: dict[str, Any]) -> list[str]:
    """One line per hyperparameter of the wrong type or value, as `<name>: got <value>; expected <what>`.

    Each value is checked against the estimator in the built pipeline that declares it (the innermost one): its
    scikit-learn parameter constraints where it has them, else its constructor's type annotation. A build that
    fails (an unknown name, or a type the family itself trips on) is a ConfigError; then the types are checked
    against the family's default pipeline first, so a wrong type is still named.
    """
    try:
        built = build_estimator(family, ctx, hyperparameters)
    except ConfigError:
        wrong = type_errors(build_estimator(family, ctx, {}), hyperparameters)
        if wrong:
            return wrong
        raise
    return type_errors(built, hyperparameters)


def space_errors(family: Family, ctx: BuildContext, hyperparameters: dict[str, Any],
                 space: dict[str, SearchDimension]) -> list[str]:
    """One line per search dimension the family does not take at one of its ends (or choices), as
    `<name>: <why>`."""
    lines = []
    for name, dim in space.items():
        for value in dim.ends:
            try:
                wrong = check_hyperparameters(family, ctx, {**hyperparameters, name: value})
            except ConfigError as exc:
                wrong = [str(exc)]
            if wrong:
                lines.append(f"{name}: {wrong[0]}")
                break
    return lines


def type_errors(estimator: BaseEstimator, hyperparameters: dict[str, Any]) -> list[str]:
    """The wrong hyperparameters of a built pipeline; a name no estimator declares (a family's own, such as an SVM's
    `max_train_rows`) is the family's to check."""
    owners = nested_estimators(estimator)
    wrong = []
    for name, value in hyperparameters.items():
        owner = next((est for est in reversed(owners) if name in est.get_params(deep=False)), None)
        expected = None if owner is None else mismatch(owner, name, value)
        if expected:
            wrong.append(f"{name}: got {value!r}; expected {expected} ({type(owner).__name__}.{name}); "
                         "fix the value in params.yaml")
    return wrong


def nested_estimators(estimator: BaseEstimator) -> list[BaseEstimator]:
    """`estimator` and every estimator inside it, shallowest first."""
    nested = [(key.count("__"), value) for key, value in estimator.get_params(deep=True).items()
              if hasattr(value, "get_params") and not isinstance(value, type)]
    return [estimator, *(value for _, value in sorted(nested, key=lambda pair: pair[0]))]


def mismatch(owner: BaseEstimator, name: str, value: Any) -> str | None:
    """What `owner` expects of parameter `name` when `value` does not fit, else None."""
    constraints = getattr(owner, "_parameter_constraints", {})
    if name in constraints:
        try:
            validate_parameter_constraints({name: constraints[name]}, {name: value}, caller_name=type(owner).__name__)
        except InvalidParameterError as exc:
            found = re.search(r" must be (.*)\. Got .* instead\.$", str(exc), flags=re.DOTALL)
            return found.group(1) if found else str(exc)
        return None
    annotation = annotations(type(owner)).get(name)
    if annotation is None:
        return None
    adapter = TypeAdapter(annotation, config=STRICT)
    candidates = [value, tuple(value)] if isinstance(value, list) else [value]  # YAML has lists, not tuples
    for candidate in candidates:
        try:
            adapter.validate_python(candidate)
            return None
        except ValidationError:
            continue
    return re.sub(r"\b(typing|collections\.abc)\.", "", str(annotation)).replace("<class '", "").replace("'>", "")


@cache
def annotations(cls: type) -> dict[str, Any]:
    """Constructor parameter annotations of `cls` and its bases (the nearest class wins)."""
    hints: dict[str, Any] = {}
    for klass in reversed(cls.__mro__):
        if "__init__" in vars(klass):
            try:
                hints.update(typing.get_type_hints(klass.__init__))
            except (NameError, TypeError):  # an annotation that does not resolve: no type to check against
                continue
    hints.pop("return", None)
    return hints
