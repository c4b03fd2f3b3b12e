"""Bagged decision trees (bootstrap samples of rows; `max_features` also samples columns per tree)."""

from sklearn.ensemble import BaggingClassifier, BaggingRegressor
from sklearn.pipeline import Pipeline

from tasks.families import BuildContext, Family
from tasks.families._common import COMPACT_TEXT_FEATURES, design


def build(ctx: BuildContext, hp: dict) -> Pipeline:
    cls = BaggingRegressor if ctx.spec.problem_type == "regression" else BaggingClassifier
    return Pipeline([
        ("preprocess", design(ctx, encoding="ordinal", scale=False, text_features=COMPACT_TEXT_FEATURES)),
        ("model", cls(random_state=ctx.seed, **hp)),
    ])


FAMILY = Family(name="bagging", problem_types=frozenset({"binary", "multiclass", "regression"}), build=build)
