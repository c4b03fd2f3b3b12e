"""The types of what passes between stages: problem types, metric names, split and file names, the feature
specification, gate results, evaluation metrics and the predictions schema.

Every stage reads these by name from here; nothing in this module imports another project module except errors,
so the lowest layer (config) and the highest (presentation) can both depend on it.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Literal

from tasks.core.errors import ConfigError

# The DVC stages in pipeline order: stage name = flows/<stage>.py = params.yaml section = dvc.yaml stage.
STAGES = ("check", "ingest", "validate", "featurize", "train", "evaluate", "fairness", "drift", "champion",
          "report", "recommend")

# Split names: the files ingest writes under data/interim/<problem>/ (`<split>.parquet`) and every later stage reads.
TRAIN, VALID, HOLDOUT, TEST = "train", "valid", "holdout", "test"

# File names inside the stages' output directories (the directories themselves are arguments, from dvc.yaml).
META_FILE = "meta.json"            # a data directory's facts (rows, hashes, batches); a model's meta
SPEC_FILE = "spec.json"            # data/features/<problem>/: the FeatureSpec
MODEL_FILE, FEATURES_FILE, KEY_FILE, TUNE_FILE = "model.joblib", "features.json", "key.json", "tune.json"
METRICS_FILE, DETAILS_FILE = "metrics.json", "details.json"       # an evaluation's (and a fairness audit's) files
INSIGHTS_FILE = "insights.json"    # models/<problem>/<model>/: what the family explains about the fitted model
GROUPS_FILE, SIMPSON_FILE, SIMPSON_SEGMENTS_FILE = "groups.csv", "simpson.csv", "simpson_segments.csv"


def batch_name(period: object) -> str:
    """`batch_2016`, `batch_test`, `batch_2020-01-01`: a later period's split name (used in file names)."""
    return "batch_" + re.sub(r"[^A-Za-z0-9_.-]+", "-", str(period))


def split_file(split: str) -> str:
    """The file of one split in a data directory."""
    return f"{split}.parquet"


def predictions_file(model: str) -> str:
    """The file of one model's predictions in the problem's predictions directory."""
    return f"{model}.parquet"


def curves_file(model: str) -> str:
    """The file of one model's curves (DVC plots) in the problem's curves directory."""
    return f"{model}.csv"

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

    @property
    def features(self) -> list[str]:
        return [*self.numeric, *self.ordinal, *self.categorical, *self.text]

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> FeatureSpec:
        return cls(**data)
