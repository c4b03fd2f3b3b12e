"""Promotion: does a problem's candidate (its champion) replace the promoted model? Pure functions over both
models' outputs on the same rows; the registry calls are in tasks/adapters/registry.py, the wiring in flows/promote.py.

The rule: the candidate must pass every gate, and beat the promoted model on the same rows by the paired bootstrap
of the problem's ranking metric: the interval of (candidate - promoted), signed so that positive is better, lies
above 0. A difference within noise keeps the promoted model (no "cheaper" tie-break). McNemar's test (statsmodels)
on which rows each classifier got right is reported next to it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from tasks.core.artefacts import LOWER_IS_BETTER, GateResult
from tasks.ml import stats
from tasks.ml.metrics import Scored, metric_inputs


@dataclass(frozen=True)
class Decision:
    """Whether the candidate is promoted and why, with the paired comparison it rests on (None without one)."""

    promote: bool
    reason: str
    comparison: dict[str, float] | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def failed_gates(gates: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """'<gate>: <reason>' for every failing gate of a champion-record row (its gates as the record stores them)."""
    results = {gate: GateResult.from_dict(result) for gate, result in gates.items()}
    return [f"{gate}: {'; '.join(result.reasons or ['failed'])}" for gate, result in results.items() if result.failed]


def compare(candidate: Scored, promoted: Scored, metric: str, *, n_resamples: int, confidence: float,
            seed: int) -> dict[str, float]:
    """Paired bootstrap of `metric` as (candidate - promoted) * sign, sign = -1 for lower-is-better metrics, so
    `low > 0` means the candidate is better beyond noise; for classifiers also McNemar's test."""
    if len(candidate.y) != len(promoted.y) or (candidate.y != promoted.y).any():
        raise ValueError("promotion: the candidate and the promoted model must be scored on the same rows")
    fn, score_c = metric_inputs(candidate, [metric])[metric]
    _, score_p = metric_inputs(promoted, [metric])[metric]
    paired = stats.paired_bootstrap(fn, candidate.y, score_c, score_p, n_resamples=n_resamples,
                                    confidence=confidence, seed=seed)
    sign = -1.0 if metric in LOWER_IS_BETTER else 1.0
    low, high = sorted((sign * paired["low"], sign * paired["high"]))
    result = {"metric": metric, "gain": sign * paired["diff"], "low": low, "high": high,
              "p_value": paired["p_value"], "rows": len(candidate.y)}
    if candidate.problem_type != "regression":
        test = stats.mcnemar(candidate.y, candidate.pred, promoted.pred)
        result.update({"mcnemar_p_value": test["p_value"], "only_candidate_right": test["b"],
                       "only_promoted_right": test["c"]})
    return result


def decide(candidate: str | None, gates: Mapping[str, Mapping[str, Any]], promoted: str | None,
           comparison: Mapping[str, float] | None) -> Decision:
    """The promotion decision for `candidate` (None: the problem has no champion) against the `promoted` model
    (None: nothing promoted yet); `comparison` is `compare`'s result when both exist and differ."""
    if candidate is None:
        return Decision(False, "no candidate: no model of the problem passes every gate")
    if failed := failed_gates(gates):
        return Decision(False, f"{candidate} fails " + " | ".join(failed))
    if promoted is None:
        return Decision(True, f"{candidate} passes every gate; nothing was promoted before")
    if comparison is None:
        return Decision(False, f"{candidate} is the promoted model already (same model, same fit)")
    c = dict(comparison)
    text = (f"{c['metric']} gain {c['gain']:+.4f} [{c['low']:+.4f}, {c['high']:+.4f}] over {promoted} on the same "
            f"{c['rows']} rows (paired bootstrap p={c['p_value']:.3g}"
            + (f", McNemar p={c['mcnemar_p_value']:.3g}" if "mcnemar_p_value" in c else "") + ")")
    if c["low"] > 0:
        return Decision(True, f"{candidate} passes every gate and beats the promoted model: {text}", c)
    verdict = "worse than" if c["high"] < 0 else "within noise of"
    return Decision(False, f"{candidate} is {verdict} the promoted model: {text}", c)
