"""champion flow: per problem, rank the models, run the paired tests, apply the gates, record the champion."""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd
from prefect import flow
from prefect.states import State

from flows.common import log, stage_task
from flows.evaluate import DETAILS_FILE, METRICS_FILE
from flows.featurize import SPEC_FILE
from flows.gates import conclude, gate_state, link_files
from tasks import champion
from tasks.config import load_params
from tasks.evaluate import scores_from_predictions
from tasks.featurize import FeatureSpec
from tasks.ingest import HOLDOUT
from tasks.io import read_json, write_json
from tasks.metrics import SUPERVISED

NOT_APPLICABLE = {"status": "n/a", "reasons": []}


def arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--problem", required=True)
    parser.add_argument("--features", type=Path, required=True)
    parser.add_argument("--predictions", type=Path, required=True, help="directory of the problem's predictions")
    parser.add_argument("--evaluations", type=Path, required=True)
    parser.add_argument("--fairness", type=Path, required=True)
    parser.add_argument("--drift", type=Path, required=True, help="the problem's drift summary (JSON)")
    parser.add_argument("--out", type=Path, required=True)


def gate_of(summary: dict, key: str) -> dict:
    """A gate result from a stage's summary file: {status, reasons}, or n/a where the stage did not apply."""
    if not summary.get("applicable"):
        return NOT_APPLICABLE
    entry = summary["models"][key] if "models" in summary else summary
    return {"status": entry["status"], "reasons": entry["reasons"]}


@flow(name="champion")
def champion_flow(problem: str, features: Path, predictions: Path, evaluations: Path, fairness: Path, drift: Path,
                  out: Path, params_path: Path = Path("params.yaml")) -> State:
    params = load_params(params_path)
    cfg, spec = params.champion, FeatureSpec.from_dict(read_json(features / SPEC_FILE))
    models = [name for name, model in params.train.items() if model.problem == problem]
    drift_summary = read_json(drift)
    candidates, scored = [], {}
    supervised = spec.problem_type in SUPERVISED
    metric = cfg.metric.get(spec.problem_type)
    for name in models if supervised else []:
        metrics, details = (read_json(evaluations / name / f) for f in (METRICS_FILE, DETAILS_FILE))
        if details.get("kind", "supervised") != "supervised":
            continue  # clustering, decomposition, generation: described in the hub, not ranked
        interval = details["batches"][HOLDOUT]["intervals"][metric]
        holdout = {k: v for k, v in metrics[HOLDOUT].items() if k != "rows"}
        gates = {"quality": champion.quality_gate(holdout, cfg.quality_floor.get(spec.problem_type, {})),
                 "drift": gate_of(drift_summary, name),
                 "fairness": gate_of(read_json(fairness / name / METRICS_FILE), name)}
        candidates.append(champion.Candidate(name, params.train[name].family, holdout, interval, gates))
        holdout_rows = pd.read_parquet(predictions / f"{name}.parquet").query(f"batch == '{HOLDOUT}'")
        scored[name] = scores_from_predictions(holdout_rows, spec, metrics.get("threshold", 0.5))
    order = [c.model for c in champion.rank(candidates, metric)] if supervised else []
    comparisons = stage_task(champion.compare_to_best)(
        scored, order, metric, n_resamples=params.evaluate.bootstrap_resamples,
        confidence=params.evaluate.confidence, seed=params.seed)
    record = champion.decide(problem, spec.problem_type, metric, candidates, comparisons)
    write_json(out, record)
    link_files("champion", problem, [out])
    log.info("champion %s: %s (of %d)", problem, record["champion"], len(models))
    rows = [{"model": r["model"], "status": "fail" if r["gates"]["quality"]["status"] == "fail" else "pass",
             "reasons": r["gates"]["quality"]["reasons"], "outcome": r["status"]} for r in record["ranking"]]
    if supervised and record["champion"] is None:
        rows.append({"model": "(none)", "status": "fail", "outcome": "no champion",
                     "reasons": [f"no model of {problem} passes every gate"]})
    return gate_state("champion", problem, rows, cfg.gate)


def run(args: argparse.Namespace) -> None:
    state = champion_flow(args.problem, args.features, args.predictions, args.evaluations, args.fairness, args.drift,
                          args.out, args.params, return_state=True)
    conclude(state, load_params(args.params).champion.gate)
