"""The one adapter for Great Expectations 1.x: draft a data contract, validate a frame against it, quarantine rows.

A contract is GX's own suite JSON (`ExpectationSuite.to_json_dict()`), kept in the repository and reviewed like
code. Each expectation's `meta.severity` is "error" (a failure fails validation) or "warning" (reported only); an
expectation a user adds without it falls back to GX's own `severity` ("critical" -> error, otherwise warning).
GX is imported inside the functions, so importing this module stays cheap.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Collection, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from tasks.core.errors import ConfigError, DataError

Severity = Literal["error", "warning"]
SEVERITIES: tuple[Severity, ...] = ("error", "warning")
REASON_COLUMN = "quarantine_reason"
_EXAMPLES = 5
_SHOWN_ITEMS = 8


# --------------------------------------------------------------------------------------------------- drafting


def draft_suite(
    frame: pd.DataFrame,
    *,
    name: str,
    target: str,
    id_column: str | None,
    categorical: Sequence[str],
    numeric: Sequence[str],
    ordinal: Sequence[str] = (),
    time_column: str | None = None,
    problem_type: Literal["binary", "multiclass", "regression"] = "binary",
    margin: float = 0.1,
) -> dict[str, Any]:
    """Draft a contract from a reference sample, as GX suite JSON.

    Schema (every column exists with its dtype; no extra columns), nullability, numeric ranges widened by
    `margin` of their span (never below 0 for non-negative data), value sets for categorical and non-numeric
    ordinal columns, features not constant, unique non-null ids, row count within `margin`, the target's domain
    (two or more classes) and class balance within `margin`. Schema, id, time and target-domain expectations are
    errors; ranges, value sets, nulls in features, constancy, row count and balance are warnings (the model
    imputes missing values and handles unseen categories). The row-count bounds describe a batch the size of the
    reference (one period); a feature already constant in the reference gets no constancy check.
    """
    import great_expectations.expectations as gxe
    from great_expectations.core import ExpectationSuite

    if frame.empty:
        raise DataError(f"draft_suite({name!r}): the reference sample has no rows")
    roles = {"target": [target], "id": [id_column] if id_column else [], "time": [time_column] if time_column else [],
             "numeric": list(numeric), "ordinal": list(ordinal), "categorical": list(categorical)}
    named = [c for cols in roles.values() for c in cols]
    missing = sorted({c for c in named if c not in frame.columns})
    if missing:
        raise DataError(f"draft_suite({name!r}): column(s) {missing} not in the reference sample; "
                        f"found {sorted(map(str, frame.columns))}")
    twice = sorted({c for c in named if named.count(c) > 1})
    if twice:
        raise DataError(f"draft_suite({name!r}): column(s) {twice} are given more than one role")
    empty = [str(c) for c in frame.columns if frame[c].isna().all()]
    if empty:
        raise DataError(f"draft_suite({name!r}): column(s) {empty} are entirely null in the reference sample; "
                        "drop or fill them before drafting")
    n = len(frame)
    exps: list[Any] = [gxe.ExpectTableColumnsToMatchSet(
        column_set=[str(c) for c in frame.columns], exact_match=True, **_sev("warning"),
        notes="extra columns are dropped from the features; missing ones fail expect_column_to_exist",
    ), gxe.ExpectTableRowCountToBeBetween(
        min_value=math.floor(n * (1 - margin)), max_value=math.ceil(n * (1 + margin)), **_sev("warning"),
        notes=f"drafted from {n:,} rows, margin {margin:.0%}",
    )]
    strict = {target, id_column, time_column} - {None}
    features = [*numeric, *ordinal, *categorical]
    for column in frame.columns:
        values = frame[column]
        severity: Severity = "error" if column in strict else "warning"
        exps.append(gxe.ExpectColumnToExist(column=column, **_sev("error")))
        exps.append(gxe.ExpectColumnTypeToBe(column=column, type_=str(values.dtype), **_sev("error")))
        null_fraction = float(values.isna().mean())
        if null_fraction == 0:
            exps.append(gxe.ExpectColumnValuesToNotBeNull(column=column, **_sev(severity)))
        else:
            mostly = math.floor((1 - null_fraction * (1 + margin)) * 1000) / 1000
            exps.append(gxe.ExpectColumnValuesToNotBeNull(
                column=column, mostly=max(mostly, 0.0), **_sev("warning"),
                notes=f"{null_fraction:.2%} null in the reference sample, margin {margin:.0%}"))
        if column in features:
            exps.extend(_domain(values, margin))
            exps.append(gxe.ExpectColumnUniqueValueCountToBeBetween(
                column=column, min_value=1, **_sev("error"), notes="an all-null column carries nothing"))
            if values.nunique() > 1:
                exps.append(gxe.ExpectColumnUniqueValueCountToBeBetween(
                    column=column, min_value=2, **_sev("warning"), notes="a constant feature carries no signal"))
    if id_column:
        exps.append(gxe.ExpectColumnValuesToBeUnique(column=id_column, **_sev("error")))
    exps.extend(_target(frame[target], problem_type, margin))
    suite = ExpectationSuite(name=name, expectations=exps, meta={
        "drafted_from_rows": n, "margin": margin, "target": target, "id_column": id_column,
        "time_column": time_column, "problem_type": problem_type,
        "roles": {"numeric": list(numeric), "ordinal": list(ordinal), "categorical": list(categorical)},
    })
    return json.loads(json.dumps(suite.to_json_dict()))


def _sev(severity: Severity) -> dict[str, Any]:
    """Our severity in meta, mirrored in GX's own field so GX tools agree."""
    return {"meta": {"severity": severity}, "severity": "critical" if severity == "error" else "warning"}


def _plain(value: Any) -> Any:
    """A JSON-friendly Python scalar (numpy scalars unwrapped)."""
    return value.item() if isinstance(value, np.generic) else value


def _domain(values: pd.Series, margin: float) -> list[Any]:
    """Numeric data: a range widened by `margin` of its span. Anything else: the observed value set."""
    import great_expectations.expectations as gxe

    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        low, high = float(values.min()), float(values.max())
        pad = margin * (high - low if high > low else max(abs(high), 1.0))
        lo, hi = low - pad, high + pad
        if low >= 0:
            lo = max(lo, 0.0)
        if (values.dropna() % 1 == 0).all():
            lo, hi = math.floor(lo), math.ceil(hi)
        return [gxe.ExpectColumnValuesToBeBetween(
            column=values.name, min_value=round(lo, 6), max_value=round(hi, 6), **_sev("warning"),
            notes=f"reference min {low:g}, max {high:g}, widened by {margin:.0%} of the span")]
    return [gxe.ExpectColumnValuesToBeInSet(
        column=values.name, value_set=_sorted_values(values), **_sev("warning"),
        notes="values seen in the reference sample; an unseen value is scored as an unknown category")]


def _sorted_values(values: pd.Series) -> list[Any]:
    uniques = [_plain(v) for v in pd.unique(values.dropna())]
    return sorted(uniques, key=lambda v: (float(v), str(v)) if _is_number(v) else (math.inf, str(v)))


def _is_number(value: Any) -> bool:
    try:
        float(value)
    except (TypeError, ValueError):
        return False
    return True


def _target(values: pd.Series, problem_type: str, margin: float) -> list[Any]:
    """Target domain (errors) and class balance or range (warnings)."""
    import great_expectations.expectations as gxe

    column = values.name
    if problem_type == "regression":
        return _domain(values, margin)
    classes = _sorted_values(values)
    exps: list[Any] = [
        gxe.ExpectColumnValuesToBeInSet(column=column, value_set=classes, **_sev("error")),
        gxe.ExpectColumnUniqueValueCountToBeBetween(
            column=column, min_value=2, **_sev("error"), notes="a classifier needs at least two classes"),
    ]
    shares = values.value_counts(normalize=True)
    if pd.api.types.is_numeric_dtype(values) and set(classes) <= {0, 1}:
        p = float(shares.get(1, 0.0))
        exps.append(gxe.ExpectColumnMeanToBeBetween(
            column=column, min_value=round(p * (1 - margin), 4), max_value=round(1 - (1 - p) * (1 - margin), 4),
            **_sev("warning"), notes=f"positive rate {p:.4f} in the reference sample, margin {margin:.0%}"))
    else:
        exps.append(gxe.ExpectColumnKLDivergenceToBeLessThan(
            column=column, threshold=round(margin**2 / 2, 6), **_sev("warning"),
            partition_object={"values": classes, "weights": [float(shares[c]) for c in classes]},
            notes=f"class shares of the reference sample; the threshold matches a {margin:.0%} relative shift"))
    return exps


# ------------------------------------------------------------------------------------------------- validation


@dataclass(frozen=True)
class ExpectationResult:
    """One expectation's outcome on one frame. `unexpected_percent` is of all rows; `rows` are the positions of
    the failing rows (row-level expectations only); `evaluated` is False where the column was missing."""

    type: str
    column: str | None
    severity: Severity
    success: bool
    expected: dict[str, Any]
    observed: Any = None
    unexpected_count: int | None = None
    unexpected_percent: float | None = None
    examples: list[Any] = field(default_factory=list)
    detail: str = ""
    evaluated: bool = True
    rows: tuple[int, ...] = field(default=(), repr=False)

    def describe(self, row_count: int) -> str:
        """One readable line: severity, expectation, column, how many rows, example values."""
        where = f" on column {self.column!r}" if self.column else ""
        head = f"[{self.severity}] {self.type}{where}"
        if self.detail:
            return f"{head}: {self.detail}"
        if self.unexpected_count is not None:
            share = f"{self.unexpected_percent:.2f}%"
            text = f"{head}: {self.unexpected_count:,} of {row_count:,} rows unexpected ({share})"
        else:
            text = f"{head}: observed {_short(self.observed)}"
        text += f"; expected {_kwargs_text(self.expected)}" if self.expected else ""
        return text + (f"; e.g. {', '.join(map(repr, self.examples))}" if self.examples else "")


@dataclass(frozen=True)
class ValidationOutcome:
    """Every expectation's result for one dataset (a split or a period); `success` means no failed error."""

    dataset_name: str
    suite_name: str
    row_count: int
    results: list[ExpectationResult]
    seconds: float = 0.0
    gx_result: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def failures(self) -> list[ExpectationResult]:
        return [r for r in self.results if not r.success]

    @property
    def errors(self) -> list[ExpectationResult]:
        return [r for r in self.failures if r.severity == "error"]

    @property
    def warnings(self) -> list[ExpectationResult]:
        return [r for r in self.failures if r.severity == "warning"]

    @property
    def success(self) -> bool:
        return not self.errors

    def summary(self) -> str:
        """A status line, then one line per failed expectation, errors first."""
        status = "passed" if self.success else "FAILED"
        lines = [f"{self.dataset_name}: {status} ({len(self.errors)} error(s), {len(self.warnings)} warning(s) "
                 f"in {len(self.results)} expectations on {self.row_count:,} rows, suite {self.suite_name!r})"]
        lines += [f"  {r.describe(self.row_count)}" for r in [*self.errors, *self.warnings] if r.evaluated]
        not_run: dict[str, int] = {}
        for r in self.failures:
            if not r.evaluated:
                not_run[r.detail] = not_run.get(r.detail, 0) + 1
        lines += [f"  {count} more expectation(s) {detail}" for detail, count in not_run.items()]
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form (row positions left out; GX's own result kept for Data Docs)."""
        data = asdict(self)
        for result in data["results"]:
            result.pop("rows")
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ValidationOutcome:
        results = [ExpectationResult(**r) for r in data["results"]]
        return cls(**{**data, "results": results})


def load_suite(suite: dict[str, Any]) -> Any:
    """A GX `ExpectationSuite` from its JSON; an invalid expectation fails naming its position and type
    (GX itself would log and drop it)."""
    from great_expectations.core import ExpectationSuite
    from great_expectations.expectations.expectation_configuration import ExpectationConfiguration

    name = suite.get("name") or "unnamed"
    built = []
    for i, exp in enumerate(suite.get("expectations", [])):
        try:
            config = ExpectationConfiguration(**{k: v for k, v in exp.items() if k != "rendered_content"})
            built.append(config.to_domain_obj())
        except Exception as exc:  # GX raises several types for a bad configuration
            raise ConfigError(f"suite {name!r}: expectation #{i} ({exp.get('type')!r}, kwargs "
                              f"{exp.get('kwargs')}) is invalid: {exc}") from None
        severity = (exp.get("meta") or {}).get("severity")
        if severity is not None and severity not in SEVERITIES:
            raise ConfigError(f"suite {name!r}: expectation #{i} ({exp.get('type')!r}) has meta.severity "
                              f"{severity!r}; expected one of {list(SEVERITIES)}")
    return ExpectationSuite(name=name, expectations=built, meta=suite.get("meta"))


def validate_frame(frame: pd.DataFrame, suite_dict: dict[str, Any], *, dataset_name: str) -> ValidationOutcome:
    """Run the contract on `frame` with GX (an ephemeral context, nothing written).

    An empty frame raises DataError. Expectations on a column the frame lacks are not run: they fail with
    "column missing" next to the failing `expect_column_to_exist`. An expectation GX cannot evaluate (a wrong
    dtype, say) fails with GX's message.
    """
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    if frame.empty:
        raise DataError(f"{dataset_name}: the frame has no rows; nothing to validate")
    suite = load_suite(suite_dict)
    data = frame.reset_index(drop=True)  # GX reports row labels; make them positions
    keys = [_key(exp.configuration) for exp in suite.expectations]
    skipped: dict[str, ExpectationResult] = {}
    for key, exp in zip(keys, suite.expectations, strict=True):
        absent = [c for c in _columns(exp.configuration.kwargs) if c not in data.columns]
        if absent and exp.configuration.type != "expect_column_to_exist":
            skipped[key] = _result(exp.configuration, success=False, evaluated=False,
                                   detail=f"not run: column {absent[0]!r} is missing")
    suite.expectations = [e for k, e in zip(keys, suite.expectations, strict=True) if k not in skipped]
    started = time.perf_counter()
    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    batch = (context.data_sources.add_pandas("frames").add_dataframe_asset(dataset_name)
             .add_batch_definition_whole_dataframe("whole").get_batch(batch_parameters={"dataframe": data}))
    gx_result = batch.validate(suite, result_format={
        "result_format": "COMPLETE", "partial_unexpected_count": 20, "return_unexpected_index_query": False})
    seconds = time.perf_counter() - started
    by_key = {_key(r.expectation_config): r for r in gx_result.results}
    results = [skipped[k] if k in skipped else _from_gx(by_key[k]) for k in keys]
    return ValidationOutcome(
        dataset_name=dataset_name, suite_name=suite.name, row_count=len(data), results=results,
        seconds=round(seconds, 3), gx_result=_trimmed_json(gx_result),
    )


def _columns(kwargs: dict[str, Any]) -> list[str]:
    cols = [kwargs[k] for k in ("column", "column_A", "column_B") if kwargs.get(k) is not None]
    return cols + list(kwargs.get("column_list") or [])


def _key(config: Any) -> str:
    kwargs = {k: v for k, v in config.kwargs.items() if k != "batch_id"}  # GX adds batch_id to results
    return json.dumps([config.type, kwargs], sort_keys=True, default=str)


def _severity(config: Any) -> Severity:
    meta = config.meta or {}
    if meta.get("severity") in SEVERITIES:
        return meta["severity"]
    return "error" if str(getattr(config.severity, "value", config.severity)) == "critical" else "warning"


def _result(config: Any, **values: Any) -> ExpectationResult:
    expected = {k: _plain(v) for k, v in config.kwargs.items() if k not in ("column", "batch_id")}
    return ExpectationResult(type=config.type, column=config.kwargs.get("column"), severity=_severity(config),
                             expected=expected, **values)


def _from_gx(gx_result: Any) -> ExpectationResult:
    raw = gx_result.result or {}
    config = gx_result.expectation_config
    detail = ""
    if not gx_result.success:
        message = _exception_message(gx_result.exception_info or {})
        if message:
            detail = f"could not be evaluated: {message}"
        elif config.type == "expect_column_to_exist":
            detail = f"column {config.kwargs['column']!r} is missing"
    counts = raw.get("partial_unexpected_counts") or [{"value": v} for v in raw.get("partial_unexpected_list", [])]
    examples = list({repr(v): v for v in (_plain(c["value"]) for c in counts)}.values())[:_EXAMPLES]
    percent = raw.get("unexpected_percent_total", raw.get("unexpected_percent"))
    return _result(
        config,
        success=bool(gx_result.success),
        observed=_jsonable((raw.get("details") or {}).get("mismatched") or raw.get("observed_value")),
        unexpected_count=raw.get("unexpected_count"),
        unexpected_percent=None if percent is None else float(percent),
        examples=_jsonable(examples),
        detail=detail,
        rows=tuple(int(i) for i in raw.get("unexpected_index_list") or ()),
    )


def _exception_message(info: dict[str, Any]) -> str:
    if info.get("raised_exception"):
        return str(info.get("exception_message") or "")
    for value in info.values():
        if isinstance(value, dict) and value.get("exception_message"):
            return str(value["exception_message"]).strip().splitlines()[-1]
    return ""


def _jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value, default=_plain_default))


def _plain_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return str(value)


def _trimmed_json(gx_result: Any) -> dict[str, Any]:
    """GX's result JSON without the full unexpected value and index lists (which can be as long as the frame;
    dropped before serialising, which would otherwise dominate the run time)."""
    for result in gx_result.results:
        for key in ("unexpected_list", "unexpected_index_list", "partial_unexpected_index_list"):
            (result.result or {}).pop(key, None)
    return _jsonable(gx_result.to_json_dict())


def _short(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, list) and len(value) > _SHOWN_ITEMS:
        return f"[{', '.join(map(repr, value[:_SHOWN_ITEMS]))}, ... ({len(value)} values)]"
    return repr(value)


def _kwargs_text(kwargs: dict[str, Any]) -> str:
    return ", ".join(f"{k}={_short(v)}" for k, v in kwargs.items() if v is not None)


# ------------------------------------------------------------------------------------------------- quarantine


def quarantine(
    frame: pd.DataFrame, outcome: ValidationOutcome, *, severities: Collection[str] = SEVERITIES,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split off the rows that failed a row-level expectation of the given severities.

    Returns (kept, quarantined); `quarantined` has a `quarantine_reason` column naming every failed expectation
    and column, e.g. "expect_column_values_to_be_between(AGEP); expect_column_values_to_be_unique(id)". All
    copies of a duplicated id are quarantined. If every row would go, the problem is the column, not the rows:
    DataError. Needs the outcome `validate_frame` returned for this frame (row positions are not serialised).
    """
    if len(frame) != outcome.row_count:
        raise ValueError(f"quarantine: frame has {len(frame)} rows but {outcome.dataset_name!r} was validated "
                         f"with {outcome.row_count}; pass the frame that was validated")
    reasons: dict[int, list[str]] = {}
    for result in outcome.failures:
        if result.severity in severities:
            for row in result.rows:
                reasons.setdefault(row, []).append(f"{result.type}({result.column})")
    if reasons and len(reasons) == len(frame):
        raise DataError(f"{outcome.dataset_name}: every one of {len(frame):,} rows fails a row-level expectation; "
                        "the whole column is wrong, not single rows:\n" + outcome.summary())
    positions = np.fromiter(sorted(reasons), dtype=np.int64, count=len(reasons))
    mask = np.zeros(len(frame), dtype=bool)
    mask[positions] = True
    bad = frame.iloc[positions].assign(**{REASON_COLUMN: ["; ".join(reasons[p]) for p in positions]})
    return frame.iloc[~mask], bad


# ------------------------------------------------------------------------------------------------- data docs


def data_docs_html(gx_result: dict[str, Any]) -> str:
    """GX's own Data Docs page for one validation result, exactly as GX renders it (it links CDN assets)."""
    from great_expectations.core.expectation_validation_result import ExpectationSuiteValidationResultSchema
    from great_expectations.render.renderer.page_renderer import ValidationResultsPageRenderer
    from great_expectations.render.view.view import DefaultJinjaPageView

    result = ExpectationSuiteValidationResultSchema().load(gx_result)
    return DefaultJinjaPageView().render(ValidationResultsPageRenderer().render(result))


def data_docs_css() -> str:
    """The stylesheet GX ships for Data Docs (the only one of its assets that is not on a CDN)."""
    from pathlib import Path

    import great_expectations

    return (Path(great_expectations.__file__).parent / "render/view/static/styles/data_docs_default_styles.css"
            ).read_text()
