"""k-nearest neighbours; the distance (`metric`) decides how features are encoded.

- euclidean, manhattan, cosine: one-hot categoricals and standardised numerics (TF-IDF text);
- jaccard: every feature a present/absent flag: one-hot categoricals, numerics cut into `n_bins` quantile bins;
- hamming: the share of differing codes: ordinal-coded categoricals and numeric bin codes.
"""

from sklearn.neighbors import KNeighborsClassifier, KNeighborsRegressor
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer

from tasks.core.errors import ConfigError
from tasks.families import BuildContext, Family
from tasks.families._common import COMPACT_TEXT_FEATURES, design

METRICS = ("euclidean", "manhattan", "cosine", "jaccard", "hamming")


def is_positive(x):
    """Present/absent flags for the Jaccard distance: a feature is present when it is above zero."""
    return x > 0


def build(ctx: BuildContext, hp: dict) -> Pipeline:
    metric, n_bins = hp.pop("metric", "euclidean"), hp.pop("n_bins", 5)
    if metric not in METRICS:
        raise ConfigError(f"family 'knn': metric {metric!r} is not supported; expected one of {list(METRICS)}")
    cls = KNeighborsRegressor if ctx.spec.problem_type == "regression" else KNeighborsClassifier
    if metric in ("euclidean", "manhattan", "cosine"):
        steps = [("preprocess", design(ctx, encoding="onehot", scale=True))]
    elif metric == "jaccard":
        steps = [("preprocess", design(ctx, encoding="onehot", scale=False, numeric_bins=n_bins, dense=True,
                                          text_features=COMPACT_TEXT_FEATURES)),
                 ("present", FunctionTransformer(is_positive))]
    else:
        steps = [("preprocess", design(ctx, encoding="ordinal", scale=False, numeric_bins=n_bins, dense=True,
                                          text_features=COMPACT_TEXT_FEATURES))]
    return Pipeline([*steps, ("model", cls(metric=metric, **hp))])


FAMILY = Family(name="knn", problem_types=frozenset({"binary", "multiclass", "regression"}), build=build)
