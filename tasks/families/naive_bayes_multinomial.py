"""Multinomial naive Bayes on counts: one-hot categoricals, quantile-binned numerics (`n_bins`), TF-IDF text.

`alpha` is the additive (Laplace for 1.0) smoothing of the per-class feature counts.
"""

from sklearn.naive_bayes import MultinomialNB
from sklearn.pipeline import Pipeline

from tasks.families import BuildContext, Family
from tasks.families._common import design


def build(ctx: BuildContext, hp: dict) -> Pipeline:
    n_bins = hp.pop("n_bins", 5)
    return Pipeline([
        ("preprocess", design(ctx, encoding="onehot", scale=False, numeric_bins=n_bins)),
        ("model", MultinomialNB(**hp)),
    ])


FAMILY = Family(name="naive_bayes_multinomial", problem_types=frozenset({"binary", "multiclass"}), build=build)
