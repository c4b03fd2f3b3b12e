"""Scaffold: a new problem's params block and data contract from one file and a target.

Reads the file with explicit reader options (kept in the block, so ingest reads it the same way), infers the
problem type, the split (a split or period column, a separate test file, or a random split) and an id column,
applies the guard rails to the training rows, and picks a starter model set for the problem type. The block is
inserted as text into params.yaml, so every other line of the file stays as it was.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from tasks.adapters.expectations import draft_suite
from tasks.adapters.sources import load_source
from tasks.core.artefacts import TRAIN
from tasks.core.config import IngestConfig, ProblemConfig, ProblemType, ReadOptions, parse_params
from tasks.core.errors import ConfigError, DataError
from tasks.ml.guards import ID_NAME
from tasks.stages import featurize, ingest

TRAIN_LABELS = ("train", "training", "trn", "fit")
VALID_LABELS = ("valid", "validation", "val", "dev")
TEST_LABELS = ("test", "testing", "tst", "holdout", "eval")
MAX_PERIODS = 24  # more distinct values than this in a split column: not a split column

# Starter models per problem type: fast, robust families covering linear, tree ensemble and boosting.
STARTER_MODELS: dict[str, dict[str, dict[str, Any]]] = {
    "binary": {
        "logreg": {"family": "logistic_regression", "hyperparameters": {"C": 1.0, "max_iter": 1000}},
        "tree": {"family": "decision_tree", "hyperparameters": {"max_depth": 6, "min_samples_leaf": 10}},
        "forest": {"family": "random_forest", "hyperparameters": {"n_estimators": 200, "min_samples_leaf": 3,
                                                                  "n_jobs": 2}},
        "xgboost": {"family": "xgboost", "hyperparameters": {"n_estimators": 300, "learning_rate": 0.05,
                                                             "max_depth": 5, "subsample": 0.9, "n_jobs": 2}},
    },
    "multiclass": {
        "softmax": {"family": "logistic_regression", "hyperparameters": {"C": 1.0, "max_iter": 1000}},
        "knn": {"family": "knn", "hyperparameters": {"n_neighbors": 15, "weights": "distance"}},
        "forest": {"family": "random_forest", "hyperparameters": {"n_estimators": 200, "n_jobs": 2}},
        "xgboost": {"family": "xgboost", "hyperparameters": {"n_estimators": 300, "learning_rate": 0.05,
                                                             "max_depth": 5, "n_jobs": 2}},
    },
    "regression": {
        "ridge": {"family": "ridge", "hyperparameters": {"alpha": 1.0}},
        "forest": {"family": "random_forest", "hyperparameters": {"n_estimators": 200, "min_samples_leaf": 3,
                                                                  "n_jobs": 2}},
        "xgboost": {"family": "xgboost", "hyperparameters": {"n_estimators": 400, "learning_rate": 0.05,
                                                             "max_depth": 5, "subsample": 0.9, "n_jobs": 2}},
    },
}


@dataclass(frozen=True)
class Scaffold:
    name: str
    block: dict[str, Any]            # problems.<name> as params.yaml writes it
    suite: dict[str, Any]            # the drafted contract (GX suite JSON)
    spec: featurize.FeatureSpec      # what featurize makes of the training rows: roles, guard-rail findings
    split: str                       # how the rows are split, in words


def problem_type_of(target: pd.Series) -> ProblemType:
    """Two classes: binary; a number with many distinct (or fractional) values: regression; else multiclass."""
    values = target.dropna()
    distinct = values.nunique()
    if distinct == 2:
        return "binary"
    numeric = pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)
    if numeric and (distinct > 20 or not (values.astype(float) % 1 == 0).all()):
        return "regression"
    if distinct < 2:
        raise DataError(f"target {target.name!r} has {distinct} distinct value(s); a model needs at least two")
    return "multiclass"


def split_of(frame: pd.DataFrame, column: str | None, has_test_file: bool) -> tuple[dict[str, Any], str]:
    """The data block's split keys for a split/period column (labels such as train/valid/test, or ordered periods),
    a separate test file, or neither; and the split in words."""
    if column is None:
        if has_test_file:
            return ({"holdout_fraction": 0, "validation_fraction": 0.2, "selection": "valid"},
                    "train on all of the source (a random 20% validation split ranks the models); the test file "
                    "is the later batch `test`")
        return {"holdout_fraction": 0.2, "validation_fraction": 0.2}, "random: 20% holdout, 20% of the rest validation"
    if column not in frame.columns:
        raise DataError(f"--split-column {column!r} is not a column; found {sorted(map(str, frame.columns))}")
    values = frame[column].dropna()
    periods = sorted(values.unique().tolist(), key=str) if not pd.api.types.is_numeric_dtype(values) else sorted(
        values.unique().tolist())
    if len(periods) > MAX_PERIODS:
        raise DataError(f"--split-column {column!r} has {len(periods)} distinct values (> {MAX_PERIODS}): a split "
                        "column holds a few labels (train/test) or periods")
    labels = {str(p).lower(): p for p in periods}
    train = next((labels[x] for x in TRAIN_LABELS if x in labels), None)
    if train is not None:
        valid = next((labels[x] for x in VALID_LABELS if x in labels), None)
        later = [p for p in periods if p not in (train, valid)]
        if not later:
            raise DataError(f"--split-column {column!r}: no rows to test on besides {train!r}/{valid!r}")
        keys = {"time_column": column, "reference_period": _plain(train), "current_periods": _plain(later),
                "holdout_fraction": 0, "validation_fraction": 0.2, "selection": "valid"}
        if valid is not None:
            keys["validation_period"] = _plain(valid)
        how = (f"{column!r} = {train!r} trains" + (f", {valid!r} validates" if valid is not None else
                                                    " (20% of it validates)")
               + f"; {later} are later batches; the models are ranked on the validation split")
        return keys, how
    if len(periods) < 2:
        raise DataError(f"--split-column {column!r} has one value {periods}: nothing to evaluate on")
    keys = {"time_column": column, "reference_period": _plain(periods[0]), "current_periods": _plain(periods[1:]),
            "holdout_fraction": 0.2, "validation_fraction": 0.2}
    return keys, (f"periods of {column!r}: models train on {periods[0]!r} (20% holdout), later periods "
                  f"{periods[1:]} are evaluation and drift batches")


def id_column_of(frame: pd.DataFrame, skip: set[str]) -> str | None:
    """The first column that is unique on every row and named like an id (id, case_id, PassengerId, ...)."""
    for column in frame.columns:
        if column in skip or not ID_NAME.search(str(column)):
            continue
        values = frame[column]
        if values.notna().all() and values.is_unique and not pd.api.types.is_float_dtype(values):
            return str(column)
    return None


def scaffold(name: str, source: str, target: str, read: ReadOptions, *, split_column: str | None = None,
             test_source: str | None = None, sensitive: list[str] | None = None,
             problem_type: ProblemType | None = None, id_column: str | None = None,
             target_map: str | None = None, seed: int = 42) -> Scaffold:
    """The params block, contract and feature findings for a new problem `name` (nothing is written here);
    `target_map` is the command line's 'FROM=TO,...'."""
    frame = _read(source, read, target)
    raw_test = _read(test_source, read, target)[target] if test_source else frame[target].iloc[:0]
    if target_map:
        target_map = parse_target_map(target_map, {str(v) for v in pd.concat([frame[target], raw_test]).unique()})
        frame[target] = frame[target].replace(target_map)
    unseen = sorted({str(v) for v in raw_test.replace(target_map or {}).unique()} - set(frame[target].astype(str)))
    if unseen:
        raise DataError(f"{test_source}: target {target!r} values {unseen[:5]} never occur in {source}; rewrite "
                        "them with --target-map 'FROM=TO,...' (e.g. '>50K.=>50K')")
    kind = problem_type or problem_type_of(frame[target])
    split, how = split_of(frame, split_column, test_source is not None)
    chosen_id = id_column or id_column_of(frame, {target, split_column} - {None})
    data: dict[str, Any] = {"source": source, "read": _read_block(read), **({"test_source": test_source}
                                                                          if test_source else {}),
                            "target": target, **({"target_map": target_map} if target_map else {}),
                            "problem_type": kind,
                            **({"id_column": chosen_id} if chosen_id else {}), **split}
    missing = [c for c in sensitive or [] if c not in frame.columns]
    if missing:
        raise DataError(f"--sensitive column(s) {missing} are not in {source}")
    block = {"data": data, "validate": {"quarantine": "off"},
             "features": {"infer": True, "keep": [], "drop": [],
                          **({"sensitive": list(sensitive)} if sensitive else {}),
                          "options": {}},
             "models": STARTER_MODELS[kind], "gates": {}}
    problem = ProblemConfig.model_validate(block)
    cfg = problem.data
    reference = reference_rows(frame, cfg)
    train = ingest.split(frame, cfg, seed, ingest.load_test(cfg, frame.columns))[TRAIN]
    spec = featurize.build_spec(train, cfg, problem.features, source, ingest.duplicated_headers(frame), seed)
    return Scaffold(name=name, block=block, suite=contract(name, reference, cfg, spec), spec=spec, split=how)


def parse_target_map(text: str, values: set[str]) -> dict[str, str]:
    """'FROM=TO,...' -> {FROM: TO}. Labels may hold '=' themselves ('<=50K.=<=50K'): each pair is cut at the first
    '=' whose left side is one of the target's `values`."""
    mapping = {}
    for pair in text.split(","):
        cuts = [i for i, char in enumerate(pair) if char == "=" and pair[:i] in values]
        if not cuts:
            raise DataError(f"--target-map {pair!r}: expected FROM=TO with FROM one of the target's values "
                            f"{sorted(values)[:10]}")
        mapping[pair[:cuts[0]]] = pair[cuts[0] + 1:]
    return mapping


def _read(source: str, read: ReadOptions, target: str) -> pd.DataFrame:
    frame = load_source(source, read)
    if target not in frame.columns:
        raise DataError(f"{source}: no target column {target!r}; found {sorted(map(str, frame.columns))} (check "
                        "--sep, --no-header/--names and --skip-rows)")
    return frame


def _read_block(read: ReadOptions) -> dict[str, Any]:
    """The reader options that differ from read_csv's defaults (an empty block reads a plain CSV)."""
    defaults = ReadOptions().model_dump()
    return {k: v for k, v in read.model_dump().items() if v != defaults[k]}


def _plain(value: Any) -> Any:
    """numpy scalars (and lists of them) as plain Python values YAML can write."""
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value.item() if hasattr(value, "item") else value


def reference_rows(frame: pd.DataFrame, cfg: IngestConfig) -> pd.DataFrame:
    """The rows a contract is drafted from: the reference period (all rows without a period column)."""
    if cfg.time_column is None:
        return frame
    column = frame[cfg.time_column]
    return frame[column == ingest.period_value(cfg.reference_period, column)]


def contract(name: str, reference: pd.DataFrame, cfg: IngestConfig, spec: featurize.FeatureSpec) -> dict[str, Any]:
    """A draft contract over the columns the problem uses: target, id, period and the features featurize keeps
    (a column the guard rails exclude, or one with no value in the reference rows, gets no expectations)."""
    columns = [c for c in [cfg.target, cfg.id_column, cfg.time_column, *spec.features] if c is not None]
    sample = reference[list(dict.fromkeys(columns))]
    return draft_suite(sample, name=name, target=cfg.target, id_column=cfg.id_column,
                       categorical=spec.categorical, numeric=spec.numeric, ordinal=spec.ordinal,
                       time_column=cfg.time_column, problem_type=cfg.problem_type)


def problem_contract(params_path: Path, problem: str) -> dict[str, Any]:
    """The draft contract of a problem already in params.yaml, read exactly as its ingest stage reads it."""
    raw = yaml.safe_load(params_path.read_text())
    params = parse_params(raw, str(params_path))
    if problem not in params.problems:
        raise ConfigError(f"problems.{problem}: no such problem in {params_path}; expected one of "
                          f"{sorted(params.problems)}")
    cfg = params.ingest[problem]
    frame = ingest.load_raw(cfg)
    train = ingest.split(frame, cfg, params.seed, ingest.load_test(cfg, frame.columns))[TRAIN]
    spec = featurize.build_spec(train, cfg, params.featurize[problem], cfg.source, ingest.duplicated_headers(frame),
                                params.seed)
    return contract(problem, reference_rows(frame, cfg), cfg, spec)


# ---------------------------------------------------------------- params.yaml, edited as text


def insert_problem(text: str, name: str, block: dict[str, Any], comment: str) -> str:
    """`text` (params.yaml) with `problems.<name>` appended to the problems mapping, every other line unchanged;
    checked by parsing the result."""
    before = yaml.safe_load(text)
    if name in before.get("problems", {}):
        raise ConfigError(f"problems.{name} already exists in params.yaml; choose another --name or remove it")
    lines = text.splitlines(keepends=True)
    start = next((i for i, line in enumerate(lines) if re.match(r"^problems:\s*(#.*)?$", line)), None)
    if start is None:
        raise ConfigError("params.yaml has no top-level `problems:` mapping")
    end = next((i for i in range(start + 1, len(lines)) if re.match(r"^[^\s#]", lines[i])), len(lines))
    while end > start + 1 and not lines[end - 1].strip():
        end -= 1  # keep the blank lines before the next section after the new block
    body = yaml.safe_dump(block, sort_keys=False, default_flow_style=None, width=110, allow_unicode=True)
    new = [f"  {name}:   # {comment}\n", *(f"    {line}\n" for line in body.splitlines())]
    if not lines[end - 1].endswith("\n"):
        lines[end - 1] += "\n"
    result = "".join([*lines[:end], *new, *lines[end:]])
    after = yaml.safe_load(result)
    if {k: v for k, v in after.items() if k != "problems"} != {k: v for k, v in before.items() if k != "problems"} \
            or {k: v for k, v in after["problems"].items() if k != name} != before["problems"] \
            or after["problems"][name] != yaml.safe_load(yaml.safe_dump(block)):
        raise ConfigError("params.yaml: inserting the new problem would change other keys; add it by hand")
    return result
