"""Keras convolutional network on images given as row-major pixel columns (the problem's `numeric` columns)."""

from sklearn.pipeline import Pipeline

from tasks.families import BuildContext, Family
from tasks.families._common import pixel_columns
from tasks.ml.keras_estimators import CNNClassifier


def build(ctx: BuildContext, hp: dict) -> Pipeline:
    return Pipeline([
        ("pixels", pixel_columns(ctx)),
        ("model", CNNClassifier(random_state=ctx.seed, device=ctx.device, **hp)),
    ])


FAMILY = Family(name="keras_cnn", problem_types=frozenset({"binary", "multiclass"}), build=build, gpu=True,
    libraries=("tensorflow", "keras"))
