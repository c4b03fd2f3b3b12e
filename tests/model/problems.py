"""The default problems as the model tests and `scripts/family_scores.py` use them, read from `params.yaml`.

A problem is declared once, in `params.yaml`: its `data` block is read as the ingest stage reads it (source, reader
options, target), its rows are the reference period's (employment: `reference_period` 2015 of `time_column` year,
as the contract drafter takes them), and its feature spec is the featurize stage's own (declared roles, or the
roles `features.infer` gives the columns' dtypes, guard rails applied). Splits here are random and seeded
(stratified for classification) with a test share of their own: the quality floors were set on them.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pandas as pd
from sklearn.model_selection import train_test_split

from tasks.adapters.sources import PACKAGE
from tasks.core.artefacts import FeatureSpec
from tasks.core.config import FeaturizeConfig, IngestConfig, load_params
from tasks.stages.featurize import build_spec
from tasks.stages.ingest import load_raw
from tasks.stages.scaffold import reference_rows

ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Problem:
    name: str
    data: IngestConfig          # problems.<name>.data
    features: FeaturizeConfig   # problems.<name>.features


@cache
def problems() -> dict[str, Problem]:
    """Every problem of the repository's params.yaml, its source path taken from the repository root."""
    params = load_params(ROOT / "params.yaml")
    found = {}
    for name, block in params.problems.items():
        data = block.data
        if not data.source.startswith(PACKAGE):
            data = data.model_copy(update={"source": str(ROOT / data.source)})
        found[name] = Problem(name=name, data=data, features=block.features)
    return found


def spec_for(problem: Problem, train: pd.DataFrame) -> FeatureSpec:
    """The feature spec the featurize stage derives from `train` for this problem."""
    return build_spec(train, problem.data, problem.features, problem.data.source)


def load_frame(name: str) -> pd.DataFrame:
    """The reference period's rows of a problem, cut to its feature columns and target."""
    problem = problems()[name]
    frame = reference_rows(load_raw(problem.data), problem.data)
    spec = spec_for(problem, frame)
    return frame[[*spec.features, spec.target]]


def load_split(name: str, seed: int = 0, test_size: float = 0.2) -> tuple[pd.DataFrame, pd.DataFrame, FeatureSpec]:
    """A seeded random train/test split of one problem and the feature spec of its training part."""
    problem, frame = problems()[name], load_frame(name)
    stratify = None if problem.data.problem_type == "regression" else frame[problem.data.target]
    train, test = train_test_split(frame, test_size=test_size, random_state=seed, stratify=stratify)
    return train.reset_index(drop=True), test.reset_index(drop=True), spec_for(problem, train)
