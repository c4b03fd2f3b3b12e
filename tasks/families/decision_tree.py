"""A single CART decision tree on ordinal-encoded features (criterion gini/entropy, or squared_error)."""

from sklearn.pipeline import Pipeline
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

from tasks.families import BuildContext, Family
from tasks.families._common import COMPACT_TEXT_FEATURES, design


def build(ctx: BuildContext, hp: dict) -> Pipeline:
    cls = DecisionTreeRegressor if ctx.spec.problem_type == "regression" else DecisionTreeClassifier
    return Pipeline([
        ("preprocess", design(ctx, encoding="ordinal", scale=False, text_features=COMPACT_TEXT_FEATURES)),
        ("model", cls(random_state=ctx.seed, **hp)),
    ])


FAMILY = Family(
    name="decision_tree", problem_types=frozenset({"binary", "multiclass", "regression"}), build=build,
    native_missing=True,
)
