"""XGBoost gradient-boosted trees (histogram method; `device` is "cuda" when routed to a GPU)."""

from sklearn.pipeline import Pipeline

from tasks.families import BuildContext, Family
from tasks.preprocess import make_preprocessor


def build(ctx: BuildContext, hp: dict) -> Pipeline:
    from xgboost import XGBClassifier, XGBRegressor

    cls = XGBRegressor if ctx.spec.problem_type == "regression" else XGBClassifier
    params = {"tree_method": "hist", "random_state": ctx.seed, "device": ctx.device, **hp}
    return Pipeline([
        ("preprocess", make_preprocessor(ctx.spec, encoding="ordinal", scale=False)),
        ("model", cls(**params)),
    ])


FAMILY = Family(
    name="xgboost", problem_types=frozenset({"binary", "multiclass", "regression"}), build=build, gpu=True
)
