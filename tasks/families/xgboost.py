"""XGBoost gradient-boosted trees (histogram method; `device` is "cuda" when routed to a GPU)."""

from sklearn.pipeline import Pipeline

from tasks.families import BuildContext, Family
from tasks.preprocess import build_preprocessor


def build(ctx: BuildContext, hp: dict) -> Pipeline:
    from xgboost import XGBClassifier, XGBRegressor

    cls = XGBRegressor if ctx.spec.problem_type == "regression" else XGBClassifier
    params = {"tree_method": "hist", "random_state": ctx.seed, "device": ctx.device, **hp}
    return Pipeline([
        ("preprocess", build_preprocessor(ctx.spec, ctx.features, seed=ctx.seed)),
        ("model", cls(**params)),
    ])


FAMILY = Family(
    name="xgboost", problem_types=frozenset({"binary", "multiclass", "regression"}), build=build, gpu=True,
    features={"categorical_encoding": "ordinal", "numeric_scaling": "none"},
)
