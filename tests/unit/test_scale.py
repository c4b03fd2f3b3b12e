"""Scaled data: jittered copies that keep the schema, the domains and the periods, and that ingest reads."""

import numpy as np
import pandas as pd

from tasks.core.io import frame_sha256
from tasks.ml.scale import Jitter, jitter_copy, write_scaled
from tasks.stages import ingest

CATEGORICAL = ["SCHL", "MAR", "RELP", "SEX"]


def test_copies_keep_schema_domains_and_periods(acs_sample):
    first = jitter_copy(acs_sample, 0, seed=1, id_column="id", numeric=["AGEP"], categorical=CATEGORICAL)
    assert first is acs_sample
    copy = jitter_copy(acs_sample, 2, seed=1, id_column="id", numeric=["AGEP"], categorical=CATEGORICAL)
    assert (copy.dtypes == acs_sample.dtypes).all()
    assert not set(copy["id"]) & set(acs_sample["id"])
    assert copy["year"].equals(acs_sample["year"]) and copy["employed"].equals(acs_sample["employed"])
    moved = copy["AGEP"] - acs_sample["AGEP"]
    assert set(moved.dropna().unique()) <= {-1.0, 0.0, 1.0}
    assert copy["AGEP"].between(acs_sample["AGEP"].min(), acs_sample["AGEP"].max()).all()
    for column in CATEGORICAL:
        assert set(copy[column].dropna()) <= set(acs_sample[column].dropna())
    changed = np.mean([(copy[c] != acs_sample[c]).mean() for c in CATEGORICAL])
    assert 0 < changed < 0.05, "about 2% redrawn, some to the same value"
    again = jitter_copy(acs_sample, 2, seed=1, id_column="id", numeric=["AGEP"], categorical=CATEGORICAL)
    pd.testing.assert_frame_equal(copy, again)


def test_object_columns_are_redrawn_within_their_values():
    frame = pd.DataFrame({"c": ["a", "b", None, "a"] * 50, "id": range(200)})
    copy = jitter_copy(frame, 1, seed=0, id_column="id", numeric=[], categorical=["c"],
                       jitter=Jitter(redraw_probability=0.5))
    assert set(copy["c"].dropna()) <= {"a", "b"} and copy["c"].dtype == object
    assert copy["c"].isna().sum() < frame["c"].isna().sum(), "redrawn values come from non-missing ones"


def test_ingest_reads_the_partitioned_copies(tmp_path, acs_sample, params):
    cfg = params.ingest["employment"]
    rows = write_scaled(acs_sample, tmp_path / "x3", 3, seed=0, id_column="id", numeric=["AGEP"],
                        categorical=CATEGORICAL)
    assert rows == 3 * len(acs_sample) and len(list((tmp_path / "x3").glob("part-*.parquet"))) == 3
    frame = ingest.load_raw(cfg.model_copy(update={"source": str(tmp_path / "x3")}))
    assert len(frame) == rows and frame["id"].is_unique
    assert (frame.dtypes == acs_sample.dtypes).all(), "categorical columns stay categorical"
    parts = ingest.split(frame, cfg, seed=0)
    assert len(parts["batch_2016"]) == 3 * (acs_sample["year"] == 2016).sum()
    digest = frame_sha256(frame)
    write_scaled(acs_sample, tmp_path / "x3", 2, seed=0, id_column="id", numeric=["AGEP"], categorical=CATEGORICAL)
    reread = ingest.load_raw(cfg.model_copy(update={"source": str(tmp_path / "x3")}))
    assert frame_sha256(reread) != digest
