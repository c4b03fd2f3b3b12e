"""Champion: per problem, the best model on the holdout that passes the quality floor, the drift gate and the
fairness gate; paired tests say which of the leaderboard's differences are real."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from tasks.core.artefacts import LOWER_IS_BETTER, GateResult
from tasks.ml import stats
from tasks.ml.metrics import Scored, metric_inputs

GATES = ("quality", "drift", "fairness", "latency")


@dataclass(frozen=True)
class Candidate:
    """One model of the problem: its holdout metrics, the ranking metric's interval and its gate results."""

    model: str
    family: str
    holdout: Mapping[str, float]
    interval: Mapping[str, float]                                   # value, low, high of the ranking metric
    gates: Mapping[str, GateResult] = field(default_factory=dict)   # gate -> its result
    speed: Mapping[str, Any] = field(default_factory=dict)          # tasks.ml.speed.inference_speed (run facts)


def quality_gate(holdout: Mapping[str, float], floor: Mapping[str, float]) -> GateResult:
    """The holdout metrics against `min_<metric>` / `max_<metric>` limits."""
    reasons = []
    for key, limit in floor.items():
        bound, _, metric = key.partition("_")
        value = holdout.get(metric)
        value = float("nan") if value is None else value
        if np.isnan(value) or (value < limit if bound == "min" else value > limit):
            reasons.append(f"{metric} {value:.4f} {'<' if bound == 'min' else '>'} {bound} {limit}")
    return GateResult.of(reasons)


def rank(candidates: list[Candidate], metric: str) -> list[Candidate]:
    """Best first by the holdout value of `metric` (NaN last); ties by name."""
    sign = 1 if metric in LOWER_IS_BETTER else -1
    return sorted(candidates, key=lambda c: (np.isnan(c.interval["value"]), sign * np.nan_to_num(c.interval["value"]),
                                             c.model))


def compare_to_best(scored: Mapping[str, Scored], order: list[str], metric: str, *, n_resamples: int,
                    confidence: float, seed: int) -> pd.DataFrame:
    """The best model against each runner-up on the same holdout rows: paired bootstrap of `metric` (best - other)
    and, for classifiers, McNemar's test on which rows each got right."""
    if len(order) < 2:
        return pd.DataFrame()
    first = scored[order[0]]
    fn, _ = metric_inputs(first, [metric])[metric]
    labels = None if first.problem_type == "regression" else {m: scored[m].pred for m in order}
    return stats.compare_models(first.y, {m: metric_inputs(scored[m], [metric])[metric][1] for m in order},
                                metric=metric, metric_fn=fn, pairs=[(order[0], m) for m in order[1:]],
                                predictions=labels, n_resamples=n_resamples, confidence=confidence, seed=seed)


def _summary(gate: str, reasons: list[str]) -> str:
    """'fairness: <first reason> (+2 more)': the full list stays in the record's gates."""
    more = f" (+{len(reasons) - 1} more)" if len(reasons) > 1 else ""
    return f"{gate}: {reasons[0] if reasons else 'failed'}{more}"


def _verdict(row: Mapping[str, Any]) -> str:
    return "real" if row["low"] > 0 or row["high"] < 0 else "within noise"


def decide(problem: str, problem_type: str, metric: str, candidates: list[Candidate],
           comparisons: pd.DataFrame) -> dict[str, Any]:
    """The champion record: ranking with gates and comparisons, the champion, and why every other model is not."""
    ranked = rank(candidates, metric)
    versus = {row["model_b"]: {**row, "verdict": _verdict(row)} for row in comparisons.to_dict("records")}
    champion = next((c for c in ranked if not any(g.failed for g in c.gates.values())), None)
    rows = []
    for position, cand in enumerate(ranked, start=1):
        failed = [_summary(gate, list(cand.gates[gate].reasons)) for gate in GATES
                  if gate in cand.gates and cand.gates[gate].failed]
        comparison = versus.get(cand.model)
        if cand is champion:
            status, why = "champion", "best-ranked model passing every gate"
        elif failed:
            status, why = "rejected", "fails " + " | ".join(failed)
        else:
            status = "runner-up"
            why = f"ranked below {champion.model}"
            if comparison is not None:
                why += (f"; {metric} {comparison['diff']:+.4f} [{comparison['low']:+.4f}, {comparison['high']:+.4f}] "
                        f"for {ranked[0].model} vs this model: {comparison['verdict']} (p={comparison['p_value']:.3g})")
        rows.append({"rank": position, "model": cand.model, "family": cand.family, **cand.interval,
                     "holdout": dict(cand.holdout), "gates": {g: r.to_dict() for g, r in cand.gates.items()},
                     "speed": dict(cand.speed), "status": status,
                     "why": why,
                     "versus_best": comparison})
    return {
        "problem": problem, "problem_type": problem_type, "metric": metric,
        "lower_is_better": metric in LOWER_IS_BETTER, "best": ranked[0].model if ranked else None,
        "champion": champion.model if champion else None, "family": champion.family if champion else None,
        "ranking": rows,
    }
