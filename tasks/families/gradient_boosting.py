"""scikit-learn gradient-boosted trees on ordinal-encoded features."""

from sklearn.ensemble import GradientBoostingClassifier, GradientBoostingRegressor
from sklearn.pipeline import Pipeline

from tasks.families import BuildContext, Family
from tasks.families._common import design


def build(ctx: BuildContext, hp: dict) -> Pipeline:
    cls = GradientBoostingRegressor if ctx.spec.problem_type == "regression" else GradientBoostingClassifier
    return Pipeline([
        ("preprocess", design(ctx.spec, encoding="ordinal", scale=False)),
        ("model", cls(random_state=ctx.seed, **hp)),
    ])


FAMILY = Family(
    name="gradient_boosting", problem_types=frozenset({"binary", "multiclass", "regression"}), build=build
)
