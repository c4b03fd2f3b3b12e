"""tasks/present/report.py: the hub's pages from real stage outputs on small data; offline, linked, lineage on
every page."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.pipeline import make_pipeline

from tasks.adapters.drift import DriftSummary, summarize
from tasks.core.artefacts import FeatureSpec, GateResult
from tasks.core.config import EvaluateConfig
from tasks.present import report
from tasks.stages.champion import Candidate, compare_to_best, decide, quality_gate
from tasks.stages.evaluate import evaluate_model, scores_from_predictions
from tasks.stages.fairness import FairnessThresholds, audit
from tasks.stages.train import TrainedModel

LINEAGE = {"commit": "abc123", "data": "d1", "params": "p1", "time": "now"}
CFG = EvaluateConfig(bootstrap_resamples=50, roc_points=11, sweep_points=11)
BATCHES = ("holdout", "batch_1")


def meta(name: str, problem: str, family: str) -> dict:
    return {"name": name, "problem": problem, "family": family, "train_rows": 300, "fit_seconds": 0.1,
            "device": "cpu", "seed": 0, "hyperparameters": {}, "validation": {}}


def drift_summary(models: list[str]) -> dict:
    columns = pd.DataFrame([
        {"column": "a", "role": "feature", "stattest": "K-S p_value", "threshold": 0.05, "drift_score": 0.01,
         "drifted": True},
        {"column": "b", "role": "feature", "stattest": "K-S p_value", "threshold": 0.05, "drift_score": 0.4,
         "drifted": False},
        {"column": "y", "role": "target", "stattest": "chi-square", "threshold": 0.05, "drift_score": 0.3,
         "drifted": False},
        *({"column": f"prediction {m}", "role": "prediction", "stattest": "K-S p_value", "threshold": 0.05,
           "drift_score": 0.2, "drifted": False} for m in models)])
    result = DriftSummary(share_of_drifted_columns=0.5, number_of_drifted_columns=1, columns=columns,
                          reference_rows=200, current_rows=200)
    return summarize({"batch_1": result}, {m: f"prediction {m}" for m in models}, reference="the holdout",
                     max_share_drifted=0.3, fail_on_target_drift=False, fail_on_prediction_drift=False)


@pytest.fixture(scope="module")
def problems() -> list[report.ProblemRecord]:
    rng = np.random.default_rng(0)
    n = 600
    x = pd.DataFrame({"a": rng.normal(size=n), "b": rng.normal(size=n), "g": rng.choice(["u", "v"], n)})
    y_bin = pd.Series((x["a"] + rng.normal(size=n) > 0).astype(int))
    y_reg = pd.Series(2 * x["a"] + rng.normal(size=n))
    out = []
    for problem, kind, y, estimators in (
        ("clf", "binary", y_bin, {"clf-lr": LogisticRegression(), "clf-weak": LogisticRegression(C=1e-4)}),
        ("reg", "regression", y_reg, {"reg-ols": LinearRegression()}),
    ):
        spec = FeatureSpec(problem_type=kind, target="y", numeric=["a", "b"], ordinal=[], categorical=[],
                           sensitive=["g"] if kind == "binary" else [], classes=[0, 1] if kind == "binary" else [])
        frame = x.assign(y=y)
        batches = {"holdout": frame[300:450], "batch_1": frame[450:]}
        models, candidates, scored = [], [], {}
        for name, estimator in estimators.items():
            pipeline = make_pipeline(ColumnTransformer([("numeric", "passthrough", ["a", "b"])]), estimator)
            model = TrainedModel(pipeline.fit(x[:300], y[:300]), meta(name, problem, "lr"))
            result = evaluate_model(model, spec, frame[:300], batches, CFG, seed=0)
            fairness = {"applicable": False}
            groups = pd.DataFrame(columns=["batch", "attribute", "group", "size"])
            if kind == "binary":
                limits = {"g": FairnessThresholds(max_equalized_odds_difference=0.5, min_group_size=10)}
                found = audit({b: (batches[b][["g"]], batches[b]["y"].to_numpy(),
                                   result.predictions.query(f"batch == '{b}'")["score"].to_numpy())
                               for b in BATCHES}, threshold=0.5, bands={}, n_resamples=20, confidence=0.95, seed=0,
                              limits=limits)
                fairness, groups = found.to_dict(0.5, limits), found.groups
            insights = {"coefficients": [{"feature": "a", "value": 1.0}], "summary": {"r2": 0.8}} if kind == \
                "regression" else {}
            figures = {"residual_plot": "<svg xmlns='http://www.w3.org/2000/svg'><circle r='2'/></svg>"} if \
                insights else {}
            models.append(report.ModelRecord(name, model.meta, result.metrics.to_dict(), result.details, result.curves,
                                             fairness, groups, insights, figures))
            holdout = result.details["batches"]["holdout"]["intervals"]
            metric = "roc_auc" if kind == "binary" else "rmse"
            candidates.append(Candidate(name, "lr", {k: v["value"] for k, v in holdout.items()}, holdout[metric], {
                "quality": quality_gate({k: v["value"] for k, v in holdout.items()}, {}),
                "drift": GateResult.from_dict(drift_summary([name])["models"][name]),
                "fairness": GateResult(fairness.get("status", "n/a"), tuple(fairness.get("reasons", [])))}))
            scored[name] = scores_from_predictions(result.predictions.query("batch == 'holdout'"), spec, 0.5)
        comparisons = compare_to_best(scored, [c.model for c in candidates], metric, n_resamples=50,
                                      confidence=0.95, seed=0)
        out.append(report.ProblemRecord(
            name=problem, problem_type=kind, data={"source": "x.csv", "sha256": "f00", "rows": {"train": 300},
                                                   "quarantined": 2},
            spec=spec.to_dict(), champion=decide(problem, kind, metric, candidates, comparisons),
            drift=drift_summary(list(estimators)), drift_pages={"batch_1": f"../drift/{problem}/batch_1.html"},
            models=models + ([clusters()] if kind == "regression" else []),
            other_reports={"data docs": [("gx.html", f"../validate/{problem}/gx.html")]}))
    return out


def clusters() -> report.ModelRecord:
    """An unsupervised model's records, as evaluate writes them."""
    details = {"problem_type": "regression", "kind": "clustering", "classes": [], "batches": {},
               "summary": {"algorithm": "kmeans", "chosen_k": 3, "inertia_by_k": {"2": 9.0, "3": 5.0, "4": 4.5},
                           "cluster_sizes": {"0": 10, "1": 12, "2": 8}}}
    return report.ModelRecord("reg-kmeans", meta("reg-kmeans", "reg", "kmeans"), {"holdout": {"rows": 150}}, details,
                              pd.DataFrame(columns=["curve", "series", "x", "y"]),
                              {"applicable": False, "reason": "an unsupervised model makes no predictions"},
                              pd.DataFrame(columns=["batch", "attribute", "group", "size"]))


def test_every_page_is_offline_with_lineage_and_resolving_links(problems):
    pages = report.build_pages(problems, {"clf": LINEAGE, "reg": LINEAGE}, 0.95)
    index = report.index_page_html("hub", problems, LINEAGE, "pages")
    expected = {"problem-clf.html", "data-clf.html", "features-clf.html", "evaluation-clf-lr.html",
                "evaluation-clf-weak.html", "fairness-clf-lr.html", "fairness-clf-weak.html", "problem-reg.html",
                "data-reg.html", "features-reg.html", "evaluation-reg-ols.html", "evaluation-reg-kmeans.html"}
    assert set(pages) == expected
    elsewhere = {"../index.html", "../drift/clf/batch_1.html", "../drift/reg/batch_1.html", "../validate/clf/gx.html",
                 "../validate/reg/gx.html"}
    for name, doc in {**pages, "../index.html": index}.items():
        assert "commit <b>abc123</b>" in doc and "params <b>p1</b>" in doc, name
        assert not re.search(r"<(script|link|img|iframe)\b", doc), name
        for href in re.findall(r'<a [^>]*href="([^"]+)"', doc):
            target = href.removeprefix("pages/") if name == "../index.html" else href
            assert target in pages or target in elsewhere, (name, href)


def test_problem_page_shows_leaderboard_gates_and_drift(problems):
    page = report.problem_page_html(problems[0], LINEAGE, 0.95)
    assert "Leaderboard" in page and "Paired tests: best model vs each runner-up" in page
    assert "<td>real</td>" in page or "<td>within noise</td>" in page
    assert 'href="../drift/clf/batch_1.html"' in page and "50.0% of features drifted" in page
    assert "Champion: <b class='fail'>none</b>" in page, "drift fails every model, so there is no champion"
    gates = report.gate_rows(problems)
    assert {(g["model"], g["drift"], g["outcome"]) for g in gates if g["problem"] == "clf"} == {
        ("clf-lr", "fail", "rejected"), ("clf-weak", "fail", "rejected")}
    board = report.leaderboard_metrics(problems)
    assert board["clf"]["champion"] == "none" and board["reg"]["reg-ols"]["rank"] == 1


def test_model_pages_render_each_problem_type_and_model_insights(problems):
    binary = report.model_page_html(problems[0].models[0], "clf", LINEAGE, 0.95)
    for text in ("Decision threshold", "ROC", "Precision-recall", "Confusion matrices", "Per class", "[95%"):
        assert text in binary
    assert binary.index("<th>holdout</th>") < binary.index("<th>batch_1</th>"), "holdout first, whatever JSON's order"
    regression = report.model_page_html(problems[1].models[0], "reg", LINEAGE, 0.95)
    assert "Residuals" in regression and "Model insights" in regression and "<td>coefficients</td>" not in regression
    assert "<circle r='2'/>" in regression and "<th>feature</th>" in regression
    clustering = report.model_page_html(problems[1].models[1], "reg", LINEAGE, 0.95)
    assert "Clustering model" in clustering and "inertia by k" in clustering and "<td>chosen_k</td>" in clustering
    assert "Unsupervised models" in report.problem_page_html(problems[1], LINEAGE, 0.95)
    fairness = report.fairness_page_html(problems[0].models[0], "clf", LINEAGE)
    assert "<details open><summary><b>Groups: holdout</b>" in fairness and "equalized_odds_difference" in fairness


def test_undefined_metrics_read_as_null_render_as_blank(problems):
    model = problems[0].models[0]
    metrics = {**model.metrics, "batch_1": {**model.metrics["batch_1"], "roc_auc": None}}
    undefined = report.ModelRecord(**{**model.__dict__, "metrics": metrics})
    problem = report.ProblemRecord(**{**problems[0].__dict__, "models": [undefined, *problems[0].models[1:]]})
    assert "(AUC nan)" in report.model_page_html(undefined, "clf", LINEAGE, 0.95)
    assert "None" not in report.problem_page_html(problem, LINEAGE, 0.95)


def card(index: str, problem: str) -> str:
    return index[index.index(f'<section class="problem" id="problem-{problem}">'):].split("</section>")[0]


def test_the_hub_dashboard_shows_each_champion_metric_per_batch_gates_and_status(problems):
    record = problems[0].champion  # clf-lr made champion whatever its gates said
    ranking = [{**r, "status": "champion" if r["model"] == "clf-lr" else "runner-up"} for r in record["ranking"]]
    clf = report.ProblemRecord(**{**problems[0].__dict__, "champion": {**record, "champion": "clf-lr",
                                                                         "family": "lr", "ranking": ranking}})
    index = report.index_page_html("hub", [clf, *problems[1:]], LINEAGE, "pages")
    shown = card(index, "clf")
    champion = next(m for m in clf.models if m.name == "clf-lr")
    assert 'Champion <b class="ok">clf-lr</b> (lr)' in shown and "Promoted: <b>none</b>" in shown
    for batch in BATCHES:  # evaluate's metrics.json value and details.json interval, as the page rounds them
        value = champion.metrics[batch]["roc_auc"]
        interval = champion.details["batches"][batch]["intervals"]["roc_auc"]
        assert f"{value:.4f} [{interval['low']:.4f}, {interval['high']:.4f}]" in shown, batch
    assert shown.index("<td>holdout <small>(ranked on)</small></td>") < shown.index("<td>batch_1</td>")
    assert report.champion_cell(clf).startswith("roc_auc on holdout: ") and report.champion_cell(clf) in shown
    gates = next(r for r in ranking if r["model"] == "clf-lr")["gates"]
    for gate, label in (("quality", "quality floor"), ("drift", "drift"), ("fairness", "fairness")):
        assert re.search(rf'<span class="badge {gates[gate]["status"]}"[^>]*>{label}: {gates[gate]["status"]}<', shown)
    assert '<span class="badge na" title="">latency: n/a</span>' in shown, "no latency gate recorded"
    flagged = sum(e["status"] == "fail" for e in clf.drift["batches"].values())
    assert f"{flagged} of {len(clf.drift['batches'])} batch(es) flagged" in shown
    assert f'<span class="badge {champion.fairness["status"]}"' in shown.split("<dt>bias</dt>")[1]
    assert 'href="pages/problem-clf.html"' in shown and 'href="pages/evaluation-clf-lr.html"' in shown
    regression = card(index, "reg")
    assert 'Champion <span class="fail">none</span>: best reg-ols is held back by a gate' in regression, "drift fails"


def test_user_text_is_escaped_and_only_the_codes_own_svg_is_markup(problems):
    evil = "<script>alert(1)</script>"
    clf = problems[0]
    spec = {**clf.spec, "numeric": [*clf.spec["numeric"], evil]}
    model = clf.models[0]
    renamed = report.ModelRecord(**{**model.__dict__, "name": evil, "meta": {**model.meta, "family": evil}})
    record = report.ProblemRecord(**{**clf.__dict__, "spec": spec, "models": [renamed, *clf.models[1:]]})
    pages = [report.features_page_html(record, LINEAGE), report.model_page_html(renamed, "clf", LINEAGE, 0.95),
             report.index_page_html("hub", [record], {"commit": evil}, "pages")]
    for page in pages:
        assert evil not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<svg" in pages[1], "the page's own figures stay markup"


def test_missing_values_and_simpson_sections(problems):
    from tasks.ml import simpson
    from tests.unit.test_simpson import berkeley

    clf = problems[0]
    lr, weak = clf.models[:2]
    options = {"impute": True, "numeric_scaling": "standard"}
    admissions = berkeley().rename(columns={"sex": "g"})   # the fixture's sensitive column
    paradox = simpson.check(admissions[["g", "dept"]], {"accuracy": admissions["admitted"].to_numpy()},
                            attributes=["g"], segments=["dept"])
    twin = report.ModelRecord(**{**lr.__dict__, "meta": {**lr.meta, "feature_options": options}})
    native = report.ModelRecord(**{**weak.__dict__, "meta": {**weak.meta, "feature_options": {**options,
                                "impute": False}}, "simpson": paradox.comparisons,
                                "simpson_segments": paradox.segments})
    record = report.ProblemRecord(**{**clf.__dict__, "models": [twin, native], "missing": {
        "holdout": {"rows": 150, "rows_with_missing": 3, "columns": {"a": 3}},
        "train": {"rows": 300, "rows_with_missing": 0, "columns": {}}}})
    page = report.problem_page_html(record, LINEAGE, 0.95)
    section = page[page.index("<h2>Missing values</h2>"):page.index("<h2>Drift</h2>")]
    assert "a: 3" in section and 'href="evaluation-clf-weak.html"' in section
    auc = {m.name: m.details["batches"]["holdout"]["intervals"]["roc_auc"] for m in (twin, native)}
    for entry in auc.values():
        assert f"{entry['value']:.4f} [{entry['low']:.4f}, {entry['high']:.4f}]" in section
    assert "1 of 1" in page[page.index("<h2>Bias</h2>"):]   # the Simpson column of the bias summary
    bias = report.fairness_page_html(native, "clf", LINEAGE)
    simpson_part = bias[bias.index("Simpson's paradox check"):]
    assert "4 of 6" in simpson_part and "Segments where the difference reverses</b> (4, with counts)" in simpson_part
    assert "<td>A</td><td class='num'>108</td><td class='num'>825</td>" in simpson_part   # women, men
    without = report.ProblemRecord(**{**record.__dict__, "missing": {}})
    assert "Missing values" not in report.problem_page_html(without, LINEAGE, 0.95)


def test_a_tuned_models_page_shows_the_search(problems):
    model = problems[0].models[0]
    trials = [{"number": 0, "state": "complete", "value": 0.80, "params": {"C": 1.0}, "defaults": True},
              {"number": 1, "state": "complete", "value": 0.84, "params": {"C": 0.1}, "defaults": False},
              {"number": 2, "state": "pruned", "value": 0.70, "params": {"C": 9.0}, "defaults": False}]
    tuning = {"metric": "roc_auc", "direction": "maximize", "scored_on": "validation split", "default_value": 0.80,
              "best_value": 0.84, "best_trial": 1, "hyperparameters": {"C": 0.1}, "trials": trials, "gain": 0.04}
    tuned = report.ModelRecord(**{**model.__dict__, "tuning": tuning, "run": {**model.run, "tune_seconds": 12.5}})
    page = report.model_page_html(tuned, "clf", LINEAGE, 0.95)
    for text in ("<h2>Tuning</h2>", "<td>gain over defaults</td>", "0.04", "12.5 s", "2 complete, 1 pruned",
                 "tuning trials"):
        assert text in page
    assert "<h2>Tuning</h2>" not in report.model_page_html(model, "clf", LINEAGE, 0.95)
