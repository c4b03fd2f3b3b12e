"""Logistic regression on one-hot, standardised features."""

from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline

from tasks.families import BuildContext, Family
from tasks.preprocess import build_preprocessor


def build(ctx: BuildContext, hp: dict) -> Pipeline:
    return Pipeline([
        ("preprocess", build_preprocessor(ctx.spec, ctx.features, seed=ctx.seed)),
        ("model", LogisticRegression(random_state=ctx.seed, **hp)),
    ])


FAMILY = Family(name="logistic_regression", problem_types=frozenset({"binary", "multiclass"}), build=build)
