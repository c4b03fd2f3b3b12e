"""Ridge regression (L2 penalty `alpha`) on one-hot, standardised features."""

from sklearn.linear_model import Ridge
from sklearn.pipeline import Pipeline

from tasks.families import BuildContext, Family
from tasks.families._common import design


def build(ctx: BuildContext, hp: dict) -> Pipeline:
    return Pipeline([
        ("preprocess", design(ctx, encoding="onehot", scale=True)),
        ("model", Ridge(**hp)),
    ])


FAMILY = Family(name="ridge", problem_types=frozenset({"regression"}), build=build)
