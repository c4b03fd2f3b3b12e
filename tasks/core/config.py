"""`params.yaml` parsed once into typed, validated configuration.

Every stage receives the slice it needs; a wrong key or type fails here with the parameter's dotted path.
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from tasks.core.artefacts import HOLDOUT, TEST, VALID, ProblemType, batch_name, metric_names, parse_threshold_rule
from tasks.core.errors import ConfigError, invalid_config
from tasks.core.feature_options import FeatureOptions
from tasks.core.recommend_config import RecommendConfig


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


Period = int | str | date  # a year, a label such as `train`/`test`, or a date (YAML writes 2015-01-01 as a date)


class ReadOptions(_Strict):
    """How a CSV source (and its test file) is read: pandas `read_csv` options, written out so that the scaffold,
    the contract draft and the ingest stage read the file the same way. Parquet files need none."""

    sep: str = Field(default=",", description="field separator; several characters (e.g. ', ') are a regex")
    header: bool = Field(default=True, description="false: the file has no header row (give `names`)")
    names: list[str] | None = Field(default=None, description="column names, in file order")
    na_values: list[str] = Field(default=[], description="extra markers of a missing value, e.g. ['?', 'NA']")
    skip_rows: int = Field(default=0, ge=0, description="lines skipped before the header (or the first row)")
    comment: str | None = Field(default=None, min_length=1, max_length=1, description="a line starting with this "
                                "character is skipped (e.g. '|' for the note atop a test file)")
    encoding: str | None = None

    @model_validator(mode="after")
    def _names_without_header(self) -> ReadOptions:
        if not self.header and not self.names:
            raise ValueError("header: false needs names: [...] (the file's column names in order)")
        if self.names and len(set(self.names)) != len(self.names):
            raise ValueError(f"names has duplicates: {sorted({n for n in self.names if self.names.count(n) > 1})}")
        return self


class IngestConfig(_Strict):
    """Where a problem's raw data comes from and how it is split.

    With a period column (`time_column`: years, dates, or labels such as `train`/`test`), models train on
    `reference_period` and are evaluated on a holdout of it and on each of `current_periods` (also the drift
    batches). A separate `test_source` file is one more later batch, `test`. Without either, the data is split at
    random only. With later batches the holdout is optional (`holdout_fraction: 0`: train on the whole reference
    period) and `selection` names the batch the champion is chosen on.
    """

    source: str = Field(description="a file under data/raw/ or package:<name>[/...] (see tasks/adapters/sources.py)")
    read: ReadOptions = ReadOptions()
    test_source: str | None = Field(default=None, description="a separate test file (read like `source`): the "
                                    "later batch `test`")
    target: str
    target_map: dict[str, Any] = Field(default={}, description="target values rewritten on reading, e.g. "
                                       "{'>50K.': '>50K'} where a test file writes its labels differently")
    problem_type: ProblemType = "binary"
    id_column: str | None = None
    time_column: str | None = Field(default=None, description="the period or split column")
    reference_period: Period | None = Field(default=None, description="period the models are trained on")
    validation_period: Period | None = Field(default=None, description="period that is the validation split "
                                             "(early stopping, thresholds) instead of a random share")
    current_periods: list[Period] = Field(default=[], description="later periods: evaluation and drift batches")
    holdout_fraction: float = Field(ge=0, lt=1, description="of the reference period, kept for evaluation; 0 (with "
                                    "later batches) trains on all of it")
    validation_fraction: float = Field(gt=0, lt=1)
    selection: str | None = Field(default=None, description="the evaluation batch the champion is ranked on: "
                                  "holdout (default), valid, test or a current period; default without a "
                                  "holdout: the first later batch")
    sample_fraction: float = Field(default=1.0, gt=0, le=1)

    @model_validator(mode="after")
    def _periods_need_time(self) -> IngestConfig:
        periods = [self.reference_period, self.validation_period, *self.current_periods]
        if self.time_column is None and any(p is not None for p in periods):
            raise ValueError("reference_period/validation_period/current_periods need a time_column")
        if self.time_column is not None and self.reference_period is None:
            raise ValueError(f"time_column {self.time_column!r} needs a reference_period to train on")
        if self.holdout_fraction == 0 and not self.later_batches:
            raise ValueError("holdout_fraction: 0 needs later batches to evaluate on (current_periods or "
                             "test_source)")
        if self.selection is not None and self.selection_batch not in self.evaluation_batches:
            known = [*([HOLDOUT] if self.holdout_fraction else []), VALID, *self.later_batches]
            raise ValueError(f"selection {self.selection!r}: expected one of {known} (or a current period)")
        return self

    @property
    def reference_name(self) -> str:
        """Name of the dataset the random splits come from (validation reports it as one dataset)."""
        return "all" if self.reference_period is None else f"period_{self.reference_period}"

    @property
    def later_batches(self) -> list[str]:
        """Names of the later batches (drift batches too), in order: each current period, then the test file."""
        return [*(batch_name(p) for p in self.current_periods), *([TEST] if self.test_source else [])]

    @property
    def selection_batch(self) -> str:
        if self.selection is None:
            return HOLDOUT if self.holdout_fraction > 0 else self.later_batches[0]
        if self.selection == HOLDOUT and not self.holdout_fraction:
            return "(no holdout: holdout_fraction is 0)"
        if self.selection in (HOLDOUT, VALID, TEST, *self.later_batches):
            return self.selection
        return batch_name(self.selection)  # a current period's value

    @property
    def evaluation_batches(self) -> list[str]:
        """Names of the splits every model is evaluated on, the selection batch first, then in report order."""
        # without a holdout the validation split is scored too: the drift reference (rows no model was fitted on)
        batches = [HOLDOUT] if self.holdout_fraction > 0 else [VALID]
        if self.selection is not None and self.selection_batch == VALID and VALID not in batches:
            batches.insert(0, VALID)
        batches += self.later_batches
        first = self.selection_batch if self.selection_batch in batches else batches[0]
        return [first, *(b for b in batches if b != first)]


class ValidateConfig(_Strict):
    """How the problem's data contract (data/contracts/<problem>.json, a Great Expectations suite) is applied."""

    quarantine: Literal["off", "errors", "all"] = Field(
        default="off", description="split off rows failing row-level expectations of these severities; "
                                   "'errors' lets the rest go on when only such rows break error expectations")


class GuardOptions(_Strict):
    """Guard rails on candidate feature columns (tasks/ml/guards.py): limits, and how much data the checks read."""

    unique_ratio: float = Field(default=0.95, gt=0, le=1, description="distinct/rows from which an integer or "
                                "text column is id-like or near-unique")
    max_categories: int = Field(default=200, ge=2, description="more distinct values than this: too many categories")
    # 0.95, not 0.99: COMPAS's is_recid and r_charge_degree, recorded after the outcome, score 0.97 alone
    leakage_threshold: float = Field(default=0.95, gt=0, le=1, description="ROC AUC (binary), balanced accuracy "
                                     "(multiclass) or R^2 (regression) of one column alone, from which it leaks")
    leakage_warning: float = Field(default=0.85, gt=0, le=1, description="the same score from which a column is "
                                   "kept with a warning to check it is known before the outcome")
    # COMPAS's r_days_from_arrest is filled in only after a re-arrest: its missingness alone scores 0.82
    missing_warning: float = Field(default=0.8, gt=0, le=1, description="the score of whether a column is missing "
                                   "from which it is kept with a warning (a column filled in after the outcome)")
    sample_rows: int = Field(default=5000, ge=100, description="seeded sample of training rows the checks read")
    max_probe_columns: int = Field(default=1000, ge=1, description="columns the leakage probe tries at most")
    enabled: bool = Field(default=True, description="false: no guard rails (not advised)")


class FeaturizeConfig(_Strict):
    """Column roles. Columns given no role are dropped (and listed in the spec), unless `infer` is on: then
    numeric dtypes become numeric features and everything else categorical. Guard rails exclude columns that
    should not be features (ids, dates, free text, constants, repeated headers, leakage: tasks/ml/guards.py), with
    the reason in the features report; `keep` opts a column back in, `drop` leaves one out."""

    infer: bool = False
    keep: list[str] = Field(default=[], description="columns kept although a guard rail would exclude them")
    drop: list[str] = Field(default=[], description="columns never used as features (e.g. recorded after the "
                            "outcome)")
    guards: GuardOptions = GuardOptions()
    numeric: list[str] = []
    ordinal: list[str] = []
    categorical: list[str] = []
    text: list[str] = []
    sensitive: list[str] = []
    image_shape: list[int] | None = Field(default=None, description="[height, width] of the pixel columns (the "
                                          "numeric features in order): grids of misclassified and generated images")
    options: FeatureOptions = FeatureOptions()


_NAME = r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"  # problem and model names: used in paths and stage names


class SearchDimension(_Strict):
    """One hyperparameter's search range (`tune.space.<param>`): an int or float range, or a list of choices."""

    type: Literal["int", "float", "categorical"]
    low: float | None = Field(default=None, description="int and float: the smallest value")
    high: float | None = Field(default=None, description="int and float: the largest value (included)")
    log: bool = Field(default=False, description="int and float: sample on a log scale (needs low > 0)")
    choices: list[Any] | None = Field(default=None, description="categorical: the values tried")

    @model_validator(mode="after")
    def _consistent(self) -> SearchDimension:
        if self.type == "categorical":
            if not self.choices or self.low is not None or self.high is not None or self.log:
                raise ValueError("type categorical needs choices: [...] (and no low, high or log)")
            return self
        if self.low is None or self.high is None or self.choices is not None:
            raise ValueError(f"type {self.type} needs low and high (and no choices)")
        if self.low > self.high:
            raise ValueError(f"low {self.low} is above high {self.high}")
        if self.log and self.low <= 0:
            raise ValueError(f"log: true needs low > 0, not {self.low}")
        if self.type == "int" and not (float(self.low).is_integer() and float(self.high).is_integer()):
            raise ValueError(f"type int needs whole low and high, not {self.low} and {self.high}")
        return self

    @property
    def ends(self) -> list[Any]:
        """The values that bound the search: the choices, or low and high (ints for type int)."""
        if self.type == "categorical":
            return list(self.choices)
        return [int(self.low), int(self.high)] if self.type == "int" else [self.low, self.high]


class TuneConfig(_Strict):
    """An Optuna search over a model's hyperparameters (`problems.<problem>.models.<name>.tune`, tasks/stages/tune.py):
    TPE seeded with `seed`, the model's own hyperparameters as trial 0 (the defaults), the best trial's values
    merged over them for the model that is saved."""

    space: dict[str, SearchDimension] = Field(min_length=1, description="hyperparameter -> its search range")
    trials: int | None = Field(default=20, ge=1, description="trials at most, the defaults included; null: until "
                               "timeout_s")
    timeout_s: float | None = Field(default=None, gt=0, description="seconds at most (no new trial after it); a "
                                    "search that stops on time is not reproducible, one that stops on trials is")
    cv_folds: int = Field(default=0, ge=0, description="0: score on the validation split; k >= 2: k-fold "
                          "cross-validation on the training split, the running mean reported after each fold")
    pruner: Literal["median", "none"] = Field(default="median", description="median: stop a trial whose running "
                                              "score is worse than the median of earlier trials at the same fold "
                                              "(needs cv_folds >= 2: one validation score has nothing to prune)")

    @model_validator(mode="after")
    def _budget(self) -> TuneConfig:
        if self.trials is None and self.timeout_s is None:
            raise ValueError("give trials or timeout_s (or both): the search needs a budget")
        if self.cv_folds == 1:
            raise ValueError("cv_folds: 1 is not cross-validation; use 0 (the validation split) or k >= 2")
        return self


class ModelSpec(_Strict):
    """One model of a problem, as params.yaml writes it: `problems.<problem>.models.<name>`."""

    family: str
    hyperparameters: dict[str, Any] = {}
    features: dict[str, Any] = Field(default={}, description="overrides of problems.<problem>.features.options")
    engine: Literal["local", "dask"] = Field(
        default="local", description="dask: an XGBoost or LightGBM model fitted through the library's Dask interface "
                                     "on the partitioned training split (data larger than one worker's memory)")
    tune: TuneConfig | None = Field(default=None, description="a hyperparameter search before the fit (Optuna)")

    @model_validator(mode="after")
    def _dask_engine_family(self) -> ModelSpec:
        if self.engine == "dask" and self.family not in ("xgboost", "lightgbm"):
            raise ValueError(f"engine: dask needs family xgboost or lightgbm, not {self.family!r}")
        if self.engine == "dask" and self.tune is not None:
            raise ValueError("tune needs engine: local (trials fit in one worker)")
        return self


class ModelConfig(ModelSpec):
    """A model with the problem it belongs to; `key` (`<problem>-<name>`) names it in reports and the registry."""

    problem: str
    name: str

    @property
    def key(self) -> str:
        return f"{self.problem}-{self.name}"


class ProblemGates(_Strict):
    """A problem's own gate settings (`problems.<problem>.gates`); what is not set here comes from the shared
    sections (evaluate, champion, fairness, drift). `gates: {}` keeps every shared default."""

    threshold_rule: str | None = Field(default=None, description="replaces evaluate.threshold_rule")
    metric: str | None = Field(default=None, description="ranking metric; replaces champion.metric.<type>")
    quality_floor: dict[str, float] | None = Field(
        default=None, description="{min_<metric> | max_<metric>: limit}; replaces champion.quality_floor.<type>")
    champion: dict[str, Any] = Field(default={}, description="merged into champion.gate (on_fail, fail_pipeline)")
    latency_budget_ms: float | None = Field(default=None, gt=0, description="replaces champion.latency_budget_ms")
    fairness: dict[str, Any] = Field(default={}, description="merged into fairness.gate: limits, on_fail, "
                                     "fail_pipeline; its attributes merged per attribute")
    drift: dict[str, Any] = Field(default={}, description="merged into drift.gate")


class ProblemConfig(_Strict):
    """Everything about one problem: its data and splits, contract options, column roles, models and gates."""

    data: IngestConfig
    validate_: ValidateConfig = Field(alias="validate")
    features: FeaturizeConfig
    models: dict[str, ModelSpec] = Field(min_length=1)
    gates: ProblemGates = Field(description="the problem's gate overrides; `{}` for the shared defaults (the key "
                                "must be there: dvc.yaml's evaluate, fairness, drift and champion stages declare it)")

    @field_validator("models")
    @classmethod
    def _model_names(cls, models: dict[str, ModelSpec]) -> dict[str, ModelSpec]:
        bad = [name for name in models if not re.match(_NAME, name)]
        if bad:
            raise ValueError(f"model names {bad}: use letters, digits, '_', '.' and '-' (they name directories)")
        return models


class EvaluateConfig(_Strict):
    """Scoring every model on the holdout and later batches; intervals are percentile bootstrap intervals."""

    threshold_rule: str = Field(default="fixed:0.5", description='binary decision threshold, chosen on the '
                                'validation split: "fixed:<t>", "f1", "youden" or "precision>=<x>"')
    sweep_points: int = Field(default=101, ge=11, le=1001, description="thresholds in the sweep over [0, 1]")
    roc_points: int = Field(default=101, ge=11, le=1001, description="points kept on each ROC and PR curve")
    calibration_bins: int = Field(default=10, ge=2, le=100)
    bootstrap_resamples: int = Field(default=1000, ge=10)
    confidence: float = Field(default=0.95, gt=0, lt=1)

    @field_validator("threshold_rule")
    @classmethod
    def _known_rule(cls, rule: str) -> str:
        parse_threshold_rule(rule)
        return rule


class GatePolicy(_Strict):
    """What a failing gate does: the flow run ends Completed named 'Warning' (warn) or Failed (fail); the DVC
    stage exits non-zero, stopping `dvc repro`, only with `fail_pipeline`."""

    on_fail: Literal["warn", "fail"] = "warn"
    fail_pipeline: bool = False

    @model_validator(mode="after")
    def _consistent(self) -> GatePolicy:
        if self.fail_pipeline and self.on_fail != "fail":
            raise ValueError("fail_pipeline: true needs on_fail: fail")
        return self


class FairnessLimits(_Strict):
    """Disparity limits; null skips a check."""

    max_demographic_parity_difference: float | None = Field(default=None, ge=0, le=1)
    min_demographic_parity_ratio: float | None = Field(default=None, ge=0, le=1)
    max_equalized_odds_difference: float | None = Field(default=None, ge=0, le=1)


class FairnessGate(FairnessLimits, GatePolicy):
    attributes: dict[str, FairnessLimits] = Field(default={}, description="per-attribute limits replacing the "
                                                  "defaults above for that attribute")


class SimpsonConfig(_Strict):
    """Simpson's paradox check (tasks/ml/simpson.py) on the first evaluation batch of each audited model."""

    segments: list[str] = Field(default=[], description="columns within whose values (bands: fairness.bands) each "
                                "group difference is checked for reversal; those a problem lacks are skipped")
    min_cell_size: int = Field(default=30, ge=1, description="rows each group needs in a segment to compare there")


class FairnessConfig(_Strict):
    """Group metrics of binary classifiers over `featurize.<problem>.sensitive`, on every evaluation batch."""

    bootstrap_resamples: int = Field(default=300, ge=10)
    confidence: float = Field(default=0.95, gt=0, lt=1)
    bands: dict[str, list[float]] = Field(default={}, description="numeric attribute -> band edges [lo, hi)")
    min_group_size: int = Field(default=100, ge=0, description="smaller groups are reported, not gated")
    simpson: SimpsonConfig = SimpsonConfig()
    gate: FairnessGate = FairnessGate()


class DriftGate(GatePolicy):
    max_share_drifted: float = Field(default=0.3, ge=0, le=1)
    fail_on_target_drift: bool = False
    fail_on_prediction_drift: bool = False


class DriftConfig(_Strict):
    """Evidently drift of each later batch against the reference period's holdout."""

    max_rows: int = Field(default=20000, ge=100, description="each frame is sampled to this many rows")
    gate: DriftGate = DriftGate()


class ChampionConfig(_Strict):
    """Per problem, the best model by `metric` on the holdout that passes the quality floor, drift and fairness."""

    metric: dict[ProblemType, str] = {"binary": "roc_auc", "multiclass": "f1_macro", "regression": "rmse"}
    quality_floor: dict[ProblemType, dict[str, float]] = Field(
        default={}, description="problem type -> {min_<metric> | max_<metric>: limit} on the holdout")
    latency_budget_ms: float | None = Field(default=None, gt=0, description="models whose median single-row "
                                            "prediction takes longer (milliseconds) are not chosen; null: no budget")
    gate: GatePolicy = GatePolicy()


class ReportConfig(_Strict):
    title: str = "ML platform reports"


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


class DistributedConfig(_Strict):
    """Where a problem's models train and evaluate in parallel: a running Dask scheduler, or a local cluster."""

    scheduler: str | None = Field(default=None, description="address of a running Dask scheduler, e.g. "
                                  "tcp://dask-scheduler:8786; null starts a local cluster for the run")
    n_workers: int | None = Field(default=None, ge=1, description="local cluster only; null: one per CPU core")
    threads_per_worker: int = Field(default=1, ge=1, description="local cluster only")
    memory_limit: str = Field(default="auto", description="per local worker ('auto': the machine's memory shared "
                              "evenly); Dask spills to disk above it")
    fit_sample_rows: int = Field(default=1_000_000, ge=1, description="rows (a seeded sample) the preprocessing "
                                 "of a Dask-trained booster is fitted on; all rows when there are fewer")


class Params(_Strict):
    seed: int
    problems: dict[str, ProblemConfig] = Field(min_length=1)
    evaluate: EvaluateConfig = EvaluateConfig()
    fairness: FairnessConfig = FairnessConfig()
    drift: DriftConfig = DriftConfig()
    champion: ChampionConfig = ChampionConfig()
    report: ReportConfig = ReportConfig()
    recommend: RecommendConfig | None = Field(default=None, description="MovieLens recommendation and ranking")
    gpu: GpuConfig = GpuConfig()
    retrain: RetrainConfig = RetrainConfig()
    drift_check: DriftCheckConfig = DriftCheckConfig()
    distributed: DistributedConfig = DistributedConfig()

    # Views of the problem blocks by stage: what each stage of a problem reads.
    @property
    def ingest(self) -> dict[str, IngestConfig]:
        return {name: problem.data for name, problem in self.problems.items()}

    @property
    def validate_(self) -> dict[str, ValidateConfig]:
        return {name: problem.validate_ for name, problem in self.problems.items()}

    @property
    def featurize(self) -> dict[str, FeaturizeConfig]:
        return {name: problem.features for name, problem in self.problems.items()}

    @property
    def train(self) -> dict[str, ModelConfig]:
        """Every model of every problem, by key (`<problem>-<name>`)."""
        return {model.key: model for problem in self.problems for model in self.models(problem)}

    def models(self, problem: str) -> list[ModelConfig]:
        """The models of one problem, in params order; an unknown problem fails with the known ones."""
        if problem not in self.problems:
            raise ConfigError(f"problems.{problem}: no such problem in params.yaml; expected one of "
                              f"{sorted(self.problems)}")
        return [ModelConfig(problem=problem, name=name, **spec.model_dump())
                for name, spec in self.problems[problem].models.items()]

    # A problem's gate settings: the shared sections with its `gates` overrides applied (validated at parse time).
    def evaluate_for(self, problem: str) -> EvaluateConfig:
        rule = self.problems[problem].gates.threshold_rule
        return self.evaluate if rule is None else self.evaluate.model_copy(update={"threshold_rule": rule})

    def champion_for(self, problem: str) -> ChampionConfig:
        gates, kind = self.problems[problem].gates, self.problems[problem].data.problem_type
        metric = {**self.champion.metric, **({kind: gates.metric} if gates.metric else {})}
        floor = {**self.champion.quality_floor,
                 **({kind: gates.quality_floor} if gates.quality_floor is not None else {})}
        budget = self.champion.latency_budget_ms if gates.latency_budget_ms is None else gates.latency_budget_ms
        return ChampionConfig.model_validate({"metric": metric, "quality_floor": floor, "latency_budget_ms": budget,
                                              "gate": {**self.champion.gate.model_dump(), **gates.champion}})

    def ranking_metric(self, problem: str) -> str:
        """The metric a problem's models are ranked by (its champion's; what an ensemble and a `tune:` search
        optimise)."""
        return self.champion_for(problem).metric[self.problems[problem].data.problem_type]

    def fairness_for(self, problem: str) -> FairnessConfig:
        own = dict(self.problems[problem].gates.fairness)
        gate = self.fairness.gate.model_dump()
        attributes = {**gate.pop("attributes"), **own.pop("attributes", {})}
        return self.fairness.model_copy(update={"gate": FairnessGate.model_validate(
            {**gate, **own, "attributes": attributes})})

    def drift_for(self, problem: str) -> DriftConfig:
        return self.drift.model_copy(update={"gate": DriftGate.model_validate(
            {**self.drift.gate.model_dump(), **self.problems[problem].gates.drift})})

    @field_validator("problems")
    @classmethod
    def _problem_names(cls, problems: dict[str, ProblemConfig]) -> dict[str, ProblemConfig]:
        bad = [name for name in problems if not re.match(_NAME, name)]
        if bad:
            raise ValueError(f"problem names {bad}: use letters, digits, '_', '.' and '-' (they name directories)")
        return problems

    @model_validator(mode="after")
    def _model_features_valid(self) -> Params:
        for name, problem in self.problems.items():
            for model, spec in problem.models.items():
                try:
                    problem.features.options.merged(spec.features)
                except ValidationError as exc:
                    details = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
                    raise ValueError(f"problems.{name}.models.{model}.features: {details}") from None
        return self

    @model_validator(mode="after")
    def _problem_gates_valid(self) -> Params:
        for name, problem in self.problems.items():
            at, gates, kind = f"problems.{name}.gates", problem.gates, problem.data.problem_type
            if gates.metric is not None:
                _check_metric(kind, gates.metric, f"{at}.metric")
            if gates.quality_floor is not None:
                _check_floor(kind, gates.quality_floor, f"{at}.quality_floor")
            try:
                if gates.threshold_rule is not None:
                    parse_threshold_rule(gates.threshold_rule)
                for section in ("champion", "fairness", "drift"):
                    getattr(self, f"{section}_for")(name)
            except ValidationError as exc:
                details = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
                raise ValueError(f"{at}.{section}: {details}") from None
            except ConfigError as exc:
                raise ValueError(f"{at}.threshold_rule: {exc}") from None
        return self

    @model_validator(mode="after")
    def _champion_metrics_known(self) -> Params:
        for kind, metric in self.champion.metric.items():
            _check_metric(kind, metric, f"champion.metric.{kind}")
        for kind, limits in self.champion.quality_floor.items():
            _check_floor(kind, limits, f"champion.quality_floor.{kind}")
        return self


def _check_metric(kind: ProblemType, metric: str, at: str) -> None:
    if metric not in metric_names(kind):
        raise ValueError(f"{at}: unknown metric {metric!r}; expected one of {sorted(metric_names(kind))}")


def _check_floor(kind: ProblemType, limits: dict[str, float], at: str) -> None:
    for key in limits:
        bound, _, metric = key.partition("_")
        if bound not in ("min", "max") or metric not in metric_names(kind):
            raise ValueError(f"{at}.{key}: expected min_<metric> or max_<metric> with a metric among "
                             f"{sorted(metric_names(kind))}")


def parse_params(raw: dict[str, Any], origin: str = "params.yaml") -> Params:
    """Validate a raw parameter mapping; errors name the dotted parameter path and what was expected."""
    try:
        return Params.model_validate(raw)
    except ValidationError as exc:
        raise invalid_config(exc, origin) from None


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


def restrict(raw: dict[str, Any], problem: str, models: list[str] | None = None) -> dict[str, Any]:
    """Raw parameters cut to one problem (a smaller pipeline for tests and benchmarks), keeping `models` (names
    under `problems.<problem>.models`; default: all of them)."""
    if problem not in raw["problems"]:
        raise ConfigError(f"problems.{problem}: no such problem in params.yaml")
    block = raw["problems"][problem]
    keep = models if models is not None else list(block["models"])
    unknown = sorted(set(keep) - set(block["models"]))
    if unknown:
        raise ConfigError(f"models {unknown} are not under problems.{problem}.models in params.yaml")
    return {**raw, "problems": {problem: {**block, "models": {name: block["models"][name] for name in keep}}}}
