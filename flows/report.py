"""report flow: leaderboard metrics and the offline HTML hub over every evaluated model."""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd
from prefect import flow
from prefect.artifacts import create_markdown_artifact

from flows.common import log, read_meta, stage_task
from flows.evaluate import CONFUSION_FILE, METRICS_FILE, ROC_FILE
from tasks import report
from tasks.config import load_params
from tasks.io import atomic_dir, atomic_write_text, read_json, stable_hash, write_json
from tasks.lineage import lineage
from tasks.train import META_FILE


def arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--models", type=Path, required=True, help="directory of trained models")
    parser.add_argument("--evaluations", type=Path, required=True, help="directory of evaluate outputs")
    parser.add_argument("--data", type=Path, required=True, help="directory of ingested problems")
    parser.add_argument("--index", type=Path, required=True)
    parser.add_argument("--pages", type=Path, required=True)
    parser.add_argument("--leaderboard", type=Path, required=True)


def load_record(name: str, models: Path, evaluations: Path) -> report.ModelRecord:
    ev = evaluations / name
    return report.ModelRecord(name=name, meta=read_json(models / name / META_FILE),
                              metrics=read_json(ev / METRICS_FILE), roc=pd.read_csv(ev / ROC_FILE),
                              confusion=read_json(ev / CONFUSION_FILE))


@flow(name="report")
def report_flow(models: Path, evaluations: Path, data: Path, index: Path, pages: Path, leaderboard: Path,
                params_path: Path = Path("params.yaml")) -> str:
    params = load_params(params_path)
    primary = params.report.primary_metric
    records = [stage_task(load_record)(name, models, evaluations) for name in params.train]
    board = report.leaderboard(records, primary)
    data_hash = stable_hash({p: read_meta(data / p)["sha256"] for p in params.ingest})
    stamp = lineage(data_hash, params.model_dump(by_alias=True))
    headlines, links = {}, {}
    with atomic_dir(pages) as tmp:
        for problem in params.ingest:
            mine = [r for r in records if r.meta["problem"] == problem]
            rows = board[board["problem"] == problem]
            page = f"evaluation-{problem}.html"
            atomic_write_text(tmp / page, report.evaluation_page(problem, mine, rows, primary, stamp))
            headlines[problem] = report.summary(rows, primary)
            links[problem] = [("evaluation", f"{pages.name}/{page}")]
    write_json(leaderboard, {r["model"] + "/" + r["batch"]: {k: v for k, v in r.items()
                                                            if k not in ("model", "batch", "problem", "family")}
                             for r in board.to_dict("records")})
    atomic_write_text(index, report.index_page(params.report.title, headlines, links, stamp))
    best = board.iloc[0] if not board.empty else None
    create_markdown_artifact(key="leaderboard", markdown=board.to_markdown(index=False) if not board.empty else "",
                             description=f"Reports written to {index.resolve()}")
    log.info("report: %d models; best %s; hub at %s", len(records), None if best is None else best["model"], index)
    return str(index)


def run(args: argparse.Namespace) -> None:
    report_flow(args.models, args.evaluations, args.data, args.index, args.pages, args.leaderboard, args.params)
