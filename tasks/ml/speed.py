"""Inference speed of a fitted model: batch throughput (rows per second) and single-row latency.

Run facts, not model facts: they depend on the machine and its load, so they are kept apart from the model and its
evaluation (the evaluate flow writes them to reports/speed/<problem>.json, as the train record keeps fit times),
and no key or hash includes them.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from tasks.core.artefacts import GateResult

SINGLE_ROWS, REPEATS, MAX_BATCH_ROWS = 20, 3, 10_000


def inference_speed(predict: Callable[[pd.DataFrame], Any], rows: pd.DataFrame, *, seed: int,
                    single_rows: int = SINGLE_ROWS, repeats: int = REPEATS,
                    max_batch_rows: int = MAX_BATCH_ROWS) -> dict[str, float | int]:
    """`predict` timed on a seeded sample of `rows`: the batch (at most `max_batch_rows`) predicted `repeats` times,
    throughput from the fastest; and `single_rows` rows predicted one at a time, latency the median (after one
    warm-up call, so a lazily built graph or cache is not counted)."""
    rng = np.random.default_rng(seed)
    batch = rows.iloc[np.sort(rng.permutation(len(rows))[:max_batch_rows])]
    singles = [rows.iloc[[i]] for i in rng.permutation(len(rows))[:single_rows]]
    predict(singles[0])
    batch_seconds = min(_seconds(predict, batch) for _ in range(repeats))
    latencies = [_seconds(predict, row) for row in singles]
    return {"rows_per_second": round(len(batch) / max(batch_seconds, 1e-9), 1), "batch_rows": len(batch),
            "latency_ms": round(1000 * float(np.median(latencies)), 3), "single_rows": len(singles)}


def _seconds(predict: Callable[[pd.DataFrame], Any], rows: pd.DataFrame) -> float:
    started = time.perf_counter()
    predict(rows)
    return time.perf_counter() - started


def latency_gate(speed: dict[str, Any] | None, budget_ms: float | None) -> GateResult:
    """A model's median single-row latency against `budget_ms`; n/a without a budget, and a failure when the
    budget is set but the model's speed was not measured."""
    if budget_ms is None:
        return GateResult.not_applicable()
    if not speed:
        return GateResult.of([f"latency not measured (budget {budget_ms:g} ms per row)"])
    if speed["latency_ms"] > budget_ms:
        return GateResult.of([f"median latency {speed['latency_ms']:g} ms per row > budget {budget_ms:g} ms"])
    return GateResult.of([])
