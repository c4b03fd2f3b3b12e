"""Agglomerative clustering (`linkage`) of a row sample, on one-hot, standardised features.

A "clustering" family: fitted on a tabular problem's training features (target unused); the report reads
`pipeline[-1].summary()`.
"""

from sklearn.pipeline import Pipeline

from tasks.families import BuildContext, Family
from tasks.families._common import design
from tasks.ml.unsupervised import SampledAgglomerative


def build(ctx: BuildContext, hp: dict) -> Pipeline:
    return Pipeline([
        ("preprocess", design(ctx, encoding="onehot", scale=True)),
        ("model", SampledAgglomerative(random_state=ctx.seed, **hp)),
    ])


FAMILY = Family(name="agglomerative", problem_types=frozenset({"clustering"}), build=build)
