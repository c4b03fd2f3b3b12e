"""Truncated SVD of rank r with its reconstruction error, on one-hot, standardised features.

A "decomposition" family: fitted on a tabular problem's training features (target unused); the report reads
`pipeline[-1].summary()`.
"""

from sklearn.pipeline import Pipeline

from tasks.families import BuildContext, Family
from tasks.families._common import design
from tasks.ml.unsupervised import RankSVD


def build(ctx: BuildContext, hp: dict) -> Pipeline:
    return Pipeline([
        ("preprocess", design(ctx, encoding="onehot", scale=True)),
        ("model", RankSVD(random_state=ctx.seed, **hp)),
    ])


FAMILY = Family(name="truncated_svd", problem_types=frozenset({"decomposition"}), build=build)
