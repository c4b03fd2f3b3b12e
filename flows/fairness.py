"""fairness flow: per problem, each binary model's group metrics over the sensitive columns, and the fairness gate."""

from __future__ import annotations

import argparse
import hashlib
import inspect
import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
from prefect import flow
from prefect.states import State

from flows.common import log, read_evaluation, read_meta, read_spec, read_split, stage_task
from flows.gates import conclude, gate_state, link_files
from tasks.core.artefacts import (
    BATCH,
    GROUPS_FILE,
    HOLDOUT,
    METRICS_FILE,
    SIMPSON_FILE,
    SIMPSON_SEGMENTS_FILE,
    FeatureSpec,
    GateResult,
    GateRow,
    batch_predictions,
    predictions_file,
)
from tasks.core.config import FairnessConfig, FairnessLimits, load_params
from tasks.core.io import atomic_dir, read_json, read_parquet, write_json
from tasks.ml import simpson, stats
from tasks.ml.metrics import nan_to_null
from tasks.stages import fairness
from tasks.stages.evaluate import scores_from_predictions


def arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--problem", required=True, help="a key under ingest: in params.yaml")
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--features", type=Path, required=True)
    parser.add_argument("--predictions", type=Path, required=True, help="directory of the problem's predictions")
    parser.add_argument("--evaluations", type=Path, required=True, help="directory of the problem's evaluations")
    parser.add_argument("--out", type=Path, required=True, help="directory: <model>/metrics.json and groups.csv")
    parser.add_argument("--summary", type=Path, required=True, help="every model's result (JSON, DVC metrics)")


def thresholds(cfg: FairnessConfig, attributes: list[str]) -> dict[str, fairness.FairnessThresholds]:
    """Each attribute's gate limits from params.yaml: its own entry, else the defaults."""
    def build(limits: FairnessLimits) -> fairness.FairnessThresholds:
        return fairness.FairnessThresholds(**limits.model_dump(include=set(FairnessLimits.model_fields)),
                                           min_group_size=cfg.min_group_size)

    return {name: build(cfg.gate.attributes.get(name, cfg.gate)) for name in attributes}


def batches_of(predictions: pd.DataFrame, source: Path, data: Path, spec: FeatureSpec, threshold: float) -> dict:
    """batch -> (sensitive columns, y 0/1, P(positive)), in the data's row order."""
    out = {}
    for batch in predictions[BATCH].unique():
        frame = read_split(data, batch)
        scored = scores_from_predictions(batch_predictions(predictions, batch, frame, spec.id_column, source), spec,
                                         threshold)
        out[batch] = (frame[spec.sensitive], scored.y, scored.proba)
    return out


def simpson_check(predictions: pd.DataFrame, source: Path, data: Path, spec: FeatureSpec, threshold: float,
                  cfg: FairnessConfig) -> simpson.SimpsonResult:
    """Simpson's paradox check on the holdout (else the first batch): the model's positive predictions, its correct
    ones and the observed positives, by each sensitive column within each of `fairness.simpson.segments`."""
    batch = HOLDOUT if (predictions[BATCH] == HOLDOUT).any() else predictions[BATCH].iloc[0]
    frame = read_split(data, batch)
    scored = scores_from_predictions(batch_predictions(predictions, batch, frame, spec.id_column, source), spec,
                                     threshold)
    predicted = (scored.proba >= threshold).astype(int)
    segments = [c for c in cfg.simpson.segments if c in frame.columns]
    return simpson.check(frame[list(dict.fromkeys([*spec.sensitive, *segments]))],
                         {"selection_rate": predicted, "accuracy": (predicted == scored.y).astype(int),
                          "base_rate": np.asarray(scored.y, dtype=int)},
                         attributes=spec.sensitive, segments=segments, bands=cfg.bands,
                         min_group_size=cfg.min_group_size, min_cell_size=cfg.simpson.min_cell_size)


def audit_key(predictions: Path, data_sha256: str, threshold: float, settings: dict) -> str:
    """What one model's audit is a function of: its predictions, the data, the threshold, the fairness settings
    and the code. A model whose key is unchanged keeps its last result (one model retrained re-audits one)."""
    digest = hashlib.sha256(predictions.read_bytes())
    for module in (fairness, simpson, stats):
        digest.update(Path(inspect.getsourcefile(module)).read_bytes())
    digest.update(json.dumps([data_sha256, threshold, settings], sort_keys=True, default=str).encode())
    return digest.hexdigest()


def kept_audit(previous: Path, key: str, target: Path) -> dict | None:
    """The last audit in `previous` (copied into `target`) when it was made from the same inputs, else None."""
    metrics = previous / METRICS_FILE
    if not metrics.exists() or read_json(metrics).get("key") != key:
        return None
    shutil.copytree(previous, target, dirs_exist_ok=True)
    return read_json(metrics)


def not_applicable(spec: FeatureSpec, outputs: pd.DataFrame) -> str | None:
    """Why group metrics do not apply to a model of this problem, or None."""
    if spec.problem_type != "binary":
        return "group metrics are defined for binary problems, not " + spec.problem_type
    if not spec.sensitive:
        return "no sensitive columns declared (featurize.<problem>.sensitive)"
    return "an unsupervised model makes no predictions" if outputs.empty else None


@flow(name="fairness", flow_run_name="fairness {problem}")
def fairness_flow(problem: str, data: Path, features: Path, predictions: Path, evaluations: Path, out: Path,
                  summary: Path, params_path: Path = Path("params.yaml")) -> State:
    """Every model of `problem`: group metrics and the gate, one `<model>/` directory each under `out`."""
    params = load_params(params_path)
    cfg = params.fairness_for(problem)
    spec = read_spec(features)
    limits = thresholds(cfg, spec.sensitive)
    bands = {column: edges for column, edges in cfg.bands.items() if column in spec.sensitive}
    settings = {"fairness": cfg.model_dump(), "seed": params.seed, "sensitive": spec.sensitive}
    data_sha256 = read_meta(data)["sha256"]
    results, rows = {}, []
    with atomic_dir(out) as staging:
        for model in [cfg.key for cfg in params.models(problem)]:
            source, target = predictions / predictions_file(model), staging / model
            outputs = read_parquet(source)
            target.mkdir()
            reason = not_applicable(spec, outputs)
            if reason is None:
                threshold = read_evaluation(evaluations / model / METRICS_FILE, binary=True).threshold
                key = audit_key(source, data_sha256, threshold, settings)
                kept = kept_audit(out / model, key, target)
                if kept is not None:
                    results[model] = kept
                    log.info("fairness %s: inputs unchanged, last result kept", model)
                else:
                    result = stage_task(fairness.audit).with_options(task_run_name=f"audit {model}")(
                        batches_of(outputs, source, data, spec, threshold), threshold=threshold, bands=bands,
                        n_resamples=cfg.bootstrap_resamples, confidence=cfg.confidence, seed=params.seed,
                        limits=limits)
                    result.groups.to_csv(target / GROUPS_FILE, index=False)
                    paradox = stage_task(simpson_check).with_options(task_run_name=f"simpson {model}")(
                        outputs, source, data, spec, threshold, cfg)
                    paradox.comparisons.to_csv(target / SIMPSON_FILE, index=False)
                    paradox.segments.to_csv(target / SIMPSON_SEGMENTS_FILE, index=False)
                    results[model] = nan_to_null(result.to_dict(threshold, limits)) | {
                        "simpson": paradox.summary(), "key": key}
                    write_json(target / METRICS_FILE, results[model])
                status, reasons = results[model]["status"], results[model]["reasons"]
            else:
                pd.DataFrame(columns=["batch", "attribute", "group", "size"]).to_csv(target / GROUPS_FILE, index=False)
                results[model], status, reasons = {"applicable": False, "reason": reason}, "n/a", [reason]
                write_json(target / METRICS_FILE, results[model])
            rows.append(GateRow(model, GateResult(status, tuple(reasons))))
            log.info("fairness %s: %s %s", model, status, reasons)
    write_json(summary, {model: {k: v for k, v in entry.items() if k != "key"} for model, entry in results.items()})
    link_files("fairness", problem, [summary])
    return gate_state("fairness", problem, rows, cfg.gate)


def run(args: argparse.Namespace) -> None:
    state = fairness_flow(args.problem, args.data, args.features, args.predictions, args.evaluations, args.out,
                          args.summary, args.params, return_state=True)
    conclude(state, load_params(args.params).fairness_for(args.problem).gate)
