"""`params.yaml` parsed once into typed, validated configuration.

Every stage receives the slice it needs; a wrong key or type fails here with the parameter's dotted path.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from tasks.errors import ConfigError

ProblemType = Literal["binary", "multiclass", "regression"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class IngestConfig(_Strict):
    """Where a problem's raw data comes from and how it is split."""

    source: str
    target: str
    problem_type: ProblemType = "binary"
    id_column: str | None = None
    time_column: str
    reference_period: int = Field(description="period the models are trained on")
    current_periods: list[int] = Field(description="later periods: evaluation and drift batches")
    holdout_fraction: float = Field(gt=0, lt=1)
    validation_fraction: float = Field(gt=0, lt=1)
    sample_fraction: float = Field(default=1.0, gt=0, le=1)


class ValidateConfig(_Strict):
    """Data contract checks that gate the rest of the pipeline."""

    min_rows: int = Field(default=100, ge=1)
    max_null_fraction: float = Field(default=0.0, ge=0, le=1)


class FeaturizeConfig(_Strict):
    """Column roles; anything not listed (besides target, id and time) is rejected as unexpected."""

    numeric: list[str] = []
    ordinal: list[str] = []
    categorical: list[str] = []
    text: list[str] = []
    sensitive: list[str] = []


class ModelConfig(_Strict):
    """One model to train: a family from the registry applied to a problem."""

    problem: str
    family: str
    hyperparameters: dict[str, Any] = {}


class EvaluateConfig(_Strict):
    threshold: float = Field(default=0.5, gt=0, lt=1)
    roc_points: int = Field(default=101, ge=11, le=1001, description="points kept on each ROC curve")


class ReportConfig(_Strict):
    title: str = "ML platform reports"
    primary_metric: str = "roc_auc"


class GpuConfig(_Strict):
    """Where GPU-capable families train: a `gpu` work pool when a worker is alive there, else here on CPU."""

    routing: bool = Field(default=True, description="false: every family trains in the stage process on CPU")
    pool: str = Field(default="gpu", description="work pool served by workers on CUDA hosts")
    deployment: str = Field(default="train-gpu/train-gpu", description="flow/deployment run on that pool")
    wait_seconds: float = Field(default=20, ge=0, description="bound on waiting for a live worker to take the run")
    slots: int = Field(default=1, ge=1, description="global concurrency limit named after the pool: runs per GPU")
    retries: int = Field(default=1, ge=0, description="resubmissions after a GPU run crashed, before CPU")


class RetrainConfig(_Strict):
    """The `retrain` deployment; its schedule lives in prefect.yaml (and the UI)."""

    lock_wait_seconds: float = Field(default=600, ge=0, description="a second run in this working copy waits")
    push_retries: int = Field(default=3, ge=0)
    retry_delay_seconds: float = Field(default=10, ge=0)


class DriftCheckConfig(_Strict):
    """The `drift-check` deployment: newest batch vs the training split, scored by the champion."""

    max_share_drifted: float = Field(default=0.5, ge=0, le=1)
    fail_on_target_drift: bool = False
    fail_on_prediction_drift: bool = True
    max_rows: int = Field(default=5000, ge=100)
    trigger_retrain: bool = True


class Params(_Strict):
    seed: int
    ingest: dict[str, IngestConfig]
    validate_: dict[str, ValidateConfig] = Field(alias="validate")
    featurize: dict[str, FeaturizeConfig]
    train: dict[str, ModelConfig]
    evaluate: EvaluateConfig = EvaluateConfig()
    report: ReportConfig = ReportConfig()
    gpu: GpuConfig = GpuConfig()
    retrain: RetrainConfig = RetrainConfig()
    drift_check: DriftCheckConfig = DriftCheckConfig()

    @model_validator(mode="after")
    def _problems_consistent(self) -> Params:
        problems = set(self.ingest)
        for section, names in (("validate", self.validate_), ("featurize", self.featurize)):
            missing = problems - set(names)
            if missing:
                raise ValueError(f"{section}: no entry for problem(s) {sorted(missing)} declared under ingest")
        for key, model in self.train.items():
            if model.problem not in problems:
                raise ValueError(
                    f"train.{key}.problem: unknown problem {model.problem!r}; expected one of {sorted(problems)}"
                )
        return self


def parse_params(raw: dict[str, Any], origin: str = "params.yaml") -> Params:
    """Validate a raw parameter mapping; errors name the dotted parameter path and what was expected."""
    try:
        return Params.model_validate(raw)
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            path = ".".join(str(p) for p in err["loc"]) or "<top level>"
            got = err.get("input")
            shown = "" if isinstance(got, dict) else f" (got {got!r})"
            lines.append(f"  {path}: {err['msg']}{shown}")
        raise ConfigError(f"{origin} is invalid:\n" + "\n".join(lines)) from None


def load_params(path: str | Path = "params.yaml") -> Params:
    """Read and validate `params.yaml`."""
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise ConfigError(f"{path}: parameter file not found") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level, got {type(raw).__name__}")
    return parse_params(raw, origin=str(path))
