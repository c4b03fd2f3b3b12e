"""tasks/core/artefacts.py: what stages hand each other. Metrics carry the threshold apart from the batches and a
binary model's must have one; predictions are joined to the data by row id, so their order does not matter."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import accuracy_score, roc_auc_score

from flows.champion import selection_scores
from flows.drift import PREDICTION, with_predictions
from flows.fairness import batches_of
from tasks.core.artefacts import (
    HOLDOUT,
    ROW_ID,
    EvaluationMetrics,
    FeatureSpec,
    GateResult,
    GateRow,
    batch_name,
    batch_predictions,
    predictions_file,
    read_metrics,
    row_ids,
    split_file,
)
from tasks.core.errors import DataError
from tasks.stages.champion import compare_to_best
from tasks.stages.fairness import FairnessThresholds, audit

BATCHES = (HOLDOUT, "batch_1")
SPEC = FeatureSpec(problem_type="binary", target="y", numeric=["x"], ordinal=[], categorical=["g"], sensitive=["g"],
                   classes=[0, 1], id_column="id")


@pytest.fixture()
def problem(tmp_path):
    """A data directory of two batches (ids unique, not in row order) and two models' predictions in data order."""
    rng = np.random.default_rng(7)
    data, outputs = tmp_path / "data", {}
    data.mkdir()
    frames = {}
    for offset, batch in enumerate(BATCHES):
        n = 300
        frame = pd.DataFrame({"id": rng.permutation(n) + 1000 * offset, "x": rng.normal(size=n),
                              "g": rng.choice(["a", "b"], n)})
        frame["y"] = (frame["x"] + rng.normal(size=n) > 0).astype(int)
        frame.to_parquet(data / split_file(batch), index=False)
        frames[batch] = frame
    for model, noise in (("good", 0.5), ("weak", 2.0)):
        outputs[model] = pd.concat([pd.DataFrame({
            "batch": batch, ROW_ID: frame["id"], "y": frame["y"],
            "score": 1 / (1 + np.exp(-(frame["x"] + rng.normal(0, noise, len(frame)))))}) for batch, frame in
            frames.items()], ignore_index=True).assign(pred=lambda f: (f["score"] >= 0.5).astype(int))
    return data, frames, outputs


def shuffled(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.sample(frac=1, random_state=3).reset_index(drop=True)


def test_a_binary_models_metrics_without_threshold_fail_naming_the_file():
    source = "reports/evaluate/employment/employment-logreg/metrics.json"
    with pytest.raises(DataError, match="employment-logreg/metrics.json: a binary model's metrics have no") as err:
        read_metrics({"holdout": {"rows": 10, "roc_auc": 0.8}}, source, binary=True)
    assert "\n" not in str(err.value)
    metrics = read_metrics({"threshold": 0.35, "holdout": {"rows": 10, "roc_auc": 0.8}}, source, binary=True)
    assert metrics.threshold == 0.35 and metrics.batches == {"holdout": {"rows": 10, "roc_auc": 0.8}}
    assert read_metrics({"holdout": {"rows": 10, "r2": 0.5}}, source, binary=False).threshold is None


def test_artefacts_round_trip():
    metrics = EvaluationMetrics({"holdout": {"rows": 5, "f1": 0.5}, "batch_2016": {"rows": 4, "f1": None}}, 0.4)
    assert metrics.to_dict() == {"threshold": 0.4, "holdout": {"rows": 5, "f1": 0.5},
                                 "batch_2016": {"rows": 4, "f1": None}}, "the DVC metrics file's layout"
    assert EvaluationMetrics.from_dict(metrics.to_dict()) == metrics
    assert metrics.metric("f1") == {"holdout": 0.5, "batch_2016": None}
    with pytest.raises(DataError, match="threshold"):
        EvaluationMetrics({"threshold": {"rows": 1}})
    gate = GateResult("warn", ("holdout: SEX: interval straddles the limit",))
    assert GateResult.from_dict(gate.to_dict()) == gate
    assert gate.to_dict() == {"status": "warn", "reasons": ["holdout: SEX: interval straddles the limit"]}
    assert GateResult.of([]) == GateResult("pass") and GateResult.of(["x"]).failed
    assert GateResult.all_of([GateResult("n/a"), GateResult.of(["a"]), GateResult.of(["b"])]) == GateResult(
        "fail", ("a", "b")) and GateResult.all_of([GateResult("n/a"), GateResult("pass")]) == GateResult("pass")
    with pytest.raises(DataError, match="gate status 'ok'"):
        GateResult("ok")
    assert GateRow("b", GateResult.not_applicable("none"), "subject").to_dict() == {
        "subject": "b", "status": "n/a", "reasons": ["none"]}
    assert GateRow("m", GateResult("pass"), outcome="champion").to_dict() == {
        "model": "m", "status": "pass", "reasons": [], "outcome": "champion"}
    assert FeatureSpec.from_dict(SPEC.to_dict()) == SPEC
    older = {k: v for k, v in SPEC.to_dict().items() if k != "id_column"}
    assert FeatureSpec.from_dict(older).id_column is None, "a spec written before row ids reads as before"
    assert (batch_name(2016), batch_name("2020-01-01 00:00"), split_file("valid"), predictions_file("p-m")) == (
        "batch_2016", "batch_2020-01-01-00-00", "valid.parquet", "p-m.parquet")


def test_row_ids_are_the_id_column_else_the_row_number():
    frame = pd.DataFrame({"id": [7, 3, 5], "x": [1, 2, 3]}, index=[10, 11, 12])
    assert row_ids(frame, "id").tolist() == [7, 3, 5] and row_ids(frame, None).tolist() == [0, 1, 2]


@pytest.mark.parametrize(("change", "message"), [
    (lambda p: p.iloc[1:], r"1 data row\(s\) without a prediction"),
    (lambda p: pd.concat([p, p.iloc[:1].assign(row_id=-1)]), r"1 prediction\(s\) for no data row \(e.g. \[-1\]\)"),
    (lambda p: pd.concat([p, p.iloc[:1]]), r"row id\(s\) \[\d+\] repeat in the predictions; row ids must be unique"),
    (lambda p: p.drop(columns=ROW_ID), "no 'row_id' column; re-run its evaluate stage"),
])
def test_an_id_mismatch_is_a_one_line_error_naming_the_file(problem, change, message):
    data, frames, outputs = problem
    rows = outputs["good"][outputs["good"]["batch"] == HOLDOUT]
    with pytest.raises(DataError, match=message) as err:
        batch_predictions(change(rows), HOLDOUT, frames[HOLDOUT], "id", "data/predictions/p/p-good.parquet")
    assert str(err.value).startswith("data/predictions/p/p-good.parquet (holdout): ") and "\n" not in str(err.value)


def test_fairness_numbers_do_not_depend_on_the_order_of_the_predictions(problem, tmp_path):
    data, frames, outputs = problem
    source = tmp_path / "p-good.parquet"
    limits = {"g": FairnessThresholds(min_group_size=10)}

    def groups(predictions: pd.DataFrame) -> pd.DataFrame:
        found = audit(batches_of(predictions, source, data, SPEC, 0.5), threshold=0.5, bands={}, n_resamples=30,
                      confidence=0.9, seed=0, limits=limits)
        return found.groups.set_index(["batch", "attribute", "group"])

    ordered, mixed = groups(outputs["good"]), groups(shuffled(outputs["good"]))
    pd.testing.assert_frame_equal(ordered, mixed)
    # oracle: sklearn on the predictions joined to the data by id
    for batch, frame in frames.items():
        joined = frame.merge(outputs["good"][outputs["good"]["batch"] == batch], left_on="id", right_on=ROW_ID,
                             suffixes=("", "_p"))
        for group, rows in joined.groupby("g"):
            row = mixed.loc[(batch, "g", group)]
            assert row["auc"] == pytest.approx(roc_auc_score(rows["y"], rows["score"]))
            assert row["accuracy"] == pytest.approx(accuracy_score(rows["y"], rows["score"] >= 0.5))
            assert row["size"] == len(rows)
    positional = shuffled(outputs["good"]).query(f"batch == '{HOLDOUT}'")["score"].to_numpy()
    group_a = (frames[HOLDOUT]["g"] == "a").to_numpy()
    assert roc_auc_score(frames[HOLDOUT]["y"][group_a], positional[group_a]) != pytest.approx(
        mixed.loc[(HOLDOUT, "g", "a"), "auc"]), "joined by position, the shuffle would change the numbers"


def test_champion_comparison_does_not_depend_on_the_order_of_the_predictions(problem, tmp_path):
    data, frames, outputs = problem
    def table(good: pd.DataFrame, weak: pd.DataFrame) -> pd.DataFrame:
        scored = {}
        for name, predictions in (("good", good), ("weak", weak)):
            predictions.to_parquet(tmp_path / predictions_file(name), index=False)
            scored[name] = selection_scores(tmp_path / predictions_file(name), HOLDOUT, frames[HOLDOUT], SPEC, 0.5)
        return compare_to_best(scored, ["good", "weak"], "roc_auc", n_resamples=50, confidence=0.95, seed=1)

    ordered = table(outputs["good"], outputs["weak"])
    mixed = table(shuffled(outputs["good"]), outputs["weak"].sample(frac=1, random_state=9))
    pd.testing.assert_frame_equal(ordered, mixed)
    joined = {name: frames[HOLDOUT].merge(rows[rows["batch"] == HOLDOUT], left_on="id", right_on=ROW_ID,
                                          suffixes=("", "_p")) for name, rows in outputs.items()}
    assert mixed.loc[0, "diff"] == pytest.approx(roc_auc_score(joined["good"]["y"], joined["good"]["score"])
                                                 - roc_auc_score(joined["weak"]["y"], joined["weak"]["score"]))


def test_drift_prediction_columns_follow_the_rows(problem, tmp_path):
    data, frames, outputs = problem
    frame = frames["batch_1"]
    columns = with_predictions(frame, "batch_1", {"good": shuffled(outputs["good"])}, SPEC, tmp_path)
    expected = outputs["good"].query("batch == 'batch_1'").set_index(ROW_ID)["score"].loc[frame["id"]].to_numpy()
    assert np.array_equal(columns[f"{PREDICTION}good"].to_numpy(), expected)


@pytest.mark.parametrize(("note", "expected"), [({"model": "m", "threshold": 0.3, "classes": [0, 1]}, 0.3),
                                                ({"model": "m", "classes": ["a", "b", "c"]}, None),
                                                ({"model": "m", "classes": [0, 1]}, "error")])
def test_the_registry_reads_a_binary_versions_threshold_without_a_default(monkeypatch, note, expected):
    import json
    from datetime import datetime

    from gto import api

    from tasks.adapters import registry

    monkeypatch.setattr(registry, "_show", lambda repo, artifact: [
        {"version": "v1.0.0", "commit_hexsha": "abc", "message": json.dumps(note)}])
    monkeypatch.setattr(api, "history", lambda repo, artifact: [
        {"event": "assignment", "stage": "prod", "version": "v1.0.0", "commit": "abc", "ref": "p#prod#1",
         "timestamp": datetime(2026, 1, 1), "message": "why"}])
    if expected == "error":
        with pytest.raises(registry.RegistryError, match=r"p v1.0.0 \(p#prod#1\): a binary model registered without"):
            registry.promoted(".", "p")
    else:
        assert registry.promoted(".", "p").threshold == expected


def test_repeated_ids_in_the_data_are_named(problem):
    data, frames, outputs = problem
    frame = frames[HOLDOUT].assign(id=0)
    with pytest.raises(DataError, match=r"p.parquet \(holdout\): row id\(s\) \[0\] repeat in the data's id column"):
        batch_predictions(outputs["good"], HOLDOUT, frame, "id", "p.parquet")
