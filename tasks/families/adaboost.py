"""AdaBoost (SAMME for classification, AdaBoost.R2 for regression) over shallow trees of depth `max_depth`."""

from sklearn.ensemble import AdaBoostClassifier, AdaBoostRegressor
from sklearn.pipeline import Pipeline
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

from tasks.families import BuildContext, Family
from tasks.families._common import COMPACT_TEXT_FEATURES, design


def build(ctx: BuildContext, hp: dict) -> Pipeline:
    regression = ctx.spec.problem_type == "regression"
    max_depth = hp.pop("max_depth", 3 if regression else 1)
    tree = (DecisionTreeRegressor if regression else DecisionTreeClassifier)(max_depth=max_depth)
    cls = AdaBoostRegressor if regression else AdaBoostClassifier
    return Pipeline([
        ("preprocess", design(ctx, encoding="ordinal", scale=False, text_features=COMPACT_TEXT_FEATURES)),
        ("model", cls(estimator=tree, random_state=ctx.seed, **hp)),
    ])


FAMILY = Family(name="adaboost", problem_types=frozenset({"binary", "multiclass", "regression"}), build=build)
