"""validate flow: the data contract (Great Expectations) on every dataset; errors stop the pipeline."""

from __future__ import annotations

import argparse
from pathlib import Path

from prefect import flow

from flows.common import log, read_meta, read_split, stage_task
from tasks.core.artefacts import LINEAGE_FILE, META_FILE, OUTCOMES_FILE, split_file
from tasks.core.config import load_params
from tasks.core.io import atomic_dir, atomic_write_text, read_json, write_json
from tasks.core.lineage import lineage
from tasks.present.validation_report import offline_data_docs
from tasks.stages import validate


def arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--problem", required=True)
    parser.add_argument("--data", type=Path, required=True, help="ingested splits")
    parser.add_argument("--contract", type=Path, required=True, help="expectation suite JSON")
    parser.add_argument("--out", type=Path, required=True, help="validated splits for the rest of the pipeline")
    parser.add_argument("--quarantine", type=Path, required=True, help="rows split off, with their reasons")
    parser.add_argument("--report", type=Path, required=True, help="validation report directory")


@flow(name="validate", flow_run_name="validate {problem}")
def validate_flow(problem: str, data: Path, contract: Path, out: Path, quarantine: Path, report: Path,
                  params_path: Path = Path("params.yaml")) -> dict[str, int]:
    params = load_params(params_path)
    ingest = params.ingest[problem]
    if not contract.exists():
        raise validate.missing_contract(problem, contract)
    meta = read_meta(data)
    splits = {name: read_split(data, name) for name in meta["rows"]}
    result = stage_task(validate.validate_problem)(
        splits, read_json(contract), problem=problem, reference=ingest.reference_name,
        quarantine_mode=params.validate_[problem].quarantine)
    stamp = lineage(meta["sha256"], params.validate_[problem].model_dump())
    with atomic_dir(out) as tmp:
        for name, frame in result.splits.items():
            frame.to_parquet(tmp / split_file(name), index=False)
        write_json(tmp / META_FILE, {**meta, "rows": {n: len(f) for n, f in result.splits.items()},
                                       "quarantined": len(result.quarantined)})
    with atomic_dir(quarantine) as tmp:
        result.quarantined.to_parquet(tmp / "rows.parquet", index=False)
    with atomic_dir(report) as tmp:
        write_json(tmp / LINEAGE_FILE, stamp)
        for outcome in result.outcomes:
            name = outcome.dataset_name.split("/")[-1]
            atomic_write_text(tmp / f"datadocs-{name}.html", offline_data_docs(outcome))
        write_json(tmp / OUTCOMES_FILE, [o.to_dict() for o in result.outcomes])
    warnings = sum(len(o.warnings) for o in result.outcomes)
    log.info("validate %s: passed with %d warning(s); %d row(s) quarantined", problem, warnings,
             len(result.quarantined))
    return {"warnings": warnings, "quarantined": len(result.quarantined)}


def run(args: argparse.Namespace) -> None:
    validate_flow(args.problem, args.data, args.contract, args.out, args.quarantine, args.report, args.params)
