"""Keras convolutional network on images given as row-major pixel columns (the problem's `numeric` columns)."""

from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import FunctionTransformer

from tasks.errors import ConfigError
from tasks.families import BuildContext, Family
from tasks.keras_estimators import CNNClassifier
from tasks.preprocess import as_float


def pixel_columns(ctx: BuildContext) -> ColumnTransformer:
    """The pixel columns in declared order, a missing pixel read as 0 (background)."""
    if not ctx.spec.numeric:
        raise ConfigError("image families need the pixel columns declared as featurize.<problem>.numeric")
    imputer = make_pipeline(FunctionTransformer(as_float, feature_names_out="one-to-one"),  # uint8 pixels too
                            SimpleImputer(strategy="constant", fill_value=0.0, keep_empty_features=True))
    return ColumnTransformer([("pixels", imputer, ctx.spec.numeric)], remainder="drop")


def build(ctx: BuildContext, hp: dict) -> Pipeline:
    return Pipeline([
        ("pixels", pixel_columns(ctx)),
        ("model", CNNClassifier(random_state=ctx.seed, device=ctx.device, **hp)),
    ])


FAMILY = Family(name="keras_cnn", problem_types=frozenset({"binary", "multiclass"}), build=build, gpu=True)
