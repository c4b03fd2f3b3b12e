"""fairness flow: one binary model's group metrics over its problem's sensitive columns, and the fairness gate."""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd
from prefect import flow
from prefect.states import State

from flows.common import log, read_split, stage_task
from flows.evaluate import METRICS_FILE
from flows.featurize import SPEC_FILE
from flows.gates import conclude, gate_state, link_files
from tasks import fairness
from tasks.config import FairnessConfig, FairnessLimits, load_params
from tasks.errors import DataError
from tasks.evaluate import scores_from_predictions
from tasks.featurize import FeatureSpec
from tasks.io import atomic_write_text, read_json, write_json
from tasks.metrics import nan_to_null

GROUPS_FILE = "groups.csv"


def arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", required=True, help="a key under train: in params.yaml")
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--features", type=Path, required=True)
    parser.add_argument("--predictions", type=Path, required=True, help="the model's evaluate predictions")
    parser.add_argument("--evaluation", type=Path, required=True, help="the model's evaluate directory")
    parser.add_argument("--out", type=Path, required=True)


def thresholds(cfg: FairnessConfig, attributes: list[str]) -> dict[str, fairness.FairnessThresholds]:
    """Each attribute's gate limits from params.yaml: its own entry, else the defaults."""
    def build(limits: FairnessLimits) -> fairness.FairnessThresholds:
        return fairness.FairnessThresholds(**limits.model_dump(include=set(FairnessLimits.model_fields)),
                                           min_group_size=cfg.min_group_size)

    return {name: build(cfg.gate.attributes.get(name, cfg.gate)) for name in attributes}


def batches_of(predictions: pd.DataFrame, data: Path, spec: FeatureSpec, threshold: float) -> dict:
    """batch -> (sensitive columns, y 0/1, P(positive)), rows in the evaluate stage's order."""
    out = {}
    for batch, rows in predictions.groupby("batch", sort=False):
        frame = read_split(data, batch)
        if len(frame) != len(rows):
            raise DataError(f"{data / batch}: {len(frame)} rows but {len(rows)} predictions; re-run evaluate")
        scored = scores_from_predictions(rows, spec, threshold)
        out[batch] = (frame[spec.sensitive], scored.y, scored.proba)
    return out


@flow(name="fairness")
def fairness_flow(model: str, data: Path, features: Path, predictions: Path, evaluation: Path, out: Path,
                  params_path: Path = Path("params.yaml")) -> State:
    params = load_params(params_path)
    cfg = params.fairness
    spec = FeatureSpec.from_dict(read_json(features / SPEC_FILE))
    outputs = pd.read_parquet(predictions)
    reason = ("group metrics are defined for binary problems, not " + spec.problem_type
              if spec.problem_type != "binary" else "no sensitive columns declared (featurize.<problem>.sensitive)"
              if not spec.sensitive else "an unsupervised model makes no predictions" if outputs.empty else None)
    if reason is not None:
        atomic_write_text(out / GROUPS_FILE, "batch,attribute,group,size\n")
        write_json(out / METRICS_FILE, {"applicable": False, "reason": reason})
        link_files("fairness", model, [out / METRICS_FILE, out / GROUPS_FILE])
        log.info("fairness %s: not applicable: %s", model, reason)
        return gate_state("fairness", model, [{"model": model, "status": "n/a", "reasons": [reason]}], cfg.gate)
    threshold = read_json(evaluation / METRICS_FILE)["threshold"]
    limits = thresholds(cfg, spec.sensitive)
    result = stage_task(fairness.audit)(
        batches_of(outputs, data, spec, threshold), threshold=threshold,
        bands={column: edges for column, edges in cfg.bands.items() if column in spec.sensitive},
        n_resamples=cfg.bootstrap_resamples, confidence=cfg.confidence, seed=params.seed, limits=limits)
    atomic_write_text(out / GROUPS_FILE, result.groups.to_csv(index=False))
    write_json(out / METRICS_FILE, nan_to_null(result.to_dict(threshold, limits)))
    link_files("fairness", model, [out / METRICS_FILE, out / GROUPS_FILE])
    log.info("fairness %s: %s %s", model, result.status, result.reasons)
    return gate_state("fairness", model, [{"model": model, "status": result.status, "reasons": result.reasons}],
                      cfg.gate)


def run(args: argparse.Namespace) -> None:
    state = fairness_flow(args.model, args.data, args.features, args.predictions, args.evaluation, args.out,
                          args.params, return_state=True)
    conclude(state, load_params(args.params).fairness.gate)
