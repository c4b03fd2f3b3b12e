"""featurize flow: the feature specification every model of a problem is built from, and a summary of what the
problem's feature options build on the training split (the report stage renders it as the features report)."""

from __future__ import annotations

import argparse
from pathlib import Path

from prefect import flow

from flows.common import log, read_meta, read_split, stage_task
from tasks.core.artefacts import SPEC_FILE, SUMMARY_FILE
from tasks.core.config import load_params
from tasks.core.io import atomic_dir, write_json
from tasks.core.lineage import provenance
from tasks.ml.preprocess import build_preprocessor, feature_summary
from tasks.ml.resample import resample
from tasks.stages import featurize


def arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--problem", required=True)
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True, help="spec.json and summary.json")


@stage_task
def describe(spec: featurize.FeatureSpec, train, options, seed: int) -> dict:
    """Fit the problem-level preprocessing on the (resampled) training split and summarise what it built."""
    sampled = resample(train, spec.target, options.resampling, seed=seed)
    preprocessor = build_preprocessor(spec, options, seed=seed).fit(sampled.frame.drop(columns=spec.target))
    return feature_summary(preprocessor, spec, options, train=sampled.frame, resampled=sampled, seed=seed)


@flow(name="featurize", flow_run_name="featurize {problem}")
def featurize_flow(problem: str, data: Path, out: Path, params_path: Path = Path("params.yaml")) -> int:
    params = load_params(params_path)
    cfg = params.featurize[problem]
    train = read_split(data, "train")
    meta = read_meta(data)
    spec = stage_task(featurize.build_spec)(train, params.ingest[problem], cfg, str(data / "train.parquet"),
                                            meta.get("duplicated_headers", {}), params.seed)
    for column, reason in spec.excluded.items():
        log.warning("featurize %s: column %r excluded: %s", problem, column, reason)
    for column, reason in spec.warnings.items():
        log.warning("featurize %s: column %r: %s", problem, column, reason)
    summary = describe(spec, train, cfg.options, params.seed)
    summary["guards"] = {"excluded": spec.excluded, "warnings": spec.warnings, "notes": spec.notes}
    summary["provenance"] = provenance(meta["sha256"], cfg.model_dump(mode="json"))
    with atomic_dir(out) as tmp:
        write_json(tmp / SPEC_FILE, spec.to_dict())
        write_json(tmp / SUMMARY_FILE, summary)
    log.info("featurize %s: %d input features -> %d model features", problem, len(spec.features),
             summary["steps"][-1]["features"])
    return len(spec.features)


def run(args: argparse.Namespace) -> None:
    featurize_flow(args.problem, args.data, args.out, args.params)
