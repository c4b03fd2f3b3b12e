"""Where an artefact came from: git commit, data hash, parameters hash, time."""

from __future__ import annotations

import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tasks.io import stable_hash


def git_commit(cwd: Path | None = None) -> str:
    """Short commit of the working copy, with '+dirty' when tracked files differ from it; 'unknown' outside git."""
    try:
        commit = subprocess.run(["git", "rev-parse", "--short=10", "HEAD"], cwd=cwd, capture_output=True,
                                text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=cwd,
                               capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return f"{commit}+dirty" if dirty else commit


def lineage(data_hash: str, params: Any) -> dict[str, str]:
    return {
        "commit": git_commit(),
        "data": data_hash[:12],
        "params": stable_hash(params),
        "time": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
    }
