"""Drift between a reference and a current frame: the one adapter module for Evidently 0.7.

Results are read from the snapshot by metric type and column (and each column's verdict from the test bound to
that metric's id), never by position, so adding a metric cannot shift what is read.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from tasks.core.artefacts import GateResult
from tasks.core.errors import DataError
from tasks.core.io import atomic_write_text

_EXTERNAL = re.compile(
    r"<(?:script|link|img|iframe)\b[^>]*?\b(?:src|href)\s*=\s*[\"']?(?:https?:)?//[^\"'\s>]*"
    r"|@import\s+(?:url\()?\s*[\"']?(?:https?:)?//[^\"'\s)]*",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class DriftSummary:
    """Dataset-level drift of the feature columns, plus per-column rows (features, target, prediction)."""

    share_of_drifted_columns: float
    number_of_drifted_columns: int
    columns: pd.DataFrame  # column, role (feature/target/prediction), stattest, threshold, drift_score, drifted
    reference_rows: int
    current_rows: int

    def column(self, name: str) -> dict[str, Any] | None:
        rows = self.columns[self.columns["column"] == name]
        return rows.iloc[0].to_dict() if len(rows) else None

    def _target(self) -> dict[str, Any] | None:
        rows = self.columns[self.columns["role"] == "target"]
        return rows.iloc[0].to_dict() if len(rows) else None

    @property
    def target_drift(self) -> bool | None:
        row = self._target()
        return None if row is None else bool(row["drifted"])

    @property
    def target_score(self) -> float | None:
        row = self._target()
        return None if row is None else float(row["drift_score"])

    @property
    def drifted_features(self) -> list[str]:
        return self.columns.loc[(self.columns["role"] == "feature") & self.columns["drifted"], "column"].tolist()

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready, for a DVC metrics file."""
        return {
            "share_of_drifted_columns": round(self.share_of_drifted_columns, 6),
            "number_of_drifted_columns": self.number_of_drifted_columns,
            "target_drift": self.target_drift,
            "reference_rows": self.reference_rows,
            "current_rows": self.current_rows,
            "columns": {
                row["column"]: {"role": row["role"], "stattest": row["stattest"], "threshold": row["threshold"],
                                "drift_score": round(float(row["drift_score"]), 6), "drifted": bool(row["drifted"])}
                for row in self.columns.to_dict("records")
            },
        }


def external_references(html: str) -> list[str]:
    """URLs a page would fetch from a network (script/link/img/iframe src or href, CSS @import)."""
    return _EXTERNAL.findall(html)


def _sample(frame: pd.DataFrame, columns: list[str], max_rows: int, seed: int) -> pd.DataFrame:
    frame = frame[columns]
    return frame.sample(n=max_rows, random_state=seed) if len(frame) > max_rows else frame


def _read_snapshot(result: dict, features: list[str], roles: dict[str, str]) -> tuple[dict, pd.DataFrame]:
    """The DriftedColumnsCount value and one row per ValueDrift metric, matched by metric type and column."""
    from evidently.metrics import DriftedColumnsCount, ValueDrift

    verdicts = {t["metric_config"]["metric_id"]: t["status"] for t in result["tests"]}
    count, rows = None, []
    for metric in result["metrics"]:
        config = metric["config"]
        if config["type"] == DriftedColumnsCount.__get_type__() and config.get("columns") == features:
            count = metric["value"]
        elif config["type"] == ValueDrift.__get_type__() and config["column"] in roles:
            if metric["id"] not in verdicts:
                raise RuntimeError(f"evidently: no drift test bound to the ValueDrift metric of {config['column']!r}")
            rows.append({"column": config["column"], "role": roles[config["column"]], "stattest": config["method"],
                         "threshold": config["threshold"], "drift_score": float(metric["value"]),
                         "drifted": verdicts[metric["id"]] == "FAIL"})
    found = {r["column"] for r in rows}
    if count is None or found != set(roles):
        raise RuntimeError(f"evidently: snapshot lacks drift results (count found: {count is not None}; "
                           f"columns missing: {sorted(set(roles) - found)})")
    return count, pd.DataFrame(rows)


def drift_report(
    reference: pd.DataFrame, current: pd.DataFrame, *, columns: Sequence[str], target: str | None,
    predictions: Sequence[str] = (), max_rows: int, seed: int, html_path: Path, header: str = "",
) -> DriftSummary:
    """Evidently data drift of `columns` (share over these features) and of the target and prediction columns
    (one per model), each frame sampled to at most `max_rows` rows (seeded). Column types are inferred by Evidently
    from the reference sample. Writes a self-contained HTML report to `html_path` atomically, with `header` markup
    inserted at the top of its body."""
    from evidently import DataDefinition, Dataset, Report
    from evidently.metrics import ValueDrift
    from evidently.presets import DataDriftPreset

    features = list(columns)
    roles = {c: "feature" for c in features}
    if target is not None:
        roles[target] = "target"
    roles.update({c: "prediction" for c in predictions})
    for name, frame in (("reference", reference), ("current", current)):
        missing = [c for c in roles if c not in frame.columns]
        if missing:
            raise DataError(f"drift: {name} data lacks column(s) {missing}")
    ref = _sample(reference, list(roles), max_rows, seed)
    cur = _sample(current, list(roles), max_rows, seed)
    ref_data = Dataset.from_pandas(ref, data_definition=DataDefinition())
    cur_data = Dataset.from_pandas(cur, data_definition=ref_data.data_definition)
    extra = [ValueDrift(column=c) for c, role in roles.items() if role != "feature"]
    report = Report([DataDriftPreset(columns=features), *extra], include_tests=True)
    snapshot = report.run(cur_data, ref_data)
    count, table = _read_snapshot(snapshot.dict(), features, roles)
    html = snapshot.get_html_str(as_iframe=False)
    external = external_references(html)
    if external:
        raise RuntimeError(f"evidently's HTML would load from the network: {external[:3]}")
    atomic_write_text(html_path, re.sub(r"(<body[^>]*>)", lambda m: m.group(1) + header, html, count=1))
    return DriftSummary(share_of_drifted_columns=float(count["share"]), number_of_drifted_columns=int(count["count"]),
                        columns=table, reference_rows=len(ref), current_rows=len(cur))


def drift_gate(
    summary: DriftSummary, *, max_share_drifted: float, fail_on_target_drift: bool,
    fail_on_prediction_drift: bool = False, prediction: str | None = None,
) -> GateResult:
    """The drift gate: fails when more than `max_share_drifted` of the features drifted, on target drift
    when asked to, and on drift of the `prediction` column (one model's) when asked to."""
    reasons = []
    if summary.share_of_drifted_columns > max_share_drifted:
        reasons.append(f"{summary.share_of_drifted_columns:.1%} of features drifted (max {max_share_drifted:.1%}): "
                       f"{', '.join(summary.drifted_features)}")
    if fail_on_target_drift and summary.target_drift:
        reasons.append(f"target drifted (score {summary.target_score:.4g})")
    row = summary.column(prediction) if prediction is not None else None
    if fail_on_prediction_drift and row is not None and row["drifted"]:
        reasons.append(f"prediction drifted (score {row['drift_score']:.4g})")
    return GateResult.of(reasons)


def summarize(
    results: Mapping[str, DriftSummary], predictions: Mapping[str, str], *, reference: str,
    max_share_drifted: float, fail_on_target_drift: bool, fail_on_prediction_drift: bool,
) -> dict[str, Any]:
    """The drift summary of a problem (JSON-ready): each batch with its gate, and each model's gate (`predictions`:
    model -> its prediction column), which fails on the batch-level reasons too."""
    batches, shared = {}, []
    for batch, result in results.items():
        gate = drift_gate(result, max_share_drifted=max_share_drifted, fail_on_target_drift=fail_on_target_drift)
        batches[batch] = {**result.to_dict(), **gate.to_dict()}
        shared += [f"{batch}: {reason}" for reason in gate.reasons]
    models = {}
    for model, column in predictions.items():
        own = [f"{batch}: {reason}" for batch, result in results.items() for reason in drift_gate(
            result, max_share_drifted=1.0, fail_on_target_drift=False,
            fail_on_prediction_drift=fail_on_prediction_drift, prediction=column).reasons]
        models[model] = {"status": "fail" if shared or own else "pass", "reasons": shared + own, "own": own}
    return {"applicable": True, "reference": reference, "batches": batches, "models": models}
