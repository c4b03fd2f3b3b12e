"""k-means (k-means++), k picked over `k_range` by silhouette or elbow, on one-hot, standardised features.

A "clustering" family: fitted on a tabular problem's training features (target unused); the report reads
`pipeline[-1].summary()`.
"""

from sklearn.pipeline import Pipeline

from tasks.families import BuildContext, Family
from tasks.families._common import design
from tasks.ml.unsupervised import KMeansSelect


def build(ctx: BuildContext, hp: dict) -> Pipeline:
    return Pipeline([
        ("preprocess", design(ctx, encoding="onehot", scale=True)),
        ("model", KMeansSelect(random_state=ctx.seed, **hp)),
    ])


FAMILY = Family(name="kmeans", problem_types=frozenset({"clustering"}), build=build)
