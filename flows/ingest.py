"""ingest flow: raw file -> time and random splits under data/interim/<problem>/."""

from __future__ import annotations

import argparse
import hashlib
from pathlib import Path

from prefect import flow

from flows.common import log, stage_task
from tasks.core.artefacts import META_FILE, split_file
from tasks.core.config import load_params
from tasks.core.io import atomic_dir, frame_sha256, write_json
from tasks.stages import ingest


def arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--problem", required=True)
    parser.add_argument("--out", type=Path, required=True)


@stage_task
def write_splits(splits: dict, out: Path, meta: dict) -> dict[str, int]:
    with atomic_dir(out) as tmp:
        for name, frame in splits.items():
            frame.to_parquet(tmp / split_file(name), index=False)
        write_json(tmp / META_FILE, meta)
    return {name: len(frame) for name, frame in splits.items()}


@flow(name="ingest", flow_run_name="ingest {problem}")
def ingest_flow(problem: str, out: Path, params_path: Path = Path("params.yaml")) -> dict[str, int]:
    params = load_params(params_path)
    cfg = params.ingest[problem]
    frame = stage_task(ingest.load_raw)(cfg)
    test = stage_task(ingest.load_test)(cfg, frame.columns)
    splits = stage_task(ingest.split)(frame, cfg, params.seed, test)
    sha256 = frame_sha256(frame)
    if test is not None:  # both files: one hash
        sha256 = hashlib.sha256((sha256 + frame_sha256(test)).encode()).hexdigest()
    meta = {"problem": problem, "source": cfg.source, "sha256": sha256,
            "rows": {name: len(part) for name, part in splits.items()},
            "evaluation_batches": ingest.evaluation_batches(cfg), "later_batches": cfg.later_batches,
            "selection_batch": cfg.selection_batch, "duplicated_headers": ingest.duplicated_headers(frame)}
    rows = write_splits(splits, out, meta)
    log.info("ingest %s: %s", problem, rows)
    return rows


def run(args: argparse.Namespace) -> None:
    ingest_flow(args.problem, args.out, args.params)
