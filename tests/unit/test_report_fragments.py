"""tasks/present/report_fragments.py renders results as offline HTML fragments."""

from __future__ import annotations

import numpy as np
import pandas as pd

from tasks.ml import stats
from tasks.present import report_fragments as rf
from tasks.stages.fairness import group_metrics


def test_ci_cell():
    assert rf.ci_cell(0.81234, 0.8, 0.82) == "0.8123 [0.8000, 0.8200]"
    assert rf.ci_cell(float("nan"), float("nan"), float("nan")) == "n/a"


def test_leaderboard_orders_models_by_the_primary_metric():
    intervals = pd.DataFrame({
        "model": ["a", "a", "b", "b"], "metric": ["accuracy", "roc_auc"] * 2,
        "value": [0.8, 0.7, 0.75, 0.9], "low": [0.79, 0.69, 0.74, 0.89], "high": [0.81, 0.71, 0.76, 0.91],
    })
    html = rf.leaderboard_table(intervals, sort_by="roc_auc")
    assert html.index("<td>b</td>") < html.index("<td>a</td>")
    assert "0.9000 [0.8900, 0.9100]" in html and html.index("<th>accuracy</th>") < html.index("<th>roc_auc</th>")


def test_paired_and_fairness_tables_and_figures():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 200)
    proba = np.clip(0.4 * y + 0.6 * rng.random(200), 0, 1)
    pairs = stats.compare_models(y, {"m1": proba, "m2": 1 - proba}, metric="roc_auc", metric_fn=stats.roc_auc,
                                 predictions={"m1": proba >= 0.5, "m2": proba < 0.5}, n_resamples=50, seed=0)
    html = rf.paired_table(pairs)
    assert "<th>McNemar p</th>" in html and "<td>m2</td>" in html and "<td>real</td>" in html
    assert "McNemar" not in rf.paired_table(pairs.drop(columns=["mcnemar_b", "mcnemar_c", "mcnemar_p_value"]))
    groups = group_metrics(pd.DataFrame({"SEX": rng.choice(["1", "2"], 200)}), y, proba, threshold=0.5,
                           n_resamples=20, seed=0)
    small = int(groups["size"].min())
    html = rf.fairness_table(groups, "SEX", min_group_size=small + 1)
    assert html.count("(not gated)") == 1 and "<th>auc</th>" in html
    sweep = stats.threshold_sweep(y, proba, np.linspace(0, 1, 21))
    assert rf.threshold_figure(sweep, chosen=0.4).startswith("<svg")
    assert rf.calibration_figure({"holdout": stats.calibration_table(y, proba, 10)}).startswith("<svg")
    banner = rf.banner({"commit": "abc"}, [("reports", "../index.html")])
    assert "commit <b>abc</b>" in banner and 'href="../index.html"' in banner
    assert ("<body>" + banner).startswith("<body><header"), "spliced into Evidently's page unescaped"
