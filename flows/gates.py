"""What stage flows report to Prefect: link artifacts to the files they wrote, gate tables and gate states.

A failing gate never raises inside a flow (its outputs are written first). The flow returns a final state chosen by
the gate's policy in params.yaml: Completed named "Warning" (`on_fail: warn`) or Failed (`on_fail: fail`). The stage
then exits 0, so `dvc repro` goes on and records the outputs, unless `fail_pipeline: true`.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path

from prefect.artifacts import create_link_artifact, create_table_artifact
from prefect.exceptions import FailedRun
from prefect.states import Completed, Failed, State

from flows.common import log
from tasks.core.artefacts import GateRow
from tasks.core.config import GatePolicy
from tasks.core.errors import PipelineError


class GateFailed(PipelineError):
    """A gate failed and its policy says `fail_pipeline: true`."""


def artifact_key(*parts: str) -> str:
    """Prefect artifact keys allow lowercase letters, digits and dashes."""
    return re.sub(r"[^a-z0-9]+", "-", "-".join(parts).lower()).strip("-")


def link_files(stage: str, subject: str, paths: Iterable[Path]) -> None:
    """One link artifact (file:// URL) per file this flow run wrote."""
    for path in paths:
        create_link_artifact(link=Path(path).resolve().as_uri(), link_text=str(path),
                             key=artifact_key(stage, subject, Path(path).name),
                             description=f"{stage} output for {subject}")


def failed_reasons(rows: Sequence[GateRow]) -> list[str]:
    """Each failing row's reasons, named after the row's model (or batch, for drift): 'penguins-knn: f1 0.6 < 0.7'."""
    return [f"{row.subject}: {reason}" for row in rows if row.result.failed for reason in row.result.reasons or
            ["failed"]]


def gate_state(stage: str, subject: str, rows: Sequence[GateRow], policy: GatePolicy) -> State:
    """A table artifact of gate results and the flow run's final state."""
    create_table_artifact(table=[{k: "; ".join(v) if isinstance(v, list) else v for k, v in row.to_dict().items()}
                                 for row in rows],
                          key=artifact_key(stage, subject, "gates"), description=f"{stage} gates for {subject}")
    failures = failed_reasons(rows)
    if not failures:
        return Completed(message=f"{stage} {subject}: every gate passed")
    message = f"{stage} {subject}: gate failed: " + "; ".join(failures)
    log.warning(message)
    return Completed(name="Warning", message=message) if policy.on_fail == "warn" else Failed(message=message)


def conclude(state: State, policy: GatePolicy) -> None:
    """After a gated flow run: re-raise an error; a Failed gate stops the pipeline only with `fail_pipeline`."""
    if state.is_completed():
        return
    try:
        state.result()
    except FailedRun as exc:
        if policy.fail_pipeline:
            raise GateFailed(str(exc)) from None
        print(f"warning: {exc} (the pipeline goes on: fail_pipeline is false)", file=sys.stderr)
