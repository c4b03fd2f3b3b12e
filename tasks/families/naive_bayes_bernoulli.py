"""Bernoulli naive Bayes on presence/absence: one-hot categoricals, standardised numerics above/below their mean
(`binarize=0`), words present in the text.

`alpha` is the additive (Laplace for 1.0) smoothing of the per-class feature frequencies.
"""

from sklearn.naive_bayes import BernoulliNB
from sklearn.pipeline import Pipeline

from tasks.families import BuildContext, Family
from tasks.families._common import design


def build(ctx: BuildContext, hp: dict) -> Pipeline:
    return Pipeline([
        ("preprocess", design(ctx, encoding="onehot", scale=True)),
        ("model", BernoulliNB(**{"binarize": 0.0, **hp})),
    ])


FAMILY = Family(name="naive_bayes_bernoulli", problem_types=frozenset({"binary", "multiclass"}), build=build)
