"""Logistic regression on one-hot, standardised features: sigmoid for two classes, softmax (multinomial) for more.

`penalty` is "l2" (default), "l1" (sparse coefficients; the saga solver) or "none"; `C` is the inverse penalty
strength. Odds ratios with confidence intervals and McFadden's pseudo R2 are in `tasks.ml.model_insights`.
"""

import math

from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline

from tasks.core.errors import ConfigError
from tasks.families import BuildContext, Family
from tasks.families._common import design

PENALTIES = {"l2": {"l1_ratio": 0.0}, "l1": {"l1_ratio": 1.0, "solver": "saga"}, "none": {"C": math.inf}}


def build(ctx: BuildContext, hp: dict) -> Pipeline:
    penalty = hp.pop("penalty", "l2")
    if penalty not in PENALTIES:
        raise ConfigError(f"family 'logistic_regression': penalty {penalty!r} is not supported; "
                          f"expected one of {list(PENALTIES)}")
    return Pipeline([
        ("preprocess", design(ctx, encoding="onehot", scale=True)),
        ("model", LogisticRegression(random_state=ctx.seed, **{**PENALTIES[penalty], **hp})),
    ])


FAMILY = Family(name="logistic_regression", problem_types=frozenset({"binary", "multiclass"}), build=build)
