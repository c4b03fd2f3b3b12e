"""The benchmark's pure parts: slopes, stage labels, summaries, verdicts and the offline page."""

import math

import pytest

from scripts import benchmark_report as report


def test_loglog_slope_reads_growth():
    rows = [1_000, 4_000, 16_000]
    assert report.loglog_slope(rows, [2.0, 8.0, 32.0]) == pytest.approx(1.0)
    assert report.loglog_slope(rows, [1.0, 2.0, 4.0]) == pytest.approx(0.5)
    assert report.loglog_slope(rows, [1.0, 16.0, 256.0]) == pytest.approx(2.0)
    assert report.loglog_slope([1_000], [1.0]) is None
    assert report.loglog_slope(rows, [1.0, float("nan"), 4.0]) is None


def test_stage_labels_carry_the_foreach_key():
    assert report.stage_label({"stage": "train", "argv": ["train", "--model", "m1", "--data", "d"]}) == "train@m1"
    assert report.stage_label({"stage": "ingest", "argv": ["ingest", "--problem", "p"]}) == "ingest@p"
    assert report.stage_label({"stage": "evaluate", "argv": ["evaluate", "--model-dir", "models/m1/"]}) == \
        "evaluate@m1"
    assert report.stage_label({"stage": "report", "argv": ["report"]}) == "report"


def record(stage: str, seconds: float, peak: float) -> dict:
    return {"stage": stage, "argv": [stage], "seconds": seconds, "cpu_seconds": seconds, "peak_rss_mb": peak,
            "rss_start_mb": 50.0}


def test_summaries_and_verdicts():
    overhead = report.overhead_summary([12.0, 10.0, 11.0], [10.0, 9.0, 10.0],
                                       [{"a": 4.0, "b": 5.0}, {"a": 3.0, "b": 5.0}, {"a": 4.0, "b": 6.0}])
    assert overhead["ratio"] == pytest.approx(1.1) and overhead["stages"] == {"a": 4.0, "b": 5.0}
    assert overhead["between_stages_seconds"] == pytest.approx(2.0)
    assert overhead["same_work_ratio"] == pytest.approx(10 / 9), "median of the per-run ratios"
    split = report.overhead_summary([30.0], [10.0], [{"train@m": 15.0, "evaluate@m": 8.0, "report": 2.0}], [5.0], [1.0])
    assert split["analysis_seconds"] == 10.0 and split["gpu_wait_seconds"] == 5.0
    assert split["same_work_ratio"] == pytest.approx((30 - 10 - 5 + 1) / 10)
    scale = report.scale_summary([1, 4], [100, 400], [[record("a", 1.0, 300), record("b", 2.0, 500)],
                                                      [record("a", 8.0, 900), record("b", 2.0, 600)]], [3.0, 10.0])
    assert scale["stages"]["a"]["slope"] == pytest.approx(1.5) and scale["stages"]["b"]["slope"] == pytest.approx(0)
    assert scale["peak_rss_mb_at_largest"] == 900 and scale["peak_stage_at_largest"] == "a"
    scale |= {"models": ["m"], "plain_seconds": [2.0, 10.0]}
    lock = {"median": 1.4, "lines": 9000, "stages": 127}
    result = {"overhead": overhead, "scale": scale, "noop": {"median": 1.2, "lock_rewrite": lock},
              "stage_overhead": {"check": {"dvc": 1.4, "command": 0.6, "work": 0.1, "overhead": 1.3}},
              "gpu": {"available": False, "reason": "no GPU here"}}
    verdicts = {f.name: f.status for f in report.figures(result)}
    assert verdicts["orchestration overhead: pipeline / plain script (medians)"] == "ok"
    assert verdicts["scale slope: a"] == "MISSED" and verdicts["scale slope: b"] == "ok"
    assert verdicts["no-op dvc repro (median)"] == "ok" and verdicts["per-stage overhead: check"] == "ok"
    assert verdicts["GPU vs CPU (XGBoost, Keras CNN)"] == "not run"
    assert verdicts["  DVC rewriting the full default dvc.lock (each stage)"] == "ok"
    amortised = next(f for f in report.figures(result) if "amortised" in f.name)
    assert amortised.value == pytest.approx(2.0 / 2 + 0.5)
    assert verdicts["orchestration overhead at x1 (m)"] == "MISSED"
    assert verdicts["orchestration overhead at x4 (m)"] == "ok"
    text = report.text_table(report.figures(result))
    assert "<= 1.15 x" in text and "no GPU here" in text
    assert all(math.isfinite(r["value"]) for r in report.figure_records(report.figures(result)) if r["value"])


def test_page_is_offline_with_every_section():
    scale = report.scale_summary([1, 2], [10, 20], [[record("a", 1.0, 1.0)], [record("a", 2.0, 2.0)]], [1.0, 2.0])
    html = report.html_page({"machine": {"cpu": "test"}, "scale": scale, "gpu": {"reason": "no GPU here"},
                             "families": [{"model": "m", "family": "f", "fit_seconds": 1.0, "train_rows": 10,
                                           "scored_rows": 5, "rows_per_second": 100.0}]}, {"commit": "abc"})
    assert "<svg" in html and "Scale curve" in html and "no GPU here" in html and "Model families" in html
    assert "http://" not in html.replace("http://www.w3.org", "") and "<script" not in html
