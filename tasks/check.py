"""Check: every model in `params.yaml` names a known family that supports its problem and accepts its
hyperparameters, before any stage that needs the family's module runs."""

from __future__ import annotations

from tasks.config import Params
from tasks.errors import ConfigError
from tasks.families import BuildContext, build_estimator, feature_options, get_family
from tasks.featurize import FeatureSpec


def check_models(params: Params) -> dict[str, dict[str, str]]:
    """All problems found in one pass; returns model -> {problem, family} when everything is buildable."""
    problems, catalogue = [], {}
    for name, model in params.train.items():
        ingest = params.ingest[model.problem]
        spec = FeatureSpec(problem_type=ingest.problem_type, target=ingest.target, numeric=[], ordinal=[],
                           categorical=[])
        try:
            family = get_family(model.family)
            options = feature_options(family, params.featurize[model.problem].options, model.features)
            build_estimator(family, BuildContext(spec=spec, seed=params.seed, features=options),
                            model.hyperparameters)
        except ConfigError as exc:
            problems.append(f"  train.{name}: {exc}")
            continue
        catalogue[name] = {"problem": model.problem, "family": model.family}
    if problems:
        raise ConfigError("params.yaml names models that cannot be built:\n" + "\n".join(problems))
    return catalogue
