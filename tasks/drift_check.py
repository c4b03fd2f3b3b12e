"""drift-check: which model is the champion, and what it predicts on a batch. Pure functions; the flow is
flows/drift_check.py and the drift report itself tasks/drift.py."""

from __future__ import annotations

from statistics import mean
from typing import Any

import pandas as pd

from tasks.errors import DataError
from tasks.featurize import FeatureSpec
from tasks.metrics import predict_proba_aligned
from tasks.report import LOWER_IS_BETTER

PREDICTION = "prediction"


def champion(problem: str, models: dict[str, str], champion_file: dict[str, Any] | None,
             leaderboard: dict[str, dict[str, float]] | None, primary: str) -> tuple[str, str]:
    """(model, how it was chosen): the champion file's `model` when there is one, else the problem's model with
    the best mean `primary` over the leaderboard's batches (keys `model/batch`)."""
    if champion_file is not None:
        if champion_file.get("model") not in models:
            raise DataError(f"drift-check: champion file names {champion_file.get('model')!r}, which is not a model "
                            f"of problem {problem!r} ({sorted(models)})")
        return champion_file["model"], "champion file"
    scores: dict[str, list[float]] = {}
    for key, values in (leaderboard or {}).items():
        model, _, _ = key.partition("/")
        if model in models and primary in values:
            scores.setdefault(model, []).append(float(values[primary]))
    if not scores:
        raise DataError(f"drift-check: no champion file and no {primary!r} on the leaderboard for problem {problem!r}; "
                        "run the pipeline first")
    pick = min if primary in LOWER_IS_BETTER else max
    best = pick(sorted(scores), key=lambda m: mean(scores[m]))
    return best, f"best mean {primary} on the leaderboard"


def with_predictions(pipeline: Any, frame: pd.DataFrame, spec: FeatureSpec) -> pd.DataFrame:
    """`frame` plus a prediction column: P(positive class) for binary problems, else the predicted value."""
    x = frame[spec.features]
    if spec.problem_type == "binary":
        values = predict_proba_aligned(pipeline, x, spec.classes)[:, 1]
    else:
        values = pipeline.predict(x)
    return frame.assign(**{PREDICTION: values})
