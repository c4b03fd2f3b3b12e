"""Random forest on ordinal-encoded features (trees need no scaling or one-hot); predictions summed in tree order."""

from sklearn.pipeline import Pipeline

from tasks.families import BuildContext, Family
from tasks.families._common import COMPACT_TEXT_FEATURES, design
from tasks.ml.estimators import OrderedForestClassifier, OrderedForestRegressor


def build(ctx: BuildContext, hp: dict) -> Pipeline:
    cls = OrderedForestRegressor if ctx.spec.problem_type == "regression" else OrderedForestClassifier
    return Pipeline([
        ("preprocess", design(ctx, encoding="ordinal", scale=False, text_features=COMPACT_TEXT_FEATURES)),
        ("model", cls(random_state=ctx.seed, **hp)),
    ])


FAMILY = Family(
    name="random_forest", problem_types=frozenset({"binary", "multiclass", "regression"}), build=build,
    native_missing=True,
)
