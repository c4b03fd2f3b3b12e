"""Lasso regression (L1 penalty `alpha`, which zeroes weak coefficients) on one-hot, standardised features."""

from sklearn.linear_model import Lasso
from sklearn.pipeline import Pipeline

from tasks.families import BuildContext, Family
from tasks.families._common import design


def build(ctx: BuildContext, hp: dict) -> Pipeline:
    return Pipeline([
        ("preprocess", design(ctx, encoding="onehot", scale=True)),
        ("model", Lasso(random_state=ctx.seed, **hp)),
    ])


FAMILY = Family(name="lasso", problem_types=frozenset({"regression"}), build=build)
