"""Tune: an Optuna search over one model's hyperparameters before it is fitted (`problems.<p>.models.<m>.tune`).

The sampler is TPE seeded with the params seed and trials run one after another, so the same search on the same
data gives the same trials (unless `timeout_s` stops it first). Trial 0 is the model's own hyperparameters (the
defaults), so the best trial is never worse than them on the tuning score and the gain over the defaults is
measured, not assumed. The score is the problem's ranking metric (`champion.metric`) on the validation split, or
its mean over k folds of the training split (`cv_folds`), reported after each fold so the median pruner can stop a
trial that falls behind; on the validation split there is one score per trial and nothing to prune.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.model_selection import KFold, StratifiedKFold

from tasks.core.artefacts import LOWER_IS_BETTER, FeatureSpec
from tasks.core.config import ModelConfig, SearchDimension, TuneConfig
from tasks.core.errors import ConfigError
from tasks.core.feature_options import FeatureOptions
from tasks.families import BuildContext, explicit_features, get_family
from tasks.ml.metrics import score
from tasks.stages.check import space_errors
from tasks.stages.train import fit_estimator, split_xy


@dataclass(frozen=True)
class TuneResult:
    """A finished search: the hyperparameters to fit with (the best trial's merged over the defaults), the defaults'
    and the best score, and every trial (number, state, value, params). `seconds` is a run fact, not saved with
    the model."""

    metric: str
    direction: str
    scored_on: str
    default_value: float
    best_value: float
    best_trial: int
    hyperparameters: dict[str, Any]
    trials: list[dict[str, Any]]
    seconds: float

    @property
    def gain(self) -> float:
        """How much better the best trial scored than the defaults (positive is better, in the metric's units)."""
        return self.best_value - self.default_value if self.direction == "maximize" else (
            self.default_value - self.best_value)

    def summary(self) -> dict[str, Any]:
        """What is saved beside the model (tune.json): everything but the time it took."""
        return {**{k: v for k, v in asdict(self).items() if k != "seconds"}, "gain": round(self.gain, 6)}


def suggest(trial: Any, name: str, dim: SearchDimension) -> Any:
    """One hyperparameter's value for an Optuna trial."""
    if dim.type == "categorical":
        return trial.suggest_categorical(name, dim.choices)
    if dim.type == "int":
        return trial.suggest_int(name, int(dim.low), int(dim.high), log=dim.log)
    return trial.suggest_float(name, dim.low, dim.high, log=dim.log)


def check_space(cfg: ModelConfig, spec: FeatureSpec, seed: int, problem_features: FeatureOptions) -> None:
    """Fail before the search when the family cannot be tuned or does not take a value of the space (the check
    stage's own test, `tasks.stages.check.space_errors`)."""
    family = get_family(cfg.family)
    where = f"{cfg.key}.tune"
    if family.kind != "supervised":
        raise ConfigError(f"{where}: family {cfg.family!r} is {family.kind}, with no score to tune on")
    ctx = BuildContext(spec=spec, seed=seed, features=explicit_features(problem_features, cfg.features))
    wrong = space_errors(family, ctx, cfg.hyperparameters, cfg.tune.space)
    if wrong:
        raise ConfigError(f"{where}.space.{wrong[0]}")


def folds(train: pd.DataFrame, valid: pd.DataFrame, spec: FeatureSpec, k: int,
          seed: int) -> list[tuple[pd.DataFrame, pd.DataFrame]]:
    """(fit rows, score rows) per fold: the training and validation splits when k is 0, else k seeded folds of
    the training split (stratified for classifiers)."""
    if k == 0:
        return [(train, valid)]
    splitter = (KFold if spec.problem_type == "regression" else StratifiedKFold)(k, shuffle=True, random_state=seed)
    return [(train.iloc[a], train.iloc[b]) for a, b in splitter.split(train, train[spec.target])]


def tune(cfg: ModelConfig, spec: FeatureSpec, train: pd.DataFrame, valid: pd.DataFrame, *, seed: int,
         metric: str, problem_features: FeatureOptions = FeatureOptions()) -> TuneResult:
    """Search `cfg.tune.space` with Optuna, trial 0 being `cfg.hyperparameters`; the best trial and the history."""
    import optuna

    search: TuneConfig = cfg.tune
    check_space(cfg, spec, seed, problem_features)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    direction = "minimize" if metric in LOWER_IS_BETTER else "maximize"
    pruner = optuna.pruners.MedianPruner() if search.pruner == "median" else optuna.pruners.NopPruner()
    study = optuna.create_study(direction=direction, sampler=optuna.samplers.TPESampler(seed=seed), pruner=pruner)
    defaults = {name: cfg.hyperparameters[name] for name in search.space if name in cfg.hyperparameters}
    study.enqueue_trial(defaults, user_attrs={"defaults": True})
    splits = folds(train, valid, spec, search.cv_folds, seed)

    def objective(trial: optuna.Trial) -> float:
        is_default = trial.user_attrs.get("defaults", False)
        chosen = {name: suggest(trial, name, dim) for name, dim in search.space.items()
                  if not is_default or name in defaults}
        trial_cfg = cfg.model_copy(update={"hyperparameters": {**cfg.hyperparameters, **chosen}})
        values = []
        for step, (fit_rows, score_rows) in enumerate(splits):
            estimator, _ = fit_estimator(cfg.key, trial_cfg, spec, fit_rows, seed=seed,
                                         problem_features=problem_features)
            values.append(score(estimator, *split_xy(score_rows, spec), spec)[metric])
            trial.report(float(np.mean(values)), step)
            if len(splits) > 1 and trial.should_prune():
                raise optuna.TrialPruned()
        return float(np.mean(values))

    started = time.perf_counter()
    study.optimize(objective, n_trials=search.trials, timeout=search.timeout_s)
    seconds = time.perf_counter() - started
    best = study.best_trial
    return TuneResult(
        metric=metric, direction=direction,
        scored_on="validation split" if search.cv_folds == 0 else f"{search.cv_folds}-fold cross-validation",
        default_value=round(study.trials[0].value, 6), best_value=round(best.value, 6), best_trial=best.number,
        hyperparameters={**cfg.hyperparameters, **best.params},
        trials=[{"number": t.number, "state": t.state.name.lower(),
                 "value": None if t.value is None else round(t.value, 6), "params": t.params,
                 "defaults": t.user_attrs.get("defaults", False)} for t in study.trials],
        seconds=round(seconds, 3))
