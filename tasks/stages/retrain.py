"""What a retrain produced, read from DVC's and git's own records: pure functions over their outputs."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any


def experiment_name(now: datetime) -> str:
    """A DVC experiment name (a valid git ref component), unique to the second."""
    return f"retrain-{now:%Y%m%d-%H%M%S}"


def experiment_rev(refs: str, name: str) -> str | None:
    """The commit of experiment `name` in `git for-each-ref --format='%(objectname) %(refname)' refs/exps`."""
    for line in refs.splitlines():
        rev, _, ref = line.partition(" ")
        if ref.endswith(f"/{name}"):
            return rev
    return None


def problems_run(targets: list[str], problems: list[str]) -> list[str]:
    """The problems a `dvc exp run` of `targets` ran: those named as `stage@problem`, every one when no target
    names a problem (the whole pipeline, or a shared stage such as `report`)."""
    named = [t.partition("@")[2] for t in targets if "@" in t]
    return [p for p in problems if p in named] if named else list(problems)


def output_versions(lock: dict[str, Any], prefix: str = "models/") -> dict[str, str]:
    """Output path -> content hash (DVC's md5; `.dir` for directories) for outputs under `prefix` in dvc.lock:
    the versions the DVC remote holds once pushed."""
    versions = {}
    for stage in lock.get("stages", {}).values():
        for out in stage.get("outs", []):
            if out["path"].startswith(prefix):
                versions[out["path"]] = out["md5"]
    return dict(sorted(versions.items()))


def _leaves(node: Any, path: tuple[str, ...]) -> Iterator[tuple[tuple[str, ...], Any]]:
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _leaves(value, (*path, str(key)))
    else:
        yield path, node


def metric_rows(shown: dict[str, Any], metric: str) -> list[dict[str, Any]]:
    """Rows (file, key, metric value) for every `metric` in `dvc metrics show --json` output: leaves named `metric`
    at any depth, and in a problem's compact file (reports/metrics/<problem>.json: `{problem: {metric, models}}`,
    `metric` naming its primary metric) each model's value per batch."""
    rows = []
    for workspace in shown.values():
        for file, content in workspace.get("data", {}).items():
            data = content.get("data", {})
            compact = [(name, block) for name, block in data.items()
                       if isinstance(block, dict) and isinstance(block.get("models"), dict) and "metric" in block]
            if compact:
                rows += [{"file": file, "key": f"{name}.{model}.{batch}", metric: value}
                         for name, block in compact if block["metric"] == metric
                         for model, batches in block["models"].items() for batch, value in batches.items()
                         if isinstance(value, int | float)]
                continue
            for path, value in _leaves(data, ()):
                if path and path[-1] == metric and isinstance(value, int | float):
                    rows.append({"file": file, "key": ".".join(path[:-1]), metric: value})
    return rows
