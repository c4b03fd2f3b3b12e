"""tasks/adapters/drift.py on small frames: a shifted column is caught, a permuted one is not; the HTML is offline."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tasks.adapters.drift import DriftSummary, drift_gate, drift_report, external_references
from tasks.core.artefacts import GateResult
from tasks.core.errors import DataError

ROWS = 500


@pytest.fixture(scope="module")
def frames() -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(1)
    reference = pd.DataFrame({
        "shifted": rng.normal(0, 1, ROWS),
        "stable": rng.normal(0, 1, ROWS),
        "colour": rng.choice(["red", "green", "blue"], ROWS),
        "label": rng.integers(0, 2, ROWS),
        "score": rng.random(ROWS),
    })
    current = reference.sample(frac=1, random_state=2).reset_index(drop=True)  # same values, new order
    current["shifted"] = current["shifted"] + 1.0
    current["score"] = np.clip(current["score"] + 0.3, 0, 1)
    return reference, current


@pytest.fixture(scope="module")
def report(frames, tmp_path_factory) -> tuple[DriftSummary, Path]:
    reference, current = frames
    html = tmp_path_factory.mktemp("drift") / "report.html"
    summary = drift_report(reference, current, columns=["shifted", "stable", "colour"], target="label",
                           predictions=["score"], max_rows=400, seed=0, html_path=html,
                           header="<header id='lineage'>commit abc</header>")
    return summary, html


def test_shifted_column_drifts_and_unshifted_do_not(report):
    summary, _ = report
    table = summary.columns.set_index("column")
    assert bool(table.loc["shifted", "drifted"]) and table.loc["shifted", "drift_score"] < 0.05
    assert not table.loc["stable", "drifted"] and not table.loc["colour", "drifted"]
    assert summary.number_of_drifted_columns == 1
    assert summary.share_of_drifted_columns == pytest.approx(1 / 3)
    assert table.loc["shifted", "role"] == "feature" and table.loc["shifted", "stattest"].startswith("K-S")


def test_target_and_prediction_flags(report):
    summary, _ = report
    assert summary.target_drift is False and bool(summary.column("score")["drifted"])
    assert summary.column("score")["drift_score"] < 0.05 and summary.drifted_features == ["shifted"]
    as_dict = summary.to_dict()
    assert as_dict["columns"]["score"]["role"] == "prediction" and as_dict["target_drift"] is False


def test_frames_are_sampled_to_max_rows(report):
    summary, _ = report
    assert (summary.reference_rows, summary.current_rows) == (400, 400)


def test_html_is_self_contained(report):
    _, html = report
    text = html.read_text(encoding="utf-8")
    assert text.lstrip().lower().startswith("<!doctype html") or "<html" in text[:500].lower()
    assert "<script" in text and external_references(text) == []
    assert text.index("<header id='lineage'>commit abc</header>") > text.index("<body")
    assert not list(html.parent.glob(".report.html.*")), "temporary file left behind"


def test_external_references_are_detected():
    page = ('<script src="https://cdn.example.org/x.js"></script><link rel="stylesheet" href="//fonts.example/a">'
            '<script>var u = "https://not-loaded.example";</script><style>@import url("http://x.example/c.css")</style>')
    assert external_references(page) == ['<script src="https://cdn.example.org/x.js',
                                         '<link rel="stylesheet" href="//fonts.example/a',
                                         '@import url("http://x.example/c.css']


def test_gate(report):
    summary, _ = report
    assert drift_gate(summary, max_share_drifted=0.5, fail_on_target_drift=True) == GateResult("pass")
    gate = drift_gate(summary, max_share_drifted=0.2, fail_on_target_drift=True)
    assert gate == GateResult("fail", ("33.3% of features drifted (max 20.0%): shifted",))
    assert drift_gate(summary, max_share_drifted=0.5, fail_on_target_drift=False,
                      fail_on_prediction_drift=True) == GateResult("pass"), "no model's prediction named"
    gate = drift_gate(summary, max_share_drifted=0.5, fail_on_target_drift=False,
                      fail_on_prediction_drift=True, prediction="score")
    assert gate.failed and gate.reasons[0].startswith("prediction drifted")


def test_missing_column_is_a_data_error(frames, tmp_path):
    reference, current = frames
    with pytest.raises(DataError, match=r"current data lacks column\(s\) \['extra'\]"):
        drift_report(reference.assign(extra=1), current, columns=["extra"], target=None, max_rows=100, seed=0,
                     html_path=tmp_path / "r.html")
    assert not (tmp_path / "r.html").exists()
