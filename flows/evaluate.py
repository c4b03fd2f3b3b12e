"""evaluate flow: score one trained model on the holdout and every later batch."""

from __future__ import annotations

import argparse
from pathlib import Path

from prefect import flow

from flows.common import log, read_meta, read_split, stage_task
from flows.featurize import SPEC_FILE
from tasks import evaluate, train
from tasks.config import load_params
from tasks.featurize import FeatureSpec
from tasks.io import atomic_write_text, read_json, write_json

METRICS_FILE, ROC_FILE, CONFUSION_FILE = "metrics.json", "roc.csv", "confusion.json"


def arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model-dir", type=Path, required=True)
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--features", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)


@flow(name="evaluate")
def evaluate_flow(model_dir: Path, data: Path, features: Path, out: Path,
                  params_path: Path = Path("params.yaml")) -> dict:
    params = load_params(params_path)
    spec = FeatureSpec.from_dict(read_json(features / SPEC_FILE))
    model = stage_task(train.load_model)(model_dir)
    batches = {name: read_split(data, name) for name in read_meta(data)["evaluation_batches"]}
    result = stage_task(evaluate.evaluate_model)(model, spec, batches, threshold=params.evaluate.threshold,
                                                 roc_points=params.evaluate.roc_points)
    # three separately tracked outputs: each written atomically, the directory (and DVC's .gitignore) kept
    write_json(out / CONFUSION_FILE, {"labels": result.labels, "matrices": result.confusion})
    atomic_write_text(out / ROC_FILE, result.roc.to_csv(index=False))
    write_json(out / METRICS_FILE, result.metrics)
    log.info("evaluate %s: %s", model.meta["name"],
             {b: m.get("roc_auc", m.get("rmse")) for b, m in result.metrics.items()})
    return result.metrics


def run(args: argparse.Namespace) -> None:
    evaluate_flow(args.model_dir, args.data, args.features, args.out, args.params)
