"""drift-check flow (the `drift-check` deployment): score the newest data batch of each problem with its champion,
run the drift report against the training split, and start the `retrain` deployment when the gate fails.

The champion is `models/<problem>-champion.json` (`{"model": NAME, ...}`) when champion selection has written
one, else the problem's best model by mean primary metric on reports/leaderboard.json.

Retraining is a direct `run_deployment` call rather than a Prefect automation on a drift event: the decision and
its reasons sit in this flow run, next to the retrain run it started (a subflow link in the UI); it works the same
against any server, with nothing to register beyond prefect.yaml; and a test can follow it synchronously. The
retrain run queues behind a running one on the working copy's pipeline lock.
"""

from __future__ import annotations

from pathlib import Path

from prefect import flow
from prefect.artifacts import create_markdown_artifact

from flows.common import log, read_meta, read_spec, read_split, stage_task
from tasks.adapters import drift
from tasks.core.artefacts import TRAIN
from tasks.core.config import Params, load_params
from tasks.core.errors import ConfigError
from tasks.core.io import read_json, read_parquet, write_json
from tasks.ops import deploy
from tasks.stages import drift_check
from tasks.stages.train import load_model

RETRAIN = "retrain/retrain"


def check_problem(problem: str, params: Params, out: Path, batch_file: Path | None = None) -> dict:
    """Drift of the newest batch of `problem` (or of `batch_file`, a batch that arrived outside the pipeline)
    against its training split, both scored by the champion."""
    cfg = params.drift_check
    models = {name: m.problem for name, m in params.train.items() if m.problem == problem}
    champion_path, board_path = Path(f"models/{problem}-champion.json"), Path("reports/leaderboard.json")
    model, chosen = drift_check.champion(problem, models, read_json(champion_path) if champion_path.exists() else None,
                                         read_json(board_path) if board_path.exists() else None,
                                         params.ranking_metric(problem))
    data, features = Path(f"data/interim/{problem}"), Path(f"data/features/{problem}")
    spec = read_spec(features)
    batch = batch_file.name if batch_file else params.ingest[problem].later_batches[-1]
    pipeline = stage_task(load_model)(Path(f"models/{problem}/{model}")).pipeline
    reference = drift_check.with_predictions(pipeline, read_split(data, TRAIN), spec)
    newest = read_parquet(batch_file) if batch_file else read_split(data, batch)
    current = drift_check.with_predictions(pipeline, newest, spec)
    summary = stage_task(drift.drift_report)(
        reference, current, columns=spec.features, target=spec.target, predictions=[drift_check.PREDICTION],
        max_rows=cfg.max_rows, seed=params.seed, html_path=out / f"{problem}.html")
    gate = drift.drift_gate(summary, max_share_drifted=cfg.max_share_drifted,
                            fail_on_target_drift=cfg.fail_on_target_drift,
                            fail_on_prediction_drift=cfg.fail_on_prediction_drift, prediction=drift_check.PREDICTION)
    result = {"problem": problem, "champion": model, "chosen_by": chosen, "batch": batch,
              "data": read_meta(data)["sha256"][:12], **gate.to_dict(), **summary.to_dict()}
    write_json(out / f"{problem}.json", result)
    log.info("drift-check %s: champion %s (%s), %s vs train: %s %s", problem, model, chosen, batch, gate.status,
             list(gate.reasons))
    return result


@flow(name="drift-check", flow_run_name="drift-check")
def drift_check_flow(problems: list[str] | None = None, batch_file: str | None = None,
                     trigger_retrain: bool | None = None, params_path: str = "params.yaml",
                     out: str = "reports/drift-check") -> dict:
    """Check every problem (or `problems`; `batch_file` with one problem); run `retrain` if any gate fails and
    `drift_check.trigger_retrain` (or `trigger_retrain`) is on."""
    params = load_params(params_path)
    problems = problems or list(params.ingest)
    if batch_file and len(problems) != 1:
        raise ConfigError(f"drift-check: batch_file needs exactly one problem, got {problems}")
    batch = Path(batch_file) if batch_file else None
    results = {p: check_problem(p, params, Path(out), batch) for p in problems}
    failed = [p for p, r in results.items() if r["status"] == "fail"]
    trigger = params.drift_check.trigger_retrain if trigger_retrain is None else trigger_retrain
    retrain_run = deploy.submit(RETRAIN, {}).name if failed and trigger else None
    lines = [f"| {p} | {r['champion']} | {r['batch']} | {r['share_of_drifted_columns']:.0%} | {r['status']} | "
             f"{'; '.join(r['reasons']) or '-'} |" for p, r in results.items()]
    action = (f"Started `{RETRAIN}` run **{retrain_run}**." if retrain_run else
              "Gate failed; retrain not triggered (`trigger_retrain` off)." if failed else "No retrain needed.")
    create_markdown_artifact(
        key="drift-check",
        markdown="| problem | champion | batch | drifted features | gate | reasons |\n|---|---|---|---|---|---|\n"
                 + "\n".join(lines) + f"\n\n{action}\n",
        description="drift gate per problem",
    )
    return {"results": results, "failed": failed, "retrain_run": retrain_run}
