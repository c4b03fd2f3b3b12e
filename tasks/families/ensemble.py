"""Weighted ensemble of the problem's other models (`tasks.ensemble.GreedyEnsemble`): hyperparameters `members`
(`all`, the default, or a list of model names), `rounds` (of greedy selection) and optionally `metric` (the
problem's ranking metric by default). The train flow fits it after its members, on the validation split."""

from tasks.ensemble import FAMILY_NAME, GreedyEnsemble
from tasks.families import SUPERVISED, BuildContext, Family


def build(ctx: BuildContext, hp: dict) -> GreedyEnsemble:
    hp.pop("members", None)  # resolved to fitted models by the train flow (tasks.ensemble.member_names)
    return GreedyEnsemble(problem_type=ctx.spec.problem_type, **hp)


FAMILY = Family(name=FAMILY_NAME, problem_types=SUPERVISED, build=build)
