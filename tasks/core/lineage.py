"""Where an artefact came from: git commit, data hash, parameters hash, time."""

from __future__ import annotations

import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tasks.core.io import stable_hash


def git_commit(cwd: Path | None = None) -> str:
    """Short commit of the working copy, with '+dirty' when tracked files other than dvc.lock differ from it;
    'unknown' outside git."""
    try:
        commit = subprocess.run(["git", "rev-parse", "--short=10", "HEAD"], cwd=cwd, capture_output=True,
                                text=True, check=True).stdout.strip()
        # dvc.lock is rewritten by the pipeline itself: that is not an uncommitted change of the inputs
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no", "--", ".", ":!dvc.lock"],
                               cwd=cwd, capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return f"{commit}+dirty" if dirty else commit


def provenance(data_hash: str, params: Any) -> dict[str, str]:
    """What an artefact was made from, and nothing about when: safe inside a file whose hash must reproduce."""
    return {"data": data_hash[:12], "params": stable_hash(params)}


def run_stamp() -> dict[str, str]:
    """When and from which commit a stage ran: for records kept apart from the artefacts."""
    return {"commit": git_commit(), "time": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")}


def lineage(data_hash: str, params: Any) -> dict[str, str]:
    return {
        "commit": git_commit(),
        "data": data_hash[:12],
        "params": stable_hash(params),
        "time": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
    }
