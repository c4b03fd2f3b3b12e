"""`params.yaml` parsed once into typed, validated configuration.

Every stage receives the slice it needs; a wrong key or type fails here with the parameter's dotted path.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from tasks.errors import ConfigError
from tasks.feature_options import FeatureOptions

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
    """How the problem's data contract (data/contracts/<problem>.json, a Great Expectations suite) is applied."""

    quarantine: Literal["off", "errors", "all"] = Field(
        default="off", description="split off rows failing row-level expectations of these severities; "
                                   "'errors' lets the rest go on when only such rows break error expectations")


class FeaturizeConfig(_Strict):
    """Column roles; anything not listed (besides target, id and time) is rejected as unexpected."""

    numeric: list[str] = []
    ordinal: list[str] = []
    categorical: list[str] = []
    text: list[str] = []
    sensitive: list[str] = []
    options: FeatureOptions = FeatureOptions()


class ModelConfig(_Strict):
    """One model to train: a family from the registry applied to a problem."""

    problem: str
    family: str
    hyperparameters: dict[str, Any] = {}
    features: dict[str, Any] = Field(default={}, description="overrides of featurize.<problem>.options")


class EvaluateConfig(_Strict):
    threshold: float = Field(default=0.5, gt=0, lt=1)
    roc_points: int = Field(default=101, ge=11, le=1001, description="points kept on each ROC curve")


class ReportConfig(_Strict):
    title: str = "ML platform reports"
    primary_metric: str = "roc_auc"


class Params(_Strict):
    seed: int
    ingest: dict[str, IngestConfig]
    validate_: dict[str, ValidateConfig] = Field(alias="validate")
    featurize: dict[str, FeaturizeConfig]
    train: dict[str, ModelConfig]
    evaluate: EvaluateConfig = EvaluateConfig()
    report: ReportConfig = ReportConfig()

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
            try:
                self.featurize[model.problem].options.merged(model.features)
            except ValidationError as exc:
                details = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
                raise ValueError(f"train.{key}.features: {details}") from None
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
