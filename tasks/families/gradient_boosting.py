"""scikit-learn gradient-boosted trees on ordinal-encoded features; progress logged every tenth of the stages."""

from sklearn.pipeline import Pipeline

from tasks.families import BuildContext, Family
from tasks.families._common import COMPACT_TEXT_FEATURES, design
from tasks.ml.estimators import LoggedGradientBoostingClassifier, LoggedGradientBoostingRegressor


def build(ctx: BuildContext, hp: dict) -> Pipeline:
    regression = ctx.spec.problem_type == "regression"
    cls = LoggedGradientBoostingRegressor if regression else LoggedGradientBoostingClassifier
    return Pipeline([
        ("preprocess", design(ctx, encoding="ordinal", scale=False, text_features=COMPACT_TEXT_FEATURES)),
        ("model", cls(random_state=ctx.seed, **hp)),
    ])


FAMILY = Family(
    name="gradient_boosting", problem_types=frozenset({"binary", "multiclass", "regression"}), build=build
)
