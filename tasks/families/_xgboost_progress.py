"""XGBoost training progress in the platform log; imported inside the xgboost family's `build`, with xgboost."""

from __future__ import annotations

import logging

from xgboost.callback import TrainingCallback

LOG = logging.getLogger("mlplatform.train")


class LogProgress(TrainingCallback):
    """Log the boosting round every `every` rounds (the `callbacks` hyperparameter of XGBoost's estimators)."""

    def __init__(self, every: int):
        super().__init__()
        self.every = every

    def after_iteration(self, model, epoch: int, evals_log) -> bool:
        if (epoch + 1) % self.every == 0:
            LOG.info("xgboost: %d boosting rounds done", epoch + 1)
        return False
