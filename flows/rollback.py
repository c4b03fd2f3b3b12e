"""rollback flow: `prod` goes back to the version promoted before the current one (a new GTO assignment tag, so
the history keeps both). `python -m flows rollback --problem employment --why "..."`."""

from __future__ import annotations

import argparse
from pathlib import Path

from prefect import flow
from prefect.artifacts import create_markdown_artifact

from flows.common import log
from tasks.adapters import registry


def arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--problem", required=True)
    parser.add_argument("--why", default="manual rollback", help="recorded in the assignment tag's message")
    parser.add_argument("--repo", type=Path, default=Path("."), help="the git repository of the registry")


@flow(name="rollback", flow_run_name="rollback {problem}")
def rollback_flow(problem: str, why: str = "manual rollback", repo: Path = Path(".")) -> dict:
    was, now = registry.rollback(Path(repo), problem, why)
    message = f"{problem}: prod {was.version} ({was.model}) -> {now.version} ({now.model}): {why}"
    create_markdown_artifact(key=f"rollback-{problem}", markdown=message, description=f"rollback of {problem}")
    log.info("rollback %s", message)
    return {"problem": problem, "was": was.to_dict(), "now": now.to_dict()}


def run(args: argparse.Namespace) -> None:
    result = rollback_flow(args.problem, args.why, args.repo)
    print(f"{args.problem}: prod {result['was']['version']} -> {result['now']['version']} ({result['now']['model']})")
