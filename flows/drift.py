"""drift flow: each later batch of a problem against its reference period (Evidently), and the drift gate.

Reference = the reference period's holdout: rows from the training year that no model saw, so the models'
predictions on it are an honest reference for prediction drift. One HTML report per batch covers every feature,
the target and each model's prediction.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd
from prefect import flow
from prefect.states import State

from flows.common import log, read_meta, read_spec, read_split, stage_task
from flows.gates import conclude, gate_state, link_files
from tasks.adapters import drift
from tasks.core.artefacts import HOLDOUT, VALID, FeatureSpec, GateResult, GateRow, batch_predictions, predictions_file
from tasks.core.config import load_params
from tasks.core.io import atomic_dir, read_parquet, write_json
from tasks.core.lineage import lineage
from tasks.ml.metrics import nan_to_null
from tasks.present import report
from tasks.present.report_fragments import banner
from tasks.stages.evaluate import prediction_column

PREDICTION = "prediction "


def arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--problem", required=True)
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--features", type=Path, required=True)
    parser.add_argument("--predictions", type=Path, required=True, help="directory of the problem's predictions")
    parser.add_argument("--out", type=Path, required=True, help="directory of the HTML reports, one per batch")
    parser.add_argument("--summary", type=Path, required=True, help="JSON summary (a DVC metrics file)")


def with_predictions(frame: pd.DataFrame, batch: str, outputs: dict[str, pd.DataFrame], spec: FeatureSpec,
                     predictions: Path) -> pd.DataFrame:
    """A batch's rows with one prediction column per model, matched to the rows by row id (`predictions`: the
    directory the models' prediction files were read from)."""
    columns = {}
    for model, rows in outputs.items():
        matched = batch_predictions(rows, batch, frame, spec.id_column, predictions / predictions_file(model))
        columns[f"{PREDICTION}{model}"] = prediction_column(matched, spec).to_numpy()
    return frame.assign(**columns)


@flow(name="drift", flow_run_name="drift {problem}")
def drift_flow(problem: str, data: Path, features: Path, predictions: Path, out: Path, summary: Path,
               params_path: Path = Path("params.yaml")) -> State:
    params = load_params(params_path)
    cfg, spec, meta = params.drift_for(problem), read_spec(features), read_meta(data)
    batches = meta.get("later_batches", [b for b in meta["evaluation_batches"] if b != HOLDOUT])
    reference_split = HOLDOUT if HOLDOUT in meta["rows"] else VALID  # rows no model was fitted on
    if not batches:
        reason = f"no later periods (problems.{problem}.data.current_periods or test_source)"
        with atomic_dir(out):
            pass
        write_json(summary, {"applicable": False, "reason": reason})
        link_files("drift", problem, [summary])
        return gate_state("drift", problem, [GateRow(problem, GateResult.not_applicable(reason), "subject")], cfg.gate)
    outputs = {m: read_parquet(predictions / predictions_file(m)) for m, c in params.train.items()
               if c.problem == problem}
    outputs = {m: rows for m, rows in outputs.items() if not rows.empty}  # unsupervised models predict nothing
    models = list(outputs)
    reference = with_predictions(read_split(data, reference_split), reference_split, outputs, spec, predictions)
    header = banner(lineage(meta["sha256"], params.model_dump(by_alias=True)),
                    [("reports", f"../../{report.INDEX}"), (problem, f"../../pages/{report.problem_page(problem)}")])
    results = {}
    with atomic_dir(out) as tmp:
        for batch in batches:
            results[batch] = stage_task(drift.drift_report)(
                reference, with_predictions(read_split(data, batch), batch, outputs, spec, predictions),
                columns=[*spec.numeric, *spec.ordinal, *spec.categorical], target=spec.target,
                predictions=[f"{PREDICTION}{m}" for m in models], max_rows=cfg.max_rows, seed=params.seed,
                html_path=tmp / f"{batch}.html", header=header)
    gate = cfg.gate
    result = drift.summarize(results, {m: f"{PREDICTION}{m}" for m in models},
                             reference=f"the {reference_split} split of {params.ingest[problem].reference_name}",
                             **gate.model_dump(include={"max_share_drifted", "fail_on_target_drift",
                                                        "fail_on_prediction_drift"}))
    write_json(summary, nan_to_null(result))
    link_files("drift", problem, [summary, *(out / f"{batch}.html" for batch in batches)])
    log.info("drift %s: %s", problem, {b: (e["share_of_drifted_columns"], e["status"])
                                       for b, e in result["batches"].items()})
    rows = [GateRow(b, GateResult.from_dict(e), "subject") for b, e in result["batches"].items()]
    rows += [GateRow(m, GateResult.of(v["own"]), "subject") for m, v in result["models"].items() if v["own"]]
    return gate_state("drift", problem, rows, gate)


def run(args: argparse.Namespace) -> None:
    state = drift_flow(args.problem, args.data, args.features, args.predictions, args.out, args.summary,
                       args.params, return_state=True)
    conclude(state, load_params(args.params).drift_for(args.problem).gate)
