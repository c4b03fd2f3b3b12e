"""recommend flow: MovieLens recommendation families and the learning-to-rank ranker; the report stage renders
their page."""

from __future__ import annotations

import argparse
from pathlib import Path

from prefect import flow

from flows.common import log, stage_task
from tasks.core.config import load_params
from tasks.core.errors import ConfigError
from tasks.recommend.run import run_recommendation


def arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", type=Path, required=True, help="directory for metrics.json and what its page shows")


@flow(name="recommend", flow_run_name="recommend movielens")
def recommend_flow(out: Path, params_path: Path = Path("params.yaml")) -> dict:
    params = load_params(params_path)
    if params.recommend is None:
        raise ConfigError(f"{params_path}: no `recommend:` section; add one to run the recommendation problem")
    outcome = stage_task(run_recommendation)(params.recommend, params.seed, out)
    c = outcome.metrics["comparison"]
    log.info("recommend: %s on held-out users: ranker %.4f vs %s %.4f", c["metric"], c["ranker_heldout"],
             c["baseline"], c["baseline_heldout"])
    return c


def run(args: argparse.Namespace) -> None:
    recommend_flow(args.out, args.params)
