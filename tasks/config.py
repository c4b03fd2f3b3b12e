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
    """Where a problem's raw data comes from and how it is split.

    With a time column, models train on `reference_period` and are evaluated on a holdout of it and on each of
    `current_periods` (also the drift batches). Without one, the data is split at random only.
    """

    source: str = Field(description="a file under data/raw/ or package:<name>[/...] (see tasks/sources.py)")
    target: str
    problem_type: ProblemType = "binary"
    id_column: str | None = None
    time_column: str | None = None
    reference_period: int | None = Field(default=None, description="period the models are trained on")
    current_periods: list[int] = Field(default=[], description="later periods: evaluation and drift batches")
    holdout_fraction: float = Field(gt=0, lt=1)
    validation_fraction: float = Field(gt=0, lt=1)
    sample_fraction: float = Field(default=1.0, gt=0, le=1)

    @model_validator(mode="after")
    def _periods_need_time(self) -> IngestConfig:
        if self.time_column is None and (self.reference_period is not None or self.current_periods):
            raise ValueError("reference_period/current_periods need a time_column")
        if self.time_column is not None and self.reference_period is None:
            raise ValueError(f"time_column {self.time_column!r} needs a reference_period to train on")
        return self

    @property
    def reference_name(self) -> str:
        """Name of the dataset the random splits come from (validation reports it as one dataset)."""
        return "all" if self.reference_period is None else f"period_{self.reference_period}"


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


class DistributedConfig(_Strict):
    """Where the Dask path (`python -m flows.distributed`) runs: a running scheduler, or a local cluster."""

    scheduler: str | None = Field(default=None, description="address of a running Dask scheduler, e.g. "
                                  "tcp://dask-scheduler:8786; null starts a local cluster for the run")
    n_workers: int = Field(default=2, ge=1, description="local cluster only")
    threads_per_worker: int = Field(default=1, ge=1, description="local cluster only")
    memory_limit: str = Field(default="4GiB", description="per local worker; Dask spills to disk above it")
    fit_sample_rows: int = Field(default=1_000_000, ge=1, description="rows (a seeded sample) the preprocessing "
                                 "of a Dask-trained booster is fitted on; all rows when there are fewer")


class Params(_Strict):
    seed: int
    ingest: dict[str, IngestConfig]
    validate_: dict[str, ValidateConfig] = Field(alias="validate")
    featurize: dict[str, FeaturizeConfig]
    train: dict[str, ModelConfig]
    evaluate: EvaluateConfig = EvaluateConfig()
    report: ReportConfig = ReportConfig()
    distributed: DistributedConfig = DistributedConfig()

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
