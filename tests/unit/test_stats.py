"""tasks/ml/stats.py against scikit-learn, statsmodels and plain loops."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn import metrics as skm

from tasks.core.errors import ConfigError
from tasks.ml import stats


@pytest.fixture(scope="module")
def binary() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(7)
    y = rng.integers(0, 2, 400)
    proba = np.clip(0.35 * y + 0.65 * rng.random(400), 0, 1).round(2)  # rounded: ties in the scores
    return y, proba


def _all_rows(n: int) -> np.ndarray:
    return np.arange(n)[None, :]


def test_metrics_match_sklearn(binary):
    y, proba = binary
    pred = (proba >= 0.5).astype(int)
    idx = _all_rows(len(y))
    tn, fp, fn, tp = skm.confusion_matrix(y, pred).ravel()
    assert stats.accuracy(y, pred, idx)[0] == pytest.approx(skm.accuracy_score(y, pred))
    assert stats.precision(y, pred, idx)[0] == pytest.approx(skm.precision_score(y, pred))
    assert stats.recall(y, pred, idx)[0] == pytest.approx(skm.recall_score(y, pred))
    assert stats.specificity(y, pred, idx)[0] == pytest.approx(tn / (tn + fp))
    assert stats.false_positive_rate(y, pred, idx)[0] == pytest.approx(fp / (tn + fp))
    assert stats.f1(y, pred, idx)[0] == pytest.approx(skm.f1_score(y, pred))
    assert stats.selection_rate(y, pred, idx)[0] == pytest.approx(pred.mean())
    assert stats.roc_auc(y, proba, idx)[0] == pytest.approx(skm.roc_auc_score(y, proba))
    assert stats.brier(y, proba, idx)[0] == pytest.approx(skm.brier_score_loss(y, proba))


def test_undefined_metrics_are_nan():
    y, pred = np.array([0, 0, 0]), np.array([0, 0, 0])
    idx = _all_rows(3)
    assert np.isnan(stats.precision(y, pred, idx)[0])
    assert np.isnan(stats.recall(y, pred, idx)[0])
    assert np.isnan(stats.roc_auc(y, np.array([0.1, 0.2, 0.3]), idx)[0])


def test_bootstrap_matches_a_plain_loop_across_chunks(binary, monkeypatch):
    y, proba = binary
    monkeypatch.setattr(stats, "_CHUNK_CELLS", 3000)  # 7 resamples per chunk: exercises chunk assembly
    point, low, high = stats.bootstrap_ci(stats.roc_auc, y, proba, n_resamples=150, seed=3)
    indices = np.concatenate(list(stats.resample_indices(len(y), 150, seed=3)))
    assert indices.shape == (150, len(y))
    by_hand = [skm.roc_auc_score(y[rows], proba[rows]) for rows in indices]
    assert point == pytest.approx(skm.roc_auc_score(y, proba))
    assert (low, high) == pytest.approx(tuple(np.percentile(by_hand, [2.5, 97.5])))


def test_bootstrap_width_matches_binomial_theory():
    rng = np.random.default_rng(0)
    y = np.ones(4000, dtype=int)
    pred = (rng.random(4000) < 0.8).astype(int)
    point, low, high = stats.bootstrap_ci(stats.accuracy, y, pred, n_resamples=1000, seed=1)
    expected = 2 * 1.96 * np.sqrt(point * (1 - point) / len(y))
    assert low < point < high
    assert high - low == pytest.approx(expected, rel=0.15)


def test_bootstrap_is_seeded(binary):
    y, proba = binary
    pred = (proba >= 0.5).astype(int)
    first = stats.bootstrap_ci(stats.f1, y, pred, n_resamples=200, seed=5)
    assert stats.bootstrap_ci(stats.f1, y, pred, n_resamples=200, seed=5) == first
    assert stats.bootstrap_ci(stats.f1, y, pred, n_resamples=200, seed=6) != first


def test_per_resample_adapter_agrees_with_vectorised(binary):
    y, proba = binary
    idx = next(stats.resample_indices(len(y), 20, seed=0))
    assert np.allclose(stats.per_resample(skm.roc_auc_score)(y, proba, idx), stats.roc_auc(y, proba, idx))


def test_paired_bootstrap(binary):
    y, proba = binary
    better = np.where(y == 1, np.maximum(proba, 0.6), np.minimum(proba, 0.4))
    result = stats.paired_bootstrap(stats.roc_auc, y, better, proba, n_resamples=100, seed=2)
    indices = np.concatenate(list(stats.resample_indices(len(y), 100, seed=2)))
    diffs = [skm.roc_auc_score(y[r], better[r]) - skm.roc_auc_score(y[r], proba[r]) for r in indices]
    assert result["diff"] == pytest.approx(skm.roc_auc_score(y, better) - skm.roc_auc_score(y, proba))
    assert (result["low"], result["high"]) == pytest.approx(tuple(np.percentile(diffs, [2.5, 97.5])))
    assert 0 < result["low"] and result["p_value"] == pytest.approx(2 / 101)
    same = stats.paired_bootstrap(stats.roc_auc, y, proba, proba, n_resamples=100, seed=2)
    assert same["diff"] == 0 and same["p_value"] == 1.0


@pytest.mark.parametrize("flip_a, flip_b, exact", [(5, 12, True), (40, 90, False)])
def test_mcnemar_matches_statsmodels(flip_a, flip_b, exact):
    from statsmodels.stats.contingency_tables import mcnemar as sm_mcnemar

    y = np.zeros(500, dtype=int)
    pred_a, pred_b = y.copy(), y.copy()
    pred_a[:flip_a] = 1                       # A wrong on the first rows
    pred_b[200:200 + flip_b] = 1              # B wrong elsewhere
    result = stats.mcnemar(y, pred_a, pred_b)
    assert (result["b"], result["c"]) == (flip_b, flip_a)
    table = [[500 - flip_a - flip_b, flip_b], [flip_a, 0]]
    expected = sm_mcnemar(table, exact=exact, correction=True)
    assert result["p_value"] == pytest.approx(expected.pvalue)
    assert result["statistic"] == pytest.approx(expected.statistic)


def test_threshold_sweep_matches_sklearn(binary):
    y, proba = binary
    sweep = stats.threshold_sweep(y, proba, [0.2, 0.5, 0.8])
    for row in sweep.itertuples():
        pred = (proba >= row.threshold).astype(int)
        assert row.precision == pytest.approx(skm.precision_score(y, pred))
        assert row.recall == pytest.approx(skm.recall_score(y, pred))
        assert row.specificity == pytest.approx(skm.recall_score(1 - y, 1 - pred))
        assert row.f1 == pytest.approx(skm.f1_score(y, pred))
        assert row.accuracy == pytest.approx(skm.accuracy_score(y, pred))
        assert row.selection_rate == pytest.approx(pred.mean())


def test_choose_threshold_rules():
    sweep = pd.DataFrame({
        "threshold": [0.3, 0.1, 0.5, 0.7],
        "precision": [0.6, 0.5, 0.8, 0.9],
        "recall": [0.9, 1.0, 0.7, 0.3],
        "specificity": [0.5, 0.2, 0.85, 0.95],
        "f1": [0.72, 0.67, 0.75, 0.45],
    })
    assert stats.choose_threshold(sweep, "f1") == 0.5
    assert stats.choose_threshold(sweep, "youden") == 0.5      # 0.55 beats 0.4, 0.2, 0.25
    assert stats.choose_threshold(sweep, "fixed:0.42") == 0.42
    assert stats.choose_threshold(sweep, "precision>=0.8") == 0.5
    assert stats.choose_threshold(sweep, "precision>=0.55") == 0.3
    with pytest.raises(ConfigError, match="best 0.9000"):
        stats.choose_threshold(sweep, "precision>=0.95")
    with pytest.raises(ValueError, match=r"'max_f1'.*youden.*fixed:<threshold>.*precision>=<x>"):
        stats.choose_threshold(sweep, "max_f1")


def test_calibration_table_matches_sklearn(binary):
    from sklearn.calibration import calibration_curve

    y, proba = binary
    jittered = np.clip(proba + 0.001, 0, 1)   # off the bin edges, where edge conventions differ
    table = stats.calibration_table(y, jittered, n_bins=10)
    observed, predicted = calibration_curve(y, jittered, n_bins=10, strategy="uniform")
    assert np.allclose(table["observed_rate"], observed) and np.allclose(table["mean_predicted"], predicted)
    assert table["count"].sum() == len(y) and list(table.columns) == ["bin", "mean_predicted", "observed_rate",
                                                                      "count"]


def test_per_class_report():
    y = np.array(["a", "a", "b", "b", "c", "c", "c"])
    pred = np.array(["a", "b", "b", "b", "c", "a", "c"])
    report = stats.per_class_report(y, pred, ["a", "b", "c"]).set_index("label")
    precision, recall, f1, support = skm.precision_recall_fscore_support(y, pred, labels=["a", "b", "c"])
    assert np.allclose(report["precision"], precision) and np.allclose(report["recall"], recall)
    assert np.allclose(report["f1"], f1) and list(report["support"]) == list(support)
    assert report.loc["a", "specificity"] == pytest.approx(4 / 5)   # one of five non-'a' rows predicted 'a'
    assert report.loc["b", "specificity"] == pytest.approx(4 / 5)


def test_compare_models_pairs_and_mcnemar(binary):
    y, proba = binary
    probas = {"m1": proba, "m2": np.clip(proba + 0.1, 0, 1), "m3": 1 - proba}
    preds = {m: (p >= 0.5).astype(int) for m, p in probas.items()}
    pairs = stats.compare_models(y, preds, metric="accuracy", metric_fn=stats.accuracy, predictions=preds,
                                 n_resamples=100, seed=0)
    assert list(zip(pairs["model_a"], pairs["model_b"], strict=True)) == [("m1", "m2"), ("m1", "m3"), ("m2", "m3")]
    assert pairs.loc[1, "diff"] > 0 and pairs.loc[1, "p_value"] < 0.05
    assert pairs.loc[1, "mcnemar_p_value"] == stats.mcnemar(y, preds["m1"], preds["m3"])["p_value"]
    chosen = stats.compare_models(y, probas, metric="roc_auc", metric_fn=stats.roc_auc, pairs=[("m3", "m1")],
                                  n_resamples=50, seed=0)
    assert list(chosen["model_a"]) == ["m3"] and "mcnemar_p_value" not in chosen


def test_compare_models_equals_pairwise_paired_bootstrap(binary):
    y, proba = binary
    other = np.clip(proba + 0.05 * np.sin(np.arange(len(y))), 0, 1)
    pairs = stats.compare_models(y, {"a": proba, "b": other}, metric="roc_auc", metric_fn=stats.roc_auc,
                                 n_resamples=80, seed=4)
    single = stats.paired_bootstrap(stats.roc_auc, y, proba, other, n_resamples=80, seed=4)
    assert pairs.loc[0, ["diff", "low", "high", "p_value"]].to_dict() == pytest.approx(single)


def test_multiclass_and_regression_metrics_match_sklearn():
    rng = np.random.default_rng(3)
    y = rng.integers(0, 3, 300)
    proba = rng.dirichlet([1, 1, 1], 300) + np.eye(3)[y] * 0.5
    proba /= proba.sum(axis=1, keepdims=True)
    pred = proba.argmax(axis=1)
    pred[:5] = 2                                   # class 2 over-predicted a little
    idx = _all_rows(len(y))
    for kind, fn in (("precision", skm.precision_score), ("recall", skm.recall_score), ("f1", skm.f1_score)):
        expected = fn(y, pred, average="macro", labels=[0, 1, 2], zero_division=0)
        assert stats.macro(kind, 3)(y, pred, idx)[0] == pytest.approx(expected)
    assert stats.macro("f1", 4)(y, pred, idx)[0] == pytest.approx(
        skm.f1_score(y, pred, average="macro", labels=[0, 1, 2, 3], zero_division=0)), "an absent class counts 0"
    assert stats.ovr_roc_auc(y, proba, idx)[0] == pytest.approx(skm.roc_auc_score(y, proba, multi_class="ovr"))
    loss = stats.log_loss_per_row(proba[np.arange(len(y)), y])
    assert stats.row_mean(y, loss, idx)[0] == pytest.approx(skm.log_loss(y, proba))
    target = rng.normal(3, 2, 300)
    estimate = target + rng.normal(0, 1, 300)
    assert stats.rmse(target, estimate, idx)[0] == pytest.approx(np.sqrt(skm.mean_squared_error(target, estimate)))
    assert stats.mae(target, estimate, idx)[0] == pytest.approx(skm.mean_absolute_error(target, estimate))
    assert stats.r2(target, estimate, idx)[0] == pytest.approx(skm.r2_score(target, estimate))
    resamples = next(stats.resample_indices(len(target), 30, seed=1))
    assert np.allclose(stats.r2(target, estimate, resamples),
                       [skm.r2_score(target[r], estimate[r]) for r in resamples])
    assert np.allclose(stats.macro("f1", 3)(y, pred, resamples),
                       [skm.f1_score(y[r], pred[r], average="macro", labels=[0, 1, 2], zero_division=0)
                        for r in resamples])


def test_threshold_rules_are_parsed_before_any_sweep():
    assert stats.parse_threshold_rule("precision >= 0.9") == ("precision", 0.9)
    assert stats.parse_threshold_rule("fixed:0.3") == ("fixed", 0.3)
    with pytest.raises(ConfigError, match="must lie in"):
        stats.parse_threshold_rule("fixed:1.5")


def test_confusion_metrics_share_counts_per_chunk_and_match_scikit_learn_per_resample():
    from sklearn.metrics import accuracy_score, f1_score, precision_score, recall_score

    rng = np.random.default_rng(3)
    y, pred = rng.integers(0, 2, 500), rng.integers(0, 2, 500)
    idx = rng.integers(0, 500, size=(20, 500))
    for fn, reference in [(stats.binary_accuracy, accuracy_score), (stats.precision, precision_score),
                          (stats.recall, recall_score), (stats.f1, f1_score)]:
        np.testing.assert_allclose(fn(y, pred, idx), [reference(y[r], pred[r]) for r in idx])
    flipped = 1 - pred  # same chunk, another prediction array: counted afresh, not served from the last chunk
    np.testing.assert_allclose(stats.binary_accuracy(y, flipped, idx), 1 - stats.binary_accuracy(y, pred, idx))
