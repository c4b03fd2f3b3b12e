import numpy as np
import pytest

from tasks.core.artefacts import FeatureSpec
from tasks.core.config import FeaturizeConfig
from tasks.core.errors import DataError
from tasks.stages.featurize import build_spec


def test_spec_records_roles_domains_and_dropped_columns(acs_sample, params):
    frame = acs_sample.assign(extra=1)
    spec = build_spec(frame, params.ingest["employment"], params.featurize["employment"], "train.parquet")
    assert spec.classes == [0, 1]
    assert spec.numeric == ["AGEP"] and "SEX" in spec.categorical
    assert spec.categories["SEX"] == ["1", "2"]
    assert spec.dropped == ["extra"], "unlisted columns are dropped, never silently used"
    assert FeatureSpec.from_dict(spec.to_dict()) == spec


@pytest.mark.parametrize(
    ("mutate", "cfg_update", "message"),
    [
        (lambda f: f.drop(columns="SCHL"), {}, r"missing feature column\(s\) \['SCHL'\]"),
        (lambda f: f.assign(AGEP="old"), {}, "'AGEP' is declared numeric/ordinal but holds non-numeric"),
        (lambda f: f.assign(employed=1), {}, "single class"),
        (lambda f: f, {"categorical": ["SEX", "SEX"]}, "more than one role"),
        (lambda f: f, {"sensitive": ["religion"]}, "sensitive column"),
    ],
)
def test_bad_training_data_is_named(acs_sample, params, mutate, cfg_update, message):
    cfg = FeaturizeConfig(**{**params.featurize["employment"].model_dump(), **cfg_update})
    with pytest.raises(DataError, match=message):
        build_spec(mutate(acs_sample), params.ingest["employment"], cfg, "train.parquet")


def test_infer_gives_unlisted_columns_a_role_by_dtype(acs_sample, params):
    rows = len(acs_sample)  # varied values: a constant column is a guard rail's (tests/unit/test_guards.py)
    frame = acs_sample.assign(income=np.linspace(0, 1, rows), region=np.resize(["north", "south"], rows))
    cfg = FeaturizeConfig(infer=True, numeric=["AGEP"], categorical=["SEX"])
    spec = build_spec(frame, params.ingest["employment"], cfg, "train.parquet")
    assert "income" in spec.numeric and "region" in spec.categorical and "MAR" in spec.categorical
    assert spec.numeric[0] == "AGEP" and "employed" not in spec.features and "id" not in spec.features
    assert spec.dropped == []
