"""Preprocessing steps shared by the model families; always fitted inside the model's pipeline."""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, OrdinalEncoder, StandardScaler

from tasks.featurize import FeatureSpec

Encoding = Literal["onehot", "ordinal"]


def as_str(frame: pd.DataFrame) -> pd.DataFrame:
    """Categorical codes as strings, so '3', 3 and 3.0 mean the same category at fit and score time."""
    out = frame.astype("object")
    return out.where(out.isna(), out.map(lambda v: str(int(v)) if isinstance(v, float) and v.is_integer() else str(v)))


def as_float(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.apply(lambda col: pd.to_numeric(col.astype("object"), errors="coerce")).astype(np.float64)


def make_preprocessor(spec: FeatureSpec, *, encoding: Encoding, scale: bool) -> ColumnTransformer:
    """Numeric and ordinal columns: coerce, impute (median, with missing indicators), optionally standardise.
    Categorical columns: as strings, impute the mode, then one-hot (unseen -> all zeros) or ordinal codes
    (unseen -> -1)."""
    numeric_steps = [FunctionTransformer(as_float, feature_names_out="one-to-one"),
                     SimpleImputer(strategy="median", add_indicator=True, keep_empty_features=True)]
    if scale:
        numeric_steps.append(StandardScaler())
    if encoding == "onehot":
        encoder = OneHotEncoder(handle_unknown="ignore", sparse_output=False, dtype=np.float32)
    else:
        encoder = OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1, dtype=np.float32)
    categorical: Pipeline = make_pipeline(
        FunctionTransformer(as_str, feature_names_out="one-to-one"),
        SimpleImputer(strategy="most_frequent", keep_empty_features=True),
        encoder,
    )
    transformers = []
    if spec.numeric or spec.ordinal:
        transformers.append(("numeric", make_pipeline(*numeric_steps), [*spec.numeric, *spec.ordinal]))
    if spec.categorical:
        transformers.append(("categorical", categorical, spec.categorical))
    return ColumnTransformer(transformers, remainder="drop", verbose_feature_names_out=False)
