"""champion flow: per problem, rank the models, run the paired tests, apply the gates, record the champion."""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd
from prefect import flow
from prefect.states import State

from flows.common import log, read_evaluation, read_spec, read_split, stage_task
from flows.gates import conclude, gate_state, link_files
from tasks.core.artefacts import (
    DETAILS_FILE,
    METRICS_FILE,
    SUPERVISED,
    FeatureSpec,
    GateResult,
    GateRow,
    batch_predictions,
    predictions_file,
)
from tasks.core.config import load_params
from tasks.core.io import read_json, read_parquet, write_json
from tasks.ml.metrics import Scored
from tasks.ml.speed import latency_gate
from tasks.stages import champion
from tasks.stages.evaluate import scores_from_predictions

OWN_GATES = ("quality", "latency")  # the gates this flow evaluates (drift and fairness have their own flows)


def arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--problem", required=True)
    parser.add_argument("--data", type=Path, required=True, help="the problem's validated splits (row ids)")
    parser.add_argument("--features", type=Path, required=True)
    parser.add_argument("--predictions", type=Path, required=True, help="directory of the problem's predictions")
    parser.add_argument("--evaluations", type=Path, required=True)
    parser.add_argument("--fairness", type=Path, required=True)
    parser.add_argument("--drift", type=Path, required=True, help="the problem's drift summary (JSON)")
    parser.add_argument("--speed", type=Path, required=True, help="the problem's inference speeds (JSON)")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--summary", type=Path, required=True, help="the problem's compact DVC metrics (JSON)")


def gate_of(summary: dict, key: str) -> GateResult:
    """A gate result from a stage's summary file, or n/a where the stage did not apply."""
    if not summary.get("applicable"):
        return GateResult.not_applicable()
    return GateResult.from_dict(summary["models"][key] if "models" in summary else summary)


def compact_metrics(problem: str, record: dict, batches: dict[str, dict[str, float]]) -> dict:
    """What `dvc metrics show` / `dvc exp show` print for a problem, under the problem's name (so every column is
    unique across problems): the champion, and per ranked model (named without the problem prefix) its primary
    metric on the holdout and each batch and its outcome."""
    def short(model: str) -> str:
        return model.removeprefix(f"{problem}-")

    return {problem: {
        "champion": short(record["champion"]) if record["champion"] else "none", "metric": record["metric"],
        "models": {short(row["model"]): {**batches[row["model"]], "outcome": row["status"]}
                   for row in record["ranking"]}}}


def selection_scores(source: Path, batch: str, frame: pd.DataFrame, spec: FeatureSpec,
                     threshold: float | None) -> Scored:
    """One model's scores on `batch` from its predictions file, in the order of the batch's data rows `frame`:
    every model is compared on the same rows."""
    rows = batch_predictions(read_parquet(source), batch, frame, spec.id_column, source)
    return scores_from_predictions(rows, spec, threshold)


@flow(name="champion", flow_run_name="champion {problem}")
def champion_flow(problem: str, data: Path, features: Path, predictions: Path, evaluations: Path, fairness: Path,
                  drift: Path, speed: Path, out: Path, summary: Path, params_path: Path = Path("params.yaml")) -> State:
    params = load_params(params_path)
    cfg, spec = params.champion_for(problem), read_spec(features)
    models = [cfg.key for cfg in params.models(problem)]
    drift_summary, speeds = read_json(drift), read_json(speed)["models"]
    candidates, scored, batches = [], {}, {}
    supervised = spec.problem_type in SUPERVISED
    metric = cfg.metric.get(spec.problem_type)
    selection = params.ingest[problem].selection_batch  # the holdout, unless the problem names another batch
    rows = read_split(data, selection) if supervised else None
    for name in models if supervised else []:
        details = read_json(evaluations / name / DETAILS_FILE)
        if details.get("kind", "supervised") != "supervised":
            continue  # clustering, decomposition, generation: described in the hub, not ranked
        metrics = read_evaluation(evaluations / name / METRICS_FILE, binary=spec.problem_type == "binary")
        interval = details["batches"][selection]["intervals"][metric]
        holdout = {k: v for k, v in metrics.batches[selection].items() if k != "rows"}
        batches[name] = metrics.metric(metric)
        gates = {"quality": champion.quality_gate(holdout, cfg.quality_floor.get(spec.problem_type, {})),
                 "drift": gate_of(drift_summary, name),
                 "fairness": gate_of(read_json(fairness / name / METRICS_FILE), name),
                 "latency": latency_gate(speeds.get(name), cfg.latency_budget_ms)}
        candidates.append(champion.Candidate(name, params.train[name].family, holdout, interval, gates,
                                             speeds.get(name, {})))
        scored[name] = selection_scores(predictions / predictions_file(name), selection, rows, spec, metrics.threshold)
    order = [c.model for c in champion.rank(candidates, metric)] if supervised else []
    comparisons = stage_task(champion.compare_to_best)(
        scored, order, metric, n_resamples=params.evaluate.bootstrap_resamples,
        confidence=params.evaluate.confidence, seed=params.seed)
    record = {**champion.decide(problem, spec.problem_type, metric, candidates, comparisons), "selection": selection}
    write_json(out, record)
    write_json(summary, compact_metrics(problem, record, batches))
    link_files("champion", problem, [out, summary])
    log.info("champion %s: %s (of %d)", problem, record["champion"], len(models))
    own = {c.model: GateResult.all_of([c.gates[g] for g in OWN_GATES]) for c in candidates}
    rows = [GateRow(r["model"], own[r["model"]], outcome=r["status"]) for r in record["ranking"]]
    if supervised and record["champion"] is None:
        rows.append(GateRow("(none)", GateResult.of([f"no model of {problem} passes every gate"]),
                            outcome="no champion"))
    return gate_state("champion", problem, rows, cfg.gate)


def run(args: argparse.Namespace) -> None:
    state = champion_flow(args.problem, args.data, args.features, args.predictions, args.evaluations, args.fairness,
                          args.drift, args.speed, args.out, args.summary, args.params, return_state=True)
    conclude(state, load_params(args.params).champion_for(args.problem).gate)
