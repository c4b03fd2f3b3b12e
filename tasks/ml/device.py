"""The device a fitted model really trained on."""

from __future__ import annotations

import json
from typing import Any


def device_used(pipeline: Any, requested: str) -> str:
    """The device a fitted pipeline's estimator actually trained on.

    XGBoost (device="cuda" on a host without a visible GPU) and the Keras estimators fall back to the CPU with only
    a warning, so the requested device is not evidence: read XGBoost's booster configuration, or the estimator's
    `device_used_` attribute; other estimators are taken at their word.
    """
    if requested == "cpu":
        return "cpu"
    estimator = pipeline.steps[-1][1] if hasattr(pipeline, "steps") else pipeline
    while hasattr(estimator, "estimator_"):  # wrappers (label encoding, subsampling) hold the fitted model
        estimator = estimator.estimator_
    if hasattr(estimator, "device_used_"):
        return str(estimator.device_used_)
    if hasattr(estimator, "get_booster"):
        config = json.loads(estimator.get_booster().save_config())
        return config["learner"]["generic_param"]["device"].split(":")[0]
    return requested
