"""The one adapter for the model registry: GTO git tags over the DVC artifacts declared in dvc.yaml (`artifacts:`,
one per problem: its models directory).

A version is a GTO registration tag `<problem>@vX.Y.Z` on the commit whose dvc.lock holds the models; its message
(JSON) names the model within the directory, its decision threshold and classes. Promotion is a GTO assignment tag
`<problem>#prod#N` whose message says why. The promoted version is the newest `prod` assignment, which is what
`dvc artifacts get . <problem> --stage prod` reads; a rollback assigns `prod` again to the version before.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tasks.core.errors import PipelineError

STAGE = "prod"
CACHE = Path(".dvc/tmp/registry")  # downloaded versions, one directory per problem and version (git-ignored)


class RegistryError(PipelineError):
    """A registry operation cannot be done (nothing promoted, nothing to roll back to, an unknown artifact)."""


@dataclass(frozen=True)
class Assignment:
    """One `prod` assignment: the version, its commit and model, when, the tag and why."""

    version: str
    commit: str
    model: str
    threshold: float | None   # a binary model's decision threshold; None for other problem types
    classes: list
    tag: str
    created_at: str
    why: str

    def to_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


def _number(tag: str) -> int:
    return int(tag.rsplit("#", 1)[-1]) if tag.rsplit("#", 1)[-1].isdigit() else 0


def _show(repo: Path, artifact: str) -> list[dict[str, Any]]:
    """GTO's versions of `artifact` with their stage assignments; [] before its first version."""
    from gto import api
    from gto.exceptions import ArtifactNotFound

    try:
        return api.show(str(repo), artifact)
    except ArtifactNotFound:
        return []


def versions(repo: Path, artifact: str) -> dict[str, dict[str, Any]]:
    """version -> {commit, and the registration message's fields (model, threshold, classes)}."""
    out = {}
    for entry in _show(repo, artifact):
        try:
            note = json.loads(entry["message"])
        except (TypeError, ValueError):
            note = {}
        out[entry["version"]] = {"commit": entry["commit_hexsha"], **note}
    return out


def history(repo: Path, artifact: str) -> list[Assignment]:
    """Every `prod` assignment of `artifact`, newest first (time, then the tag's number)."""
    from gto import api

    if not _show(repo, artifact):
        return []
    registered = versions(repo, artifact)
    rows = []
    for event in api.history(str(repo), artifact):
        if event["event"] != "assignment" or event["stage"] != STAGE:
            continue
        note = registered.get(event["version"], {})
        classes, threshold = list(note.get("classes", [])), note.get("threshold")
        if threshold is None and len(classes) == 2:
            raise RegistryError(f"{artifact} {event['version']} ({event['ref']}): a binary model registered without "
                                "its decision threshold; promote it again")
        rows.append(Assignment(version=event["version"], commit=event["commit"], model=note.get("model", "?"),
                               threshold=None if threshold is None else float(threshold), classes=classes,
                               tag=event["ref"], created_at=event["timestamp"].isoformat(),
                               why=(event["message"] or "").strip()))
    return sorted(rows, key=lambda r: (r.created_at, _number(r.tag)), reverse=True)


def promoted(repo: Path, artifact: str) -> Assignment | None:
    """The promoted version (the newest `prod` assignment), None if there is none."""
    assignments = history(repo, artifact)
    return assignments[0] if assignments else None


def promote(repo: Path, artifact: str, rev: str, note: dict[str, Any], why: str) -> str:
    """Register `rev` as a new version of `artifact` (the next minor version; v1.0.0 first), with `note` (model,
    threshold, classes) as its message, and assign it `prod` with `why`. Returns the version."""
    from gto import api

    known = versions(repo, artifact)
    version = None if known else "v1.0.0"
    registered = api.register(str(repo), artifact, rev, version=version, message=json.dumps(note, sort_keys=True),
                              bump_minor=bool(known))
    api.assign(str(repo), artifact, STAGE, version=registered.version, message=why, force=True)
    return registered.version


def rollback(repo: Path, artifact: str, why: str) -> tuple[Assignment, Assignment]:
    """Assign `prod` again to the version promoted before the current one: (what was promoted, what is now)."""
    from gto import api

    assignments = history(repo, artifact)
    if not assignments:
        raise RegistryError(f"nothing of {artifact!r} was ever promoted")
    current = assignments[0]
    previous = next((a for a in assignments[1:] if a.version != current.version), None)
    if previous is None:
        raise RegistryError(f"{artifact} {current.version} is the only version ever promoted; "
                            "there is nothing to roll back to")
    api.assign(str(repo), artifact, STAGE, version=previous.version, force=True,
               message=f"rollback from {current.version}: {why}")
    return current, promoted(repo, artifact)


def download(repo: Path, artifact: str, out: Path) -> Path:
    """The promoted version's files (what `dvc artifacts get <repo> <artifact> --stage prod` fetches) under `out`,
    from the DVC cache or remote. Returns the directory."""
    from dvc.repo import Repo

    with Repo(str(repo)) as dvc_repo:
        _, path = dvc_repo.artifacts.download(artifact, stage=STAGE, out=str(out), force=True)
    return Path(path)
