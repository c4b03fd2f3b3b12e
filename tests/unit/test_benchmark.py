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
    """Every foreach stage is keyed by its problem, as dvc.yaml names it (train@employment)."""
    assert report.stage_label({"stage": "train", "argv": ["train", "--problem", "p", "--data", "d"]}) == "train@p"
    assert report.stage_label({"stage": "ingest", "argv": ["ingest", "--problem", "p"]}) == "ingest@p"
    assert report.stage_label({"stage": "evaluate", "argv": ["evaluate", "--problem", "p", "--models", "models/p"]}) \
        == "evaluate@p"
    assert report.stage_label({"stage": "check", "argv": ["check", "--code", "models/code"]}) == "check"
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
    split = report.overhead_summary([30.0], [10.0], [{"train@p": 15.0, "evaluate@p": 8.0, "report": 2.0}], [5.0], [1.0])
    assert split["analysis_seconds"] == 10.0 and split["gpu_wait_seconds"] == 5.0
    assert split["same_work_ratio"] == pytest.approx((30 - 10 - 5 + 1) / 10)
    scale = report.scale_summary([1, 4], [100, 400], [[record("a", 1.0, 300), record("b", 2.0, 500)],
                                                      [record("a", 8.0, 900), record("b", 2.0, 600)]], [3.0, 10.0])
    assert scale["stages"]["a"]["slope"] == pytest.approx(1.5) and scale["stages"]["b"]["slope"] == pytest.approx(0)
    assert scale["peak_rss_mb_at_largest"] == 900 and scale["peak_stage_at_largest"] == "a"
    scale |= {"models": ["m"], "plain_seconds": [2.0, 10.0], "same_work_ratio": [1.2, 0.9]}
    lock = {"median": 0.4, "lines": 2500, "stages": 43, "origin": "the committed dvc.lock"}
    result = {"overhead": overhead, "scale": scale,
              "noop": {"median": 1.2, "note": "43 stages", "lock_rewrite": lock,
                       "problem_dag": {"stages": 11, "median": 0.6}},
              "stage_overhead": {"check": {"dvc": 1.4, "command": 0.6, "work": 0.1, "overhead": 1.3},
                                 "ingest@p": {"dvc": 1.5, "command": 1.0, "work": 0.7, "overhead": 0.8}},
              "gpu": {"available": False, "reason": "no GPU here"}}
    figures = {f.name: f for f in report.figures(result)}
    verdicts = {name: f.status for name, f in figures.items()}
    same_work = "orchestration overhead: the plain script's work / plain script (estimate)"
    assert verdicts[same_work] == "MISSED" and figures[same_work].goal == 1.0, "10/9: over the goal of 1.0"
    assert verdicts["  whole pipeline / plain script (medians)"] == "-", "no goal: it does more than the plain script"
    assert verdicts["scale slope: a"] == "MISSED" and verdicts["scale slope: b"] == "ok"
    whole = figures["no-op dvc repro, whole default pipeline (median)"]
    assert whole.status == "ok" and whole.goal == 1.5 and whole.note == "43 stages"
    assert verdicts["  no-op dvc repro, the timed problem's DAG only (median)"] == "-"
    assert verdicts["per-stage overhead: check"] == "MISSED", "1.3 s over the goal of 1.0 s"
    assert verdicts["per-stage overhead: ingest@p"] == "ok"
    assert verdicts["GPU vs CPU (XGBoost, Keras CNN)"] == "not run"
    rewrite = figures["  DVC rewriting the full default dvc.lock (each stage)"]
    assert rewrite.status == "ok" and "43 stages (the committed dvc.lock)" in rewrite.note
    amortised = next(f for f in report.figures(result) if "amortised" in f.name)
    assert amortised.value == pytest.approx(2.0 / 2 + 0.5) and amortised.status == "MISSED"
    assert verdicts["orchestration overhead at x1 (m): the plain script's work"] == "MISSED"
    assert verdicts["orchestration overhead at x4 (m): the plain script's work"] == "ok"
    assert verdicts["  whole pipeline / plain script at x4"] == "-"
    text = report.text_table(report.figures(result))
    assert "<= 1 x" in text and "<= 1.5 s" in text and "<= 1 s" in text and "no GPU here" in text
    assert "1.15" not in text
    assert all(math.isfinite(r["value"]) for r in report.figure_records(report.figures(result)) if r["value"])


def test_page_is_offline_with_every_section():
    scale = report.scale_summary([1, 2], [10, 20], [[record("a", 1.0, 1.0)], [record("a", 2.0, 2.0)]], [1.0, 2.0])
    html = report.html_page({"machine": {"cpu": "test"}, "scale": scale, "gpu": {"reason": "no GPU here"},
                             "families": [{"model": "m", "family": "f", "fit_seconds": 1.0, "train_rows": 10,
                                           "scored_rows": 5, "rows_per_second": 100.0}]}, {"commit": "abc"})
    assert "<svg" in html and "Scale curve" in html and "no GPU here" in html and "Model families" in html
    assert "http://" not in html.replace("http://www.w3.org", "") and "<script" not in html


def test_benchmark_settings_follow_the_params_layout():
    """The timed models are names under problems.employment.models; the smoke settings edit the problem blocks
    and leave valid parameters; the commands the benchmark times are dvc.yaml's."""
    from types import SimpleNamespace

    import yaml

    from scripts import benchmark
    from tasks.core.config import parse_params, restrict
    from tests.conftest import ROOT

    raw = yaml.safe_load((ROOT / "params.yaml").read_text())
    scoped = restrict(raw, benchmark.PROBLEM, list(benchmark.BASELINE_MODELS))
    benchmark.quick_params(scoped)
    params = parse_params(scoped)
    assert [m.key for m in params.models(benchmark.PROBLEM)] == [f"employment-{m}" for m in benchmark.BASELINE_MODELS]
    assert params.ingest[benchmark.PROBLEM].sample_fraction == 0.1
    assert all(m.hyperparameters.get("n_estimators", 0) <= 40 for m in params.train.values())
    copy = SimpleNamespace(repo=ROOT)
    assert benchmark.stage_command(copy, "check") == ["bin/python", "-m", "flows", "check", "--code", "models/code"]
    ingest = benchmark.stage_command(copy, "ingest@employment")
    assert ingest[:5] == ["bin/python", "-m", "flows", "ingest", "--problem"]
    assert {"check", "ingest@employment", "train@employment", "report"} <= set(benchmark.stage_outputs(copy))
    assert benchmark.gpu_wait({"placement": {"note": "work pool 'gpu' has no live worker (waited 3.5 s)"}}) == 3.5
    assert benchmark.gpu_wait({"placement": {"note": ""}}) == 0.0 and benchmark.gpu_wait({}) == 0.0
