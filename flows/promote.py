"""promote flow: the problem's champion replaces its promoted model (GTO `prod`) when it passes every gate and beats
the promoted model on the same rows (tasks/stages/promotion.py); the flow run says what was promoted or why not.

`python -m flows promote --problem employment [--rev HEAD]`: `rev` is the commit whose dvc.lock holds the models
(the workspace's models must be the ones it records: commit dvc.lock first).
"""

from __future__ import annotations

import argparse
import subprocess
from pathlib import Path

import yaml
from prefect import flow
from prefect.artifacts import create_markdown_artifact

from flows.common import log, read_evaluation, read_spec, read_split, stage_task
from tasks.adapters import registry
from tasks.core.artefacts import KEY_FILE, METRICS_FILE, FeatureSpec
from tasks.core.config import load_params
from tasks.core.io import read_json
from tasks.ml.metrics import Scored, encode, model_output
from tasks.stages import promotion
from tasks.stages.train import load_model


def arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--problem", required=True)
    parser.add_argument("--rev", default="HEAD", help="the commit holding the candidate's dvc.lock (default HEAD)")
    parser.add_argument("--repo", type=Path, default=Path("."), help="the git repository of the registry")


def models_hash(lock_text: str, path: str) -> str | None:
    """The DVC hash of output `path` in a dvc.lock's text (None if no stage writes it)."""
    for stage in (yaml.safe_load(lock_text) or {}).get("stages", {}).values():
        for out in stage.get("outs", []):
            if out["path"] == path:
                return out["md5"]
    return None


def check_committed(repo: Path, rev: str, path: str) -> None:
    """`rev`'s dvc.lock must record the workspace's version of `path` (the registry points at commits)."""
    shown = subprocess.run(["git", "show", f"{rev}:dvc.lock"], cwd=repo, capture_output=True, text=True)
    committed = models_hash(shown.stdout, path) if shown.returncode == 0 else None
    workspace = models_hash((repo / "dvc.lock").read_text(), path)
    if workspace is None or committed != workspace:
        raise registry.RegistryError(
            f"promote: {rev}'s dvc.lock does not record the workspace's {path} ({committed} vs {workspace}); "
            "run `dvc repro`, commit dvc.lock, then promote")


def scored_by(model_dir: Path, frame, spec: FeatureSpec, threshold: float | None) -> Scored:
    """One model's outputs on `frame`, encoded against `spec`'s classes."""
    model = load_model(model_dir)
    return encode(spec.problem_type, spec.classes, frame[spec.target],
                  model_output(model.pipeline, frame[model.meta["features"]], spec), threshold)


@flow(name="promote", flow_run_name="promote {problem}")
def promote_flow(problem: str, rev: str = "HEAD", repo: Path = Path("."),
                 params_path: Path = Path("params.yaml")) -> dict:
    params = load_params(params_path)
    repo = Path(repo)
    record = read_json(repo / f"models/{problem}-champion.json")
    spec = read_spec(repo / f"data/features/{problem}")
    candidate = record["champion"]
    row = next((r for r in record["ranking"] if r["model"] == candidate), {})
    current = registry.promoted(repo, problem)
    candidate_dir = repo / f"models/{problem}/{candidate}"
    threshold = None
    if candidate:
        threshold = read_evaluation(repo / f"reports/evaluate/{problem}/{candidate}" / METRICS_FILE,
                                    binary=spec.problem_type == "binary").threshold
    comparison = None
    if candidate and current is not None and not promotion.failed_gates(row.get("gates", {})):
        deployed_dir = stage_task(registry.download)(repo, problem, repo / registry.CACHE / problem / current.version)
        deployed_dir = deployed_dir / current.model
        same = current.model == candidate and read_json(deployed_dir / KEY_FILE) == read_json(candidate_dir / KEY_FILE)
        if not same:
            rows = read_split(repo / f"data/validated/{problem}", record["selection"])
            comparison = stage_task(promotion.compare)(
                scored_by(candidate_dir, rows, spec, threshold), scored_by(deployed_dir, rows, spec, current.threshold),
                record["metric"], n_resamples=params.evaluate.bootstrap_resamples,
                confidence=params.evaluate.confidence, seed=params.seed)
    decision = promotion.decide(candidate, row.get("gates", {}), current.model if current else None, comparison)
    version = None
    if decision.promote:
        check_committed(repo, rev, f"models/{problem}")
        version = registry.promote(repo, problem, rev, {"model": candidate, "threshold": threshold,
                                                        "classes": spec.classes}, decision.reason)
    now = registry.promoted(repo, problem)
    outcome = (f"promoted **{problem} {version}** ({candidate})" if version else
               f"kept {problem} {current.version} ({current.model})" if current else "nothing promoted")
    create_markdown_artifact(key=f"promote-{problem}", description=f"promotion of {problem}",
                             markdown=f"{outcome}: {decision.reason}\n")
    log.info("promote %s: %s: %s", problem, outcome.replace("*", ""), decision.reason)
    return {"problem": problem, "promoted": version, "candidate": candidate, **decision.to_dict(),
            "current": now.to_dict() if now else None}


def run(args: argparse.Namespace) -> None:
    result = promote_flow(args.problem, args.rev, args.repo, args.params)
    current = result["current"]
    print(f"{args.problem}: {'promoted ' + result['promoted'] if result['promoted'] else 'not promoted'}: "
          f"{result['reason']}\n{args.problem}: prod is "
          + (f"{current['version']} ({current['model']}, commit {current['commit'][:9]})" if current else "empty"))
