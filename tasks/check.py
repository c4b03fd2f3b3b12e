"""Check: every model in `params.yaml` names a known family that supports its problem and accepts its
hyperparameters, before any stage that needs the family's module runs."""

from __future__ import annotations

from tasks.config import Params
from tasks.errors import ConfigError
from tasks.families import BuildContext, build_estimator, explicit_features, get_family
from tasks.featurize import FeatureSpec


def check_models(params: Params) -> dict[str, dict[str, str]]:
    """All problems found in one pass; returns model -> {problem, family} when everything is buildable.

    Models are built on the declared column roles; for problems whose roles are inferred from the data
    (`featurize.<problem>.infer`) the family and problem type are checked here and the build happens in train.
    """
    problems, catalogue = [], {}
    for name, model in params.train.items():
        ingest, roles = params.ingest[model.problem], params.featurize[model.problem]
        spec = FeatureSpec(problem_type=ingest.problem_type, target=ingest.target, numeric=roles.numeric,
                           ordinal=roles.ordinal, categorical=roles.categorical, text=roles.text)
        try:
            family = get_family(model.family)
            options = explicit_features(roles.options, model.features)
            if family.kind == "supervised" and spec.problem_type not in family.problem_types:
                raise ConfigError(f"family {family.name!r} does not support {spec.problem_type!r} problems; "
                                  f"it supports {sorted(family.problem_types)}")
            if not roles.infer:
                build_estimator(family, BuildContext(spec=spec, seed=params.seed, features=options),
                                model.hyperparameters)
        except ConfigError as exc:
            problems.append(f"  problems.{model.problem}.models.{model.name}: {exc}")
            continue
        catalogue[name] = {"problem": model.problem, "family": model.family}
    if problems:
        raise ConfigError("params.yaml names models that cannot be built:\n" + "\n".join(problems))
    return catalogue
