"""Validate: run the problem's data contract on the reference period and on every later batch.

Error expectations stop the pipeline with a summary a person can act on; warnings are reported. With quarantine
on, rows failing row-level expectations are split off with their reason and the rest goes on.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from tasks.adapters.expectations import REASON_COLUMN, ValidationOutcome, quarantine, validate_frame
from tasks.core.errors import DataError

RANDOM_SPLITS = ("train", "valid", "holdout")
SPLIT_COLUMN = "quarantine_split"  # which split a quarantined row came from (prefixed: a user may have `split`)
SEVERITIES = {"errors": ("error",), "all": ("error", "warning")}


def draft_command(problem: str, contract: Path) -> str:
    """The command that drafts a problem's missing contract from its own block in params.yaml."""
    return shlex.join(["bin/python", "scripts/draft_suite.py", "--problem", problem, "--out", str(contract)])


def missing_contract(problem: str, contract: Path) -> DataError:
    return DataError(f"{contract}: no data contract for problem {problem!r}; draft one with\n"
                     f"  {draft_command(problem, contract)}\nthen review it and commit it")


@dataclass(frozen=True)
class Validated:
    splits: dict[str, pd.DataFrame]      # what the rest of the pipeline uses
    quarantined: pd.DataFrame            # split-off rows with `split` and the reason
    outcomes: list[ValidationOutcome]


def datasets(splits: dict[str, pd.DataFrame], reference: str) -> dict[str, tuple[pd.DataFrame, pd.Series]]:
    """The reference period as one dataset (its random splits joined) and each later batch on its own, with the
    split each row belongs to."""
    parts = [name for name in RANDOM_SPLITS if name in splits]
    joined = pd.concat([splits[n] for n in parts], ignore_index=True)
    labels = pd.Series([n for n in parts for _ in range(len(splits[n]))], dtype="object")
    out = {reference: (joined, labels)}
    for name, frame in splits.items():
        if name not in RANDOM_SPLITS:
            out[name] = (frame, pd.Series([name] * len(frame), dtype="object"))
    return out


def validate_problem(splits: dict[str, pd.DataFrame], suite: dict, *, problem: str, reference: str,
                     quarantine_mode: str = "off") -> Validated:
    """Validate every dataset; raise `DataError` naming each blocking expectation across all of them."""
    severities = SEVERITIES.get(quarantine_mode, ())
    kept: dict[str, list[pd.DataFrame]] = {name: [] for name in splits}
    outcomes, bad, blocking = [], [], []
    for name, (frame, labels) in datasets(splits, reference).items():
        outcome = validate_frame(frame, suite, dataset_name=f"{problem}/{name}")
        outcomes.append(outcome)
        row_level_only = all(r.rows for r in outcome.errors)
        if outcome.errors and not (severities and row_level_only):
            blocking.append(outcome.summary())
            continue
        if severities:
            good, dropped = quarantine(frame, outcome, severities=severities)
            bad.append(dropped.assign(**{SPLIT_COLUMN: labels.iloc[dropped.index].to_numpy()}))
        else:
            good = frame
        for split, part in good.groupby(labels.iloc[good.index].to_numpy(), sort=False):
            kept[split].append(part)
    if blocking:
        raise DataError(f"the data contract failed for {problem}:\n" + "\n".join(blocking))
    clean = {name: pd.concat(parts, ignore_index=True) if parts else splits[name].iloc[:0]
             for name, parts in kept.items()}
    columns = [*next(iter(splits.values())).columns, SPLIT_COLUMN, REASON_COLUMN]
    quarantined = pd.concat(bad, ignore_index=True) if bad else pd.DataFrame(columns=columns)
    return Validated(splits=clean, quarantined=quarantined, outcomes=outcomes)
