"""Honest comparisons: bootstrap intervals, paired tests, threshold choice, calibration, per-class reports.

Binary inputs are 0/1 arrays with 1 the positive class. A metric function takes `(y_true, y_score, idx)` where
`idx` is an integer matrix (resamples x rows): row `b` lists the rows of resample `b`. It returns one value per
resample, NaN where the metric is undefined. The point estimate is the same function on `idx = [0..n-1]`, so
one code path computes both. Thresholded metrics expect predictions (0/1) as `y_score`; `roc_auc` and `brier`
expect P(positive).
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Iterator, Mapping, Sequence

import numpy as np
import pandas as pd

from tasks.core.artefacts import THRESHOLD_RULES, parse_threshold_rule
from tasks.core.errors import ConfigError

MetricFn = Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]

_CHUNK_CELLS = 4_000_000  # indices drawn per chunk: bounds memory at ~32 MB whatever the row count


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    num, den = np.asarray(num, dtype=float), np.asarray(den, dtype=float)
    return np.divide(num, den, out=np.full(num.shape, np.nan), where=den > 0)


def _count(mask: np.ndarray, idx: np.ndarray) -> np.ndarray:
    return np.count_nonzero(mask[idx], axis=1)


_LAST_CONFUSION: list[tuple] = []  # (idx, y_true, pred, counts) of the last chunk of resamples


def confusion_counts(y_true: np.ndarray, pred: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """Per resample (row of `idx`), the counts of TN, FP, FN, TP (columns 0..3) of binary labels and predictions.
    One uint8 gather per chunk: the confusion-matrix metrics are called in turn on the same chunk and arrays, so
    the last result is kept (held, not just its id, so it cannot be mistaken for a new array at a reused address)."""
    if _LAST_CONFUSION and all(a is b for a, b in zip(_LAST_CONFUSION[0][:3], (idx, y_true, pred), strict=True)):
        return _LAST_CONFUSION[0][3]
    code = (2 * (np.asarray(y_true) == 1) + (np.asarray(pred) == 1)).astype(np.uint8)[idx]
    counts = np.stack([np.count_nonzero(code == c, axis=1) for c in range(4)], axis=1)
    _LAST_CONFUSION[:] = [(idx, y_true, pred, counts)]
    return counts


def accuracy(y_true: np.ndarray, pred: np.ndarray, idx: np.ndarray) -> np.ndarray:
    return _count(np.asarray(y_true) == np.asarray(pred), idx) / idx.shape[1]


def binary_accuracy(y_true: np.ndarray, pred: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """`accuracy` of 0/1 labels and predictions from the shared confusion counts."""
    tn, _, _, tp = confusion_counts(y_true, pred, idx).T
    return (tn + tp) / idx.shape[1]


def selection_rate(y_true: np.ndarray, pred: np.ndarray, idx: np.ndarray) -> np.ndarray:
    _, fp, _, tp = confusion_counts(y_true, pred, idx).T
    return (fp + tp) / idx.shape[1]


def precision(y_true: np.ndarray, pred: np.ndarray, idx: np.ndarray) -> np.ndarray:
    _, fp, _, tp = confusion_counts(y_true, pred, idx).T
    return _ratio(tp, tp + fp)


def recall(y_true: np.ndarray, pred: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """Sensitivity, the true positive rate."""
    _, _, fn, tp = confusion_counts(y_true, pred, idx).T
    return _ratio(tp, tp + fn)


def specificity(y_true: np.ndarray, pred: np.ndarray, idx: np.ndarray) -> np.ndarray:
    tn, fp, _, _ = confusion_counts(y_true, pred, idx).T
    return _ratio(tn, tn + fp)


def false_positive_rate(y_true: np.ndarray, pred: np.ndarray, idx: np.ndarray) -> np.ndarray:
    tn, fp, _, _ = confusion_counts(y_true, pred, idx).T
    return _ratio(fp, tn + fp)


def f1(y_true: np.ndarray, pred: np.ndarray, idx: np.ndarray) -> np.ndarray:
    _, fp, fn, tp = confusion_counts(y_true, pred, idx).T
    return _ratio(2 * tp, 2 * tp + fp + fn)


def brier(y_true: np.ndarray, proba: np.ndarray, idx: np.ndarray) -> np.ndarray:
    return ((np.asarray(proba, dtype=float) - np.asarray(y_true)) ** 2)[idx].mean(axis=1)


_LEVELS: dict[int, tuple[weakref.ref, int, np.ndarray]] = {}


def _score_ranks(proba: np.ndarray) -> tuple[int, np.ndarray]:
    """(number of distinct scores, each row's rank among them), sorted once per scores array: a bootstrap calls
    the metric once per chunk of resamples with the same array, and chunks hold fewer resamples as rows grow, so
    sorting on every call made n rows cost O(n^2 log n) (1.1M rows: ~330 sorts per batch). Keyed by the array
    object, which metrics never modify; the entry goes when the array does."""
    scores = np.asarray(proba, dtype=float)
    cached = _LEVELS.get(id(scores))
    if cached is not None and cached[0]() is scores:
        return cached[1], cached[2]
    levels, rank = np.unique(scores, return_inverse=True)
    key = id(scores)
    _LEVELS[key] = (weakref.ref(scores, lambda _: _LEVELS.pop(key, None)), len(levels), rank)
    return len(levels), rank


def roc_auc(y_true: np.ndarray, proba: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """Mann-Whitney AUC (ties count one half) from per-resample counts of each distinct score; NaN for one class."""
    k, rank = _score_ranks(proba)
    key = rank + k * (np.asarray(y_true) == 1)  # negatives in cells [0, k), positives in [k, 2k)
    offsets = (np.arange(idx.shape[0]) * 2 * k)[:, None]
    counts = np.bincount((key[idx] + offsets).ravel(), minlength=idx.shape[0] * 2 * k).reshape(-1, 2, k)
    neg, pos = counts[:, 0, :], counts[:, 1, :]
    twice_wins = (pos * (2 * np.cumsum(neg, axis=1) - neg)).sum(axis=1)  # 2 * (negatives below + ties / 2)
    return _ratio(twice_wins / 2, pos.sum(axis=1) * neg.sum(axis=1))


def row_mean(y_true: np.ndarray, values: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """Mean of a per-row quantity (e.g. each row's log loss) over each resample; `y_true` is unused."""
    return np.asarray(values, dtype=float)[idx].mean(axis=1)


def log_loss_per_row(proba_of_truth: np.ndarray, eps: float = 1e-15) -> np.ndarray:
    """-log P(true class) per row, clipped like scikit-learn; its `row_mean` is the log loss."""
    return -np.log(np.clip(np.asarray(proba_of_truth, dtype=float), eps, 1.0))


def macro(kind: str, n_classes: int) -> MetricFn:
    """Macro-averaged 'precision', 'recall' or 'f1' over classes coded 0..n_classes-1 (labels and predictions),
    an undefined class counting 0 as in scikit-learn's `zero_division=0`."""
    if kind not in ("precision", "recall", "f1"):
        raise ValueError(f"macro: unknown kind {kind!r}")

    def metric(y_true: np.ndarray, pred: np.ndarray, idx: np.ndarray) -> np.ndarray:
        y_true, pred = np.asarray(y_true), np.asarray(pred)
        total = np.zeros(idx.shape[0])
        for c in range(n_classes):
            truth, chosen = y_true == c, pred == c
            tp = _count(truth & chosen, idx)
            den = {"precision": _count(chosen, idx), "recall": _count(truth, idx),
                   "f1": _count(truth, idx) + _count(chosen, idx)}[kind]
            total += np.nan_to_num(_ratio((2 if kind == "f1" else 1) * tp, den))
        return total / n_classes

    return metric


def ovr_roc_auc(y_true: np.ndarray, proba: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """Macro one-vs-rest ROC AUC of an (n, classes) probability matrix against class codes 0..classes-1."""
    proba = np.asarray(proba, dtype=float)
    per_class = [roc_auc(np.asarray(y_true) == c, proba[:, c], idx) for c in range(proba.shape[1])]
    return np.nanmean(np.vstack(per_class), axis=0) if per_class else np.full(idx.shape[0], np.nan)


def rmse(y_true: np.ndarray, pred: np.ndarray, idx: np.ndarray) -> np.ndarray:
    return np.sqrt(((np.asarray(pred, dtype=float) - np.asarray(y_true, dtype=float)) ** 2)[idx].mean(axis=1))


def mae(y_true: np.ndarray, pred: np.ndarray, idx: np.ndarray) -> np.ndarray:
    return np.abs(np.asarray(pred, dtype=float) - np.asarray(y_true, dtype=float))[idx].mean(axis=1)


def r2(y_true: np.ndarray, pred: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """1 - SSE / SST per resample; NaN where the resampled target is constant."""
    y = np.asarray(y_true, dtype=float)
    sse = ((np.asarray(pred, dtype=float) - y) ** 2)[idx].sum(axis=1)
    ys = y[idx]
    sst = ((ys - ys.mean(axis=1, keepdims=True)) ** 2).sum(axis=1)
    return 1 - _ratio(sse, sst)


def per_resample(fn: Callable[[np.ndarray, np.ndarray], float]) -> MetricFn:
    """Adapt any `fn(y_true, y_score) -> float` (e.g. a scikit-learn metric) to the batched contract; slow."""
    def metric(y_true: np.ndarray, y_score: np.ndarray, idx: np.ndarray) -> np.ndarray:
        y_true, y_score = np.asarray(y_true), np.asarray(y_score)
        return np.array([fn(y_true[rows], y_score[rows]) for rows in idx], dtype=float)

    return metric


def resample_indices(n: int, n_resamples: int, seed: int) -> Iterator[np.ndarray]:
    """Bootstrap row indices in chunks of resamples, drawn from one seeded Generator; deterministic in (n, seed)."""
    rng = np.random.default_rng(seed)
    chunk = max(1, _CHUNK_CELLS // max(n, 1))
    for start in range(0, n_resamples, chunk):
        yield rng.integers(0, n, size=(min(chunk, n_resamples - start), n))


def _interval(values: np.ndarray, confidence: float) -> tuple[float, float]:
    values = values[~np.isnan(values)]
    if not len(values):
        return float("nan"), float("nan")
    alpha = (1 - confidence) / 2
    low, high = np.quantile(values, [alpha, 1 - alpha])
    return float(low), float(high)


def bootstrap_distributions(
    metrics: Mapping[str, tuple[MetricFn, np.ndarray]], y_true: np.ndarray, *, n_resamples: int, seed: int,
) -> tuple[dict[str, float], dict[str, np.ndarray]]:
    """Point values and bootstrap values of several metrics, all on the same resamples of the rows."""
    y_true = np.asarray(y_true)
    n = len(y_true)
    if n == 0:
        return {k: float("nan") for k in metrics}, {k: np.full(n_resamples, np.nan) for k in metrics}
    everything = np.arange(n)[None, :]
    points = {k: float(fn(y_true, score, everything)[0]) for k, (fn, score) in metrics.items()}
    chunks: dict[str, list[np.ndarray]] = {k: [] for k in metrics}
    for idx in resample_indices(n, n_resamples, seed):
        for k, (fn, score) in metrics.items():
            chunks[k].append(fn(y_true, score, idx))
    return points, {k: np.concatenate(v) for k, v in chunks.items()}


def bootstrap_cis(
    metrics: Mapping[str, tuple[MetricFn, np.ndarray]], y_true: np.ndarray,
    *, n_resamples: int, confidence: float = 0.95, seed: int,
) -> dict[str, tuple[float, float, float]]:
    """(point, low, high) percentile intervals of several metrics on shared resamples."""
    points, values = bootstrap_distributions(metrics, y_true, n_resamples=n_resamples, seed=seed)
    return {k: (points[k], *_interval(values[k], confidence)) for k in metrics}


def bootstrap_ci(
    metric_fn: MetricFn, y_true: np.ndarray, y_score: np.ndarray,
    *, n_resamples: int, confidence: float = 0.95, seed: int,
) -> tuple[float, float, float]:
    """(point, low, high): percentile bootstrap interval of one metric; NaN resamples are left out."""
    return bootstrap_cis({"m": (metric_fn, np.asarray(y_score))}, y_true, n_resamples=n_resamples,
                         confidence=confidence, seed=seed)["m"]


def _paired(point_a: float, point_b: float, values_a: np.ndarray, values_b: np.ndarray,
            confidence: float) -> dict[str, float]:
    diffs = values_a - values_b
    diffs = diffs[~np.isnan(diffs)]
    low, high = _interval(diffs, confidence)
    tail = min(np.count_nonzero(diffs <= 0), np.count_nonzero(diffs >= 0))
    p_value = min(1.0, 2 * (tail + 1) / (len(diffs) + 1)) if len(diffs) else float("nan")
    return {"diff": point_a - point_b, "low": low, "high": high, "p_value": p_value}


def paired_bootstrap(
    metric_fn: MetricFn, y_true: np.ndarray, score_a: np.ndarray, score_b: np.ndarray,
    *, n_resamples: int, confidence: float = 0.95, seed: int,
) -> dict[str, float]:
    """metric(a) - metric(b) on the same resampled rows: the difference, its percentile interval, and a two-sided
    p-value 2 * min(P*(d <= 0), P*(d >= 0)) with a +1 correction, consistent with that interval."""
    points, values = bootstrap_distributions(
        {"a": (metric_fn, np.asarray(score_a)), "b": (metric_fn, np.asarray(score_b))}, y_true,
        n_resamples=n_resamples, seed=seed)
    return _paired(points["a"], points["b"], values["a"], values["b"], confidence)


def mcnemar(y_true: np.ndarray, pred_a: np.ndarray, pred_b: np.ndarray, exact_below: int = 25) -> dict[str, float]:
    """McNemar's test (statsmodels) on the discordant pairs: b = only A right, c = only B right. Exact binomial when
    b + c < `exact_below` (statistic = min(b, c)), else chi-square with continuity correction."""
    from statsmodels.stats.contingency_tables import mcnemar as sm_mcnemar

    y_true = np.asarray(y_true)
    right_a, right_b = np.asarray(pred_a) == y_true, np.asarray(pred_b) == y_true
    b, c = int(np.count_nonzero(right_a & ~right_b)), int(np.count_nonzero(~right_a & right_b))
    if b + c == 0:
        return {"statistic": 0.0, "p_value": 1.0, "b": b, "c": c}
    both, neither = int(np.count_nonzero(right_a & right_b)), int(np.count_nonzero(~right_a & ~right_b))
    test = sm_mcnemar([[both, b], [c, neither]], exact=b + c < exact_below, correction=True)
    return {"statistic": float(test.statistic), "p_value": float(test.pvalue), "b": b, "c": c}


def threshold_sweep(y_true: np.ndarray, proba: np.ndarray, thresholds: Sequence[float]) -> pd.DataFrame:
    """Confusion-derived rates at each threshold (predict positive when proba >= threshold); NaN where undefined."""
    y = np.asarray(y_true) == 1
    t = np.asarray(thresholds, dtype=float)
    pred = np.asarray(proba, dtype=float)[None, :] >= t[:, None]
    tp, fp = (pred & y).sum(axis=1), (pred & ~y).sum(axis=1)
    pos, neg = y.sum(), (~y).sum()
    tn = neg - fp
    return pd.DataFrame({
        "threshold": t,
        "precision": _ratio(tp, tp + fp),
        "recall": _ratio(tp, np.full(len(t), pos)),
        "specificity": _ratio(tn, np.full(len(t), neg)),
        "f1": _ratio(2 * tp, tp + fp + pos),
        "accuracy": (tp + tn) / len(y),
        "selection_rate": (tp + fp) / len(y),
    })


def choose_threshold(sweep: pd.DataFrame, rule: str) -> float:
    """The threshold a rule picks from a sweep; ties go to the smallest threshold."""
    kind, value = parse_threshold_rule(rule)
    sweep = sweep.sort_values("threshold", ignore_index=True)
    if kind == "fixed":
        return value
    if kind == "f1":
        return float(sweep["threshold"][sweep["f1"].fillna(-1).idxmax()])
    if kind == "youden":
        return float(sweep["threshold"][(sweep["recall"] + sweep["specificity"] - 1).fillna(-2).idxmax()])
    reached = sweep[sweep["precision"] >= value]
    if reached.empty:
        best = sweep["precision"].max()
        raise ConfigError(f"threshold rule {rule!r}: no threshold in the sweep reaches precision {value} "
                          f"(best {best:.4f}); lower the target or use another rule ({THRESHOLD_RULES})")
    return float(reached["threshold"].iloc[0])


def calibration_table(y_true: np.ndarray, proba: np.ndarray, n_bins: int) -> pd.DataFrame:
    """Reliability table over `n_bins` equal-width bins of [0, 1] (bin i holds [i/n, (i+1)/n), the last includes 1);
    empty bins are left out."""
    proba = np.asarray(proba, dtype=float)
    bins = np.searchsorted(np.linspace(0, 1, n_bins + 1)[1:-1], proba, side="right")
    frame = pd.DataFrame({"bin": bins, "p": proba, "y": (np.asarray(y_true) == 1).astype(float)})
    grouped = frame.groupby("bin")
    return pd.DataFrame({
        "mean_predicted": grouped["p"].mean(), "observed_rate": grouped["y"].mean(), "count": grouped.size(),
    }).reset_index()


def per_class_report(y_true: np.ndarray, pred: np.ndarray, labels: Sequence) -> pd.DataFrame:
    """One-vs-rest precision, recall (sensitivity), specificity, F1 and support per class, in `labels` order."""
    from sklearn.metrics import confusion_matrix

    matrix = confusion_matrix(y_true, pred, labels=list(labels))
    tp = np.diag(matrix)
    support, predicted = matrix.sum(axis=1), matrix.sum(axis=0)
    fp, fn = predicted - tp, support - tp
    tn = matrix.sum() - tp - fp - fn
    return pd.DataFrame({
        "label": list(labels),
        "precision": _ratio(tp, predicted),
        "recall": _ratio(tp, support),
        "specificity": _ratio(tn, tn + fp),
        "f1": _ratio(2 * tp, 2 * tp + fp + fn),
        "support": support,
    })


def compare_models(
    y_true: np.ndarray, scores: Mapping[str, np.ndarray], *, metric: str, metric_fn: MetricFn,
    pairs: Sequence[tuple[str, str]] | None = None, predictions: Mapping[str, np.ndarray] | None = None,
    n_resamples: int, confidence: float = 0.95, seed: int,
) -> pd.DataFrame:
    """Pairs of models on the same rows: paired-bootstrap difference of `metric` (a - b), every model scored once on
    shared resamples; with `predictions` (labels), also McNemar's test on which rows each got right.

    `scores` holds what `metric_fn` takes for each model; `pairs` defaults to every pair in order."""
    names = list(scores)
    if pairs is None:
        pairs = [(a, b) for i, a in enumerate(names) for b in names[i + 1:]]
    points, values = bootstrap_distributions({m: (metric_fn, np.asarray(s)) for m, s in scores.items()}, y_true,
                                             n_resamples=n_resamples, seed=seed)
    rows = []
    for a, b in pairs:
        row = {"model_a": a, "model_b": b, "metric": metric,
               **_paired(points[a], points[b], values[a], values[b], confidence)}
        if predictions is not None:
            test = mcnemar(y_true, predictions[a], predictions[b])
            row.update({"mcnemar_b": test["b"], "mcnemar_c": test["c"], "mcnemar_p_value": test["p_value"]})
        rows.append(row)
    return pd.DataFrame(rows)
