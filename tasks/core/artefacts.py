"""The types of what passes between stages: problem types, metric names, the feature specification.

Every stage reads these by name from here; nothing in this module imports another project module except errors,
so the lowest layer (config) and the highest (presentation) can both depend on it.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Literal

from tasks.core.errors import ConfigError

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
