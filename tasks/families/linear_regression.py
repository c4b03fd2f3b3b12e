"""Ordinary least squares with statsmodels inference (coefficients, p-values, intervals, R2, VIF, residuals).

Features are one-hot and unscaled, so a coefficient is the change in the target per unit of its feature.
"""

from sklearn.pipeline import Pipeline

from tasks.families import BuildContext, Family
from tasks.families._common import COMPACT_TEXT_FEATURES, design
from tasks.ml.estimators import StatsmodelsOLS


def build(ctx: BuildContext, hp: dict) -> Pipeline:
    return Pipeline([
        ("preprocess", design(ctx, encoding="onehot", scale=False, dense=True,
                                     text_features=COMPACT_TEXT_FEATURES)),
        ("model", StatsmodelsOLS(**hp)),
    ])


FAMILY = Family(name="linear_regression", problem_types=frozenset({"regression"}), build=build,
    libraries=("statsmodels",))
