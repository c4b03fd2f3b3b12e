"""Gaussian naive Bayes: per-class normal densities on one-hot categoricals, numerics and (dense) TF-IDF."""

from sklearn.naive_bayes import GaussianNB
from sklearn.pipeline import Pipeline

from tasks.families import BuildContext, Family
from tasks.families._common import design


def build(ctx: BuildContext, hp: dict) -> Pipeline:
    return Pipeline([
        ("preprocess", design(ctx.spec, encoding="onehot", scale=False, dense=True)),
        ("model", GaussianNB(**hp)),
    ])


FAMILY = Family(name="naive_bayes_gaussian", problem_types=frozenset({"binary", "multiclass"}), build=build)
