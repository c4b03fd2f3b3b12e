"""Keras dense network on one-hot, standardised features (classification or regression)."""

from sklearn.pipeline import Pipeline

from tasks.families import BuildContext, Family
from tasks.families._common import design
from tasks.ml.keras_estimators import DenseClassifier, DenseRegressor


def build(ctx: BuildContext, hp: dict) -> Pipeline:
    cls = DenseRegressor if ctx.spec.problem_type == "regression" else DenseClassifier
    return Pipeline([
        ("preprocess", design(ctx, encoding="onehot", scale=True)),
        ("model", cls(random_state=ctx.seed, device=ctx.device, **hp)),
    ])


FAMILY = Family(
    name="keras_dense", problem_types=frozenset({"binary", "multiclass", "regression"}), build=build, gpu=True,
    libraries=("tensorflow", "keras"))
