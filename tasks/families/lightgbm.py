"""LightGBM leaf-wise gradient-boosted trees on ordinal-encoded features."""

from sklearn.pipeline import Pipeline

from tasks.families import BuildContext, Family
from tasks.families._common import COMPACT_TEXT_FEATURES, design, reject_unknown


def build(ctx: BuildContext, hp: dict) -> Pipeline:
    from lightgbm import LGBMClassifier, LGBMRegressor

    cls = LGBMRegressor if ctx.spec.problem_type == "regression" else LGBMClassifier
    model = cls(random_state=ctx.seed, verbose=-1)
    reject_unknown(model, hp)
    return Pipeline([
        ("preprocess", design(ctx, encoding="ordinal", scale=False, text_features=COMPACT_TEXT_FEATURES)),
        ("model", model.set_params(**hp)),
    ])


FAMILY = Family(name="lightgbm", problem_types=frozenset({"binary", "multiclass", "regression"}), build=build,
    native_missing=True, libraries=("lightgbm",))
