"""drift-check: which model is the champion, and what it predicts on a batch. Pure functions; the flow is
flows/drift_check.py and the drift report itself tasks/adapters/drift.py."""

from __future__ import annotations

from typing import Any

import pandas as pd

from tasks.core.artefacts import LOWER_IS_BETTER, FeatureSpec
from tasks.core.errors import DataError
from tasks.ml.metrics import predict_proba_aligned

PREDICTION = "prediction"


def champion(problem: str, models: dict[str, str], champion_file: dict[str, Any] | None,
             leaderboard: dict[str, Any] | None, primary: str) -> tuple[str, str]:
    """(model, how it was chosen): the champion file's `champion` when it names one, else the problem's model with
    the best `primary` on the leaderboard (reports/leaderboard.json: problem -> model -> metrics)."""
    if champion_file is not None and champion_file.get("champion") is not None:
        if champion_file["champion"] not in models:
            raise DataError(f"drift-check: champion file names {champion_file['champion']!r}, which is not a model "
                            f"of problem {problem!r} ({sorted(models)})")
        return champion_file["champion"], "champion file"
    scores = {model: float(values[primary]) for model, values in (leaderboard or {}).get(problem, {}).items()
              if model in models and isinstance(values, dict) and values.get(primary) is not None}
    if not scores:
        raise DataError(f"drift-check: no champion and no {primary!r} on the leaderboard for problem {problem!r}; "
                        "run the pipeline first")
    pick = min if primary in LOWER_IS_BETTER else max
    best = pick(sorted(scores), key=scores.__getitem__)
    return best, f"best {primary} on the leaderboard (no model passed every gate)"


def with_predictions(pipeline: Any, frame: pd.DataFrame, spec: FeatureSpec) -> pd.DataFrame:
    """`frame` plus a prediction column: P(positive class) for binary problems, else the predicted value."""
    x = frame[spec.features]
    if spec.problem_type == "binary":
        values = predict_proba_aligned(pipeline, x, spec.classes)[:, 1]
    else:
        values = pipeline.predict(x)
    return frame.assign(**{PREDICTION: values})
