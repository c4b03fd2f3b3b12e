"""PCA to a cumulative explained-variance threshold, on one-hot, standardised features.

A "decomposition" family: fitted on a tabular problem's training features (target unused); the report reads
`pipeline[-1].summary()`.
"""

from sklearn.pipeline import Pipeline

from tasks.families import BuildContext, Family
from tasks.families._common import design
from tasks.ml.unsupervised import VariancePCA


def build(ctx: BuildContext, hp: dict) -> Pipeline:
    return Pipeline([
        ("preprocess", design(ctx, encoding="onehot", scale=True)),
        ("model", VariancePCA(random_state=ctx.seed, **hp)),
    ])


FAMILY = Family(name="pca", problem_types=frozenset({"decomposition"}), build=build)
