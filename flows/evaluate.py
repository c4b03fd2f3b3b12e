"""evaluate flow: score one trained model on the holdout and every later batch, with bootstrap intervals."""

from __future__ import annotations

import argparse
from pathlib import Path

from prefect import flow

from flows.common import log, read_meta, read_split, stage_task
from flows.featurize import SPEC_FILE
from flows.gates import link_files
from tasks import evaluate, train
from tasks.config import load_params
from tasks.featurize import FeatureSpec
from tasks.ingest import TRAIN, VALID
from tasks.io import atomic_write_bytes, atomic_write_text, read_json, write_json
from tasks.metrics import nan_to_null

METRICS_FILE, DETAILS_FILE, CURVES_FILE = "metrics.json", "details.json", "curves.csv"


def arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model-dir", type=Path, required=True)
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--features", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True, help="directory of the metrics, details and curves")
    parser.add_argument("--predictions", type=Path, required=True, help="parquet file of per-row predictions")


@flow(name="evaluate")
def evaluate_flow(model_dir: Path, data: Path, features: Path, out: Path, predictions: Path,
                  params_path: Path = Path("params.yaml")) -> dict:
    params = load_params(params_path)
    spec = FeatureSpec.from_dict(read_json(features / SPEC_FILE))
    model = stage_task(train.load_model)(model_dir)
    batches = {name: read_split(data, name) for name in read_meta(data)["evaluation_batches"]}
    result = stage_task(evaluate.evaluate_model)(
        model, spec, read_split(data, VALID), batches, params.evaluate, seed=params.seed,
        train=read_split(data, TRAIN) if spec.text else None,
        image_shape=params.evaluate.images.get(model.meta["problem"]))
    # separately tracked outputs, each written atomically (the directory and DVC's .gitignore are kept)
    atomic_write_bytes(predictions, result.predictions.to_parquet(index=False))
    write_json(out / DETAILS_FILE, result.details)
    atomic_write_text(out / CURVES_FILE, result.curves.to_csv(index=False))
    write_json(out / METRICS_FILE, nan_to_null(result.metrics))
    link_files("evaluate", model.meta["name"], [out / METRICS_FILE, out / DETAILS_FILE, out / CURVES_FILE,
                                                predictions])
    log.info("evaluate %s: %s", model.meta["name"],
             {b: m for b, m in result.metrics.items() if b == "threshold" or b == "holdout"})
    return result.metrics


def run(args: argparse.Namespace) -> None:
    evaluate_flow(args.model_dir, args.data, args.features, args.out, args.predictions, args.params)
