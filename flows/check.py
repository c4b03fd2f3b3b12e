"""check flow: validate the whole of params.yaml (types, problems, families) before anything runs, and record
the code each stage runs (`<stage>.json`: every module's hash; the stage depends on that one file)."""

from __future__ import annotations

import argparse
from pathlib import Path

from prefect import flow

from flows.common import log
from tasks.core.artefacts import STAGES
from tasks.core.code_fingerprint import family_modules, fingerprint, import_closure, package_data
from tasks.core.config import load_params
from tasks.core.io import atomic_dir, write_json
from tasks.stages.check import check_models


def stage_code(repo: Path = Path(".")) -> dict[str, dict[str, str]]:
    """Stage -> {module: sha256} of the modules its command runs: `flows/<stage>.py` and everything it imports,
    found statically; for train and evaluate, every family module and what it imports (the stage re-runs, and
    inside it only the models whose own code changed are recomputed); with the templates those modules render.
    `repo` is the working directory DVC runs stages in."""
    families = family_modules(repo)
    code = {}
    for stage in STAGES:
        if stage != "check":
            roots = [repo / "flows" / f"{stage}.py", *(families if stage in ("train", "evaluate") else [])]
            closure = import_closure(roots, repo)
            code[stage] = fingerprint([*closure, *package_data(closure)], repo)
    return code


def arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--code", type=Path, required=True, help="directory: <stage>.json module hashes")


@flow(name="check", flow_run_name="check")
def check_flow(code: Path, params_path: Path = Path("params.yaml")) -> int:
    catalogue = check_models(load_params(params_path))
    with atomic_dir(code) as tmp:
        for stage, hashes in stage_code().items():
            write_json(tmp / f"{stage}.json", hashes)
    log.info("check: %d models buildable", len(catalogue))
    return len(catalogue)


def run(args: argparse.Namespace) -> None:
    check_flow(args.code, args.params)
