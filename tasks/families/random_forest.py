"""Random forest on ordinal-encoded features (trees need no scaling or one-hot)."""

from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor
from sklearn.pipeline import Pipeline

from tasks.families import BuildContext, Family
from tasks.families._common import COMPACT_TEXT_FEATURES, design


def build(ctx: BuildContext, hp: dict) -> Pipeline:
    cls = RandomForestRegressor if ctx.spec.problem_type == "regression" else RandomForestClassifier
    return Pipeline([
        ("preprocess", design(ctx, encoding="ordinal", scale=False, text_features=COMPACT_TEXT_FEATURES)),
        ("model", cls(random_state=ctx.seed, **hp)),
    ])


FAMILY = Family(
    name="random_forest", problem_types=frozenset({"binary", "multiclass", "regression"}), build=build,
    native_missing=True,
)
