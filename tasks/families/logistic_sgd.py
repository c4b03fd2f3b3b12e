"""Logistic regression trained by gradient descent: `batch_size` None (batch), 1 (stochastic) or k (mini-batch),
with a constant `learning_rate`, L2 `alpha` and early stopping on a validation fraction."""

from sklearn.pipeline import Pipeline

from tasks.families import BuildContext, Family
from tasks.families._common import design
from tasks.ml.estimators import GradientDescentLogisticRegression


def build(ctx: BuildContext, hp: dict) -> Pipeline:
    return Pipeline([
        ("preprocess", design(ctx, encoding="onehot", scale=True)),
        ("model", GradientDescentLogisticRegression(random_state=ctx.seed, **hp)),
    ])


FAMILY = Family(name="logistic_sgd", problem_types=frozenset({"binary", "multiclass"}), build=build)
