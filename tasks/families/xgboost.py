"""XGBoost gradient-boosted trees (histogram method; `device` is "cuda" when routed to a GPU).

XGBoost needs class labels 0..K-1, so classifiers are wrapped to encode and decode the labels. Progress is logged
every tenth of the boosting rounds.
"""

from sklearn.pipeline import Pipeline

from tasks.families import BuildContext, Family
from tasks.families._common import COMPACT_TEXT_FEATURES, design, reject_unknown
from tasks.ml.estimators import LabelEncodedClassifier, progress_period


def build(ctx: BuildContext, hp: dict) -> Pipeline:
    from xgboost import XGBClassifier, XGBRegressor

    from tasks.families._xgboost_progress import LogProgress

    regression = ctx.spec.problem_type == "regression"
    model = (XGBRegressor if regression else XGBClassifier)(tree_method="hist", random_state=ctx.seed,
                                                             device=ctx.device)
    reject_unknown(model, hp)
    model.set_params(**hp)
    if model.callbacks is None:
        model.set_params(callbacks=[LogProgress(every=progress_period(model.n_estimators or 100))])
    return Pipeline([
        ("preprocess", design(ctx, encoding="ordinal", scale=False, text_features=COMPACT_TEXT_FEATURES)),
        ("model", model if regression else LabelEncodedClassifier(model)),
    ])


FAMILY = Family(
    name="xgboost", problem_types=frozenset({"binary", "multiclass", "regression"}), build=build, gpu=True,
    native_missing=True, libraries=("xgboost",))
