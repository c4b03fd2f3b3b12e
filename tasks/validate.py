"""Validate: check every split of a problem against its data contract before anything is fitted."""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from tasks.config import IngestConfig, ValidateConfig


@dataclass(frozen=True)
class Finding:
    split: str
    check: str
    column: str | None
    severity: str          # "error" stops the pipeline, "warning" is reported
    detail: str


@dataclass(frozen=True)
class ValidationResult:
    findings: list[Finding] = field(default_factory=list)

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "error"]

    @property
    def success(self) -> bool:
        return not self.errors

    def summary(self) -> str:
        return "\n".join(f"  [{f.severity}] {f.split}: {f.check}"
                         f"{f' on column {f.column!r}' if f.column else ''}: {f.detail}" for f in self.findings)


def check_split(name: str, frame: pd.DataFrame, ingest: IngestConfig, cfg: ValidateConfig,
                reference: pd.DataFrame) -> list[Finding]:
    """Row count, schema equal to the training split's, null fractions, and a labelled target."""
    found = []
    if len(frame) < cfg.min_rows:
        found.append(Finding(name, "row count", None, "error", f"{len(frame)} rows, expected >= {cfg.min_rows}"))
    missing = [c for c in reference.columns if c not in frame.columns]
    if missing:
        found.append(Finding(name, "columns present", ", ".join(missing), "error", "missing from this split"))
    for column in frame.columns.intersection(reference.columns):
        null_fraction = float(frame[column].isna().mean())
        if null_fraction > cfg.max_null_fraction:
            severity = "error" if column == ingest.target or null_fraction == 1.0 else "warning"
            found.append(Finding(name, "null fraction", column, severity,
                                 f"{null_fraction:.1%} null, expected <= {cfg.max_null_fraction:.1%}"))
    return found


def validate_splits(splits: dict[str, pd.DataFrame], ingest: IngestConfig, cfg: ValidateConfig) -> ValidationResult:
    reference = splits["train"]
    findings = [f for name, frame in splits.items() for f in check_split(name, frame, ingest, cfg, reference)]
    return ValidationResult(findings)
