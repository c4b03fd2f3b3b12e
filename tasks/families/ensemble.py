"""Weighted ensemble of the problem's other models (`tasks.ml.ensemble.GreedyEnsemble`): hyperparameters `members`
(`all`, the default, or a list of model names), `rounds` (of greedy selection) and optionally `metric` (the
problem's ranking metric by default). The train flow fits it after its members, on the validation split.

Member resolution lives here, not in `tasks.ml.ensemble`, so that only ensemble models' keys include the estimator's
code (the train flow imports this module, which the other families' keys do not follow).
"""

from collections.abc import Sequence
from pathlib import Path

from tasks.core.config import ModelConfig
from tasks.core.errors import ConfigError
from tasks.families import SUPERVISED, BuildContext, Family
from tasks.ml.ensemble import GreedyEnsemble, SavedModel

FAMILY_NAME = "ensemble"


def member_names(cfg: ModelConfig, models: Sequence[ModelConfig], supervised: set[str]) -> list[str]:
    """The keys of an ensemble's members: `members: all` (default) is every other supervised, non-ensemble model of
    its problem (`supervised`: the keys of the problem's supervised models); a list names them without the problem
    prefix."""
    others = [m.key for m in models if m.key in supervised and m.family != FAMILY_NAME]
    chosen = cfg.hyperparameters.get("members", "all")
    if chosen == "all":
        names = others
    elif isinstance(chosen, list) and chosen and all(isinstance(n, str) for n in chosen):
        names = [f"{cfg.problem}-{n}" for n in chosen]
        wrong = [n for n, key in zip(chosen, names, strict=True) if key not in others]
        if wrong:
            raise ConfigError(f"{cfg.key}: members {wrong} are not supervised, non-ensemble models of "
                              f"{cfg.problem}; expected some of {[o.removeprefix(cfg.problem + '-') for o in others]}")
    else:
        raise ConfigError(f"{cfg.key}: members must be 'all' or a non-empty list of model names, not {chosen!r}")
    if not names:
        raise ConfigError(f"{cfg.key}: an ensemble needs at least one supervised model of {cfg.problem}")
    return names


def load_member(path: Path) -> SavedModel:
    """A member's saved model, kept as its file's bytes (`tasks.ml.ensemble.SavedModel`: the ensemble's file is then
    the same on every fit)."""
    return SavedModel.load(path)


def build(ctx: BuildContext, hp: dict) -> GreedyEnsemble:
    hp.pop("members", None)  # resolved to fitted models by the train flow (member_names)
    return GreedyEnsemble(problem_type=ctx.spec.problem_type, **hp)


FAMILY = Family(name=FAMILY_NAME, problem_types=SUPERVISED, build=build)
