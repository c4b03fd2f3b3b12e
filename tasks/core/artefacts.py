"""The types of what passes between stages: problem types, metric names, split and file names, the feature
specification, gate results, evaluation metrics and the predictions schema.

Every stage reads these by name from here; nothing in this module imports another project module except errors,
so the lowest layer (config) and the highest (presentation) can both depend on it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import pandas as pd

from tasks.core.errors import ConfigError, DataError

# The DVC stages in pipeline order: stage name = flows/<stage>.py = params.yaml section = dvc.yaml stage.
STAGES = ("check", "ingest", "validate", "featurize", "train", "evaluate", "fairness", "drift", "champion",
          "report", "recommend")

# Split names: the files ingest writes under data/interim/<problem>/ (`<split>.parquet`) and every later stage reads.
TRAIN, VALID, HOLDOUT, TEST = "train", "valid", "holdout", "test"

# File names inside the stages' output directories (the directories themselves are arguments, from dvc.yaml).
META_FILE = "meta.json"            # a data directory's facts (rows, hashes, batches); a model's meta
SPEC_FILE = "spec.json"            # data/features/<problem>/: the FeatureSpec
SUMMARY_FILE = "summary.json"      # data/features/<problem>/: what the problem-level options build, with provenance
MODEL_FILE, FEATURES_FILE, KEY_FILE, TUNE_FILE = "model.joblib", "features.json", "key.json", "tune.json"
METRICS_FILE, DETAILS_FILE = "metrics.json", "details.json"       # an evaluation's (and a fairness audit's) files
INSIGHTS_FILE = "insights.json"    # models/<problem>/<model>/: what the family explains about the fitted model
OUTCOMES_FILE = "outcomes.json"    # reports/validate/<problem>/: every dataset's validation outcome
LINEAGE_FILE = "lineage.json"      # where a stage's own result came from (validate, recommend): its page's header
EXAMPLES_FILE, IMPORTANCES_FILE = "examples.csv", "importances.csv"   # reports/recommend/: what its page shows
GROUPS_FILE, SIMPSON_FILE, SIMPSON_SEGMENTS_FILE = "groups.csv", "simpson.csv", "simpson_segments.csv"


def batch_name(period: object) -> str:
    """`batch_2016`, `batch_test`, `batch_2020-01-01`: a later period's split name (used in file names)."""
    return "batch_" + re.sub(r"[^A-Za-z0-9_.-]+", "-", str(period))


def split_file(split: str) -> str:
    """The file of one split in a data directory."""
    return f"{split}.parquet"


ProblemType = Literal["binary", "multiclass", "regression"]
SUPERVISED = ("binary", "multiclass", "regression")

METRICS: dict[str, tuple[str, ...]] = {
    "binary": ("accuracy", "precision", "recall", "specificity", "f1", "roc_auc", "log_loss", "brier"),
    "multiclass": ("accuracy", "precision_macro", "recall_macro", "f1_macro", "roc_auc_ovr", "log_loss"),
    "regression": ("r2", "rmse", "mae"),
}
"""The headline metrics of each supervised problem type (their functions are in `tasks.ml.metrics.headline`)."""
LOWER_IS_BETTER = frozenset({"log_loss", "brier", "rmse", "mae"})


def metric_names(problem_type: str) -> tuple[str, ...]:
    """A problem type's headline metric names; empty for unsupervised types."""
    return METRICS.get(problem_type, ())


THRESHOLD_RULES = '"f1", "youden", "fixed:<threshold>", "precision>=<x>"'


def parse_threshold_rule(rule: str) -> tuple[str, float | None]:
    """('f1' | 'youden' | 'fixed' | 'precision', its number or None); a ConfigError names the valid forms."""
    if rule in ("f1", "youden"):
        return rule, None
    for kind, prefix in (("fixed", r"fixed:"), ("precision", r"precision\s*>=")):
        if match := re.fullmatch(prefix + r"\s*([0-9]*\.?[0-9]+)", rule):
            value = float(match.group(1))
            if not 0 <= value <= 1:
                raise ConfigError(f"threshold rule {rule!r}: the number must lie in [0, 1]")
            return kind, value
    raise ConfigError(f"unknown threshold rule {rule!r}; valid forms: {THRESHOLD_RULES}")


@dataclass(frozen=True)
class FeatureSpec:
    """Column roles of one problem, plus what the training split looked like."""

    problem_type: str
    target: str
    numeric: list[str]
    ordinal: list[str]
    categorical: list[str]
    text: list[str] = field(default_factory=list)
    sensitive: list[str] = field(default_factory=list)
    classes: list[str | int] = field(default_factory=list)
    categories: dict[str, list[str]] = field(default_factory=dict)
    dropped: list[str] = field(default_factory=list)
    excluded: dict[str, str] = field(default_factory=dict)   # column -> why a guard rail kept it out
    warnings: dict[str, str] = field(default_factory=dict)   # column -> a guard rail's finding on a kept column
    notes: list[str] = field(default_factory=list)           # what the guard rails sampled or capped
    id_column: str | None = None                             # what rows are known by (data.id_column), if any

    @property
    def features(self) -> list[str]:
        return [*self.numeric, *self.ordinal, *self.categorical, *self.text]

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> FeatureSpec:
        return cls(**data)


GateStatus = Literal["pass", "warn", "fail", "n/a"]   # warn: passes, with a finding (fairness: an interval straddles)
GATE_STATUSES = ("pass", "warn", "fail", "n/a")


@dataclass(frozen=True)
class GateResult:
    """One gate's verdict on one subject (a model, a batch, a problem): its status, and why.

    On disk (champion records, stage summaries) and in gate tables it is `{"status": ..., "reasons": [...]}`."""

    status: GateStatus
    reasons: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.status not in GATE_STATUSES:
            raise DataError(f"gate status {self.status!r}: expected one of {list(GATE_STATUSES)}")
        object.__setattr__(self, "reasons", tuple(self.reasons))

    @classmethod
    def of(cls, reasons: list[str] | tuple[str, ...]) -> GateResult:
        """Failed with `reasons`, passed without any."""
        return cls("fail" if reasons else "pass", tuple(reasons))

    @classmethod
    def all_of(cls, results: list[GateResult]) -> GateResult:
        """Several gates as one: failed if any failed (with every gate's reasons), else passed."""
        return cls("fail" if any(r.failed for r in results) else "pass", tuple(m for r in results for m in r.reasons))

    @classmethod
    def not_applicable(cls, reason: str | None = None) -> GateResult:
        return cls("n/a", (reason,) if reason else ())

    @property
    def failed(self) -> bool:
        return self.status == "fail"

    def to_dict(self) -> dict[str, Any]:
        return {"status": self.status, "reasons": list(self.reasons)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> GateResult:
        return cls(data["status"], tuple(data.get("reasons") or ()))


@dataclass(frozen=True)
class GateRow:
    """One row of a stage's gate table (a Prefect table artifact): the subject, its result and, for the champion
    stage, the model's outcome. `kind` names the subject's column: a model, or a batch or problem."""

    subject: str
    result: GateResult
    kind: Literal["model", "subject"] = "model"
    outcome: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {self.kind: self.subject, **self.result.to_dict(),
                **({"outcome": self.outcome} if self.outcome is not None else {})}


# What evaluate writes per model besides its predictions: its metrics (a DVC metrics file) and its curves (DVC plots).
def curves_file(model: str) -> str:
    """The file of one model's curves (DVC plots: CURVE_COLUMNS in tasks.stages.evaluate) in the problem's curves
    directory."""
    return f"{model}.csv"


THRESHOLD = "threshold"


@dataclass(frozen=True)
class EvaluationMetrics:
    """One model's evaluation metrics: the binary decision threshold (None for other problem types and for
    unsupervised models), and per batch its metric values (`rows` and the headline metrics).

    On disk (`METRICS_FILE`, a DVC metrics file) the threshold sits beside the batch names, so `dvc metrics show`
    prints `threshold`, `holdout.roc_auc`, ...; `read_metrics` takes it apart again."""

    batches: dict[str, dict[str, float | None]]
    threshold: float | None = None

    def __post_init__(self) -> None:
        if THRESHOLD in self.batches:
            raise DataError(f"a batch may not be named {THRESHOLD!r}")

    def to_dict(self) -> dict[str, Any]:
        return {**({THRESHOLD: self.threshold} if self.threshold is not None else {}), **self.batches}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> EvaluationMetrics:
        threshold = data.get(THRESHOLD)
        return cls({k: dict(v) for k, v in data.items() if k != THRESHOLD},
                   None if threshold is None else float(threshold))

    def metric(self, name: str) -> dict[str, float | None]:
        """Batch -> the value of metric `name` (None where the batch lacks it)."""
        return {batch: values.get(name) for batch, values in self.batches.items()}


def read_metrics(data: Mapping[str, Any], source: Path | str, *, binary: bool) -> EvaluationMetrics:
    """The metrics in `data` (read from `source`); a binary model's metrics must carry its decision threshold."""
    metrics = EvaluationMetrics.from_dict(data)
    if binary and metrics.threshold is None:
        raise DataError(f"{source}: a binary model's metrics have no decision threshold; re-run its evaluate stage")
    return metrics


# The predictions files evaluate writes (one per model, every evaluation batch) and fairness, drift and champion
# read: one row per scored row, joined to the data by ROW_ID, never by position.
BATCH, ROW_ID, LABEL, PREDICTED, SCORE, PROBA = "batch", "row_id", "y", "pred", "score", "proba_"


def predictions_file(model: str) -> str:
    """The file of one model's predictions in the problem's predictions directory."""
    return f"{model}.parquet"


def row_ids(frame: pd.DataFrame, id_column: str | None) -> pd.Series:
    """The ids a split's rows are known by: the problem's id column, else the row's number in its split file."""
    ids = frame[id_column] if id_column is not None else pd.Series(range(len(frame)), index=frame.index)
    return ids.rename(ROW_ID)


def batch_predictions(predictions: pd.DataFrame, batch: str, frame: pd.DataFrame, id_column: str | None,
                      source: Path | str) -> pd.DataFrame:
    """The prediction rows of `batch` (read from file `source`) in the order of that batch's data rows `frame`,
    matched by row id; a DataError naming the file and batch when an id is missing, extra or repeated."""
    where = f"{source} ({batch})"
    if ROW_ID not in predictions.columns:
        raise DataError(f"{where}: no {ROW_ID!r} column; re-run its evaluate stage")
    rows, ids = predictions[predictions[BATCH] == batch], row_ids(frame, id_column)
    for side, values in (("the predictions", rows[ROW_ID]), (f"the data's id column {id_column!r}", ids)):
        if values.duplicated().any():
            repeated = values[values.duplicated()].unique().tolist()[:5]
            raise DataError(f"{where}: row id(s) {repeated} repeat in {side}; row ids must be unique within a batch")
    found = pd.Index(rows[ROW_ID])
    missing, extra = pd.Index(ids).difference(found), found.difference(pd.Index(ids))
    if len(missing) or len(extra):
        raise DataError(f"{where}: predictions do not match the data by {ROW_ID}: {len(missing)} data row(s) "
                        f"without a prediction (e.g. {missing[:3].tolist()}), {len(extra)} prediction(s) for no data "
                        f"row (e.g. {extra[:3].tolist()}); re-run its evaluate stage")
    return rows.set_index(ROW_ID).loc[ids.to_numpy()].reset_index()
