"""Crash-safe file output, readers that name the file to restore, and content hashing.

Every stage writes through `atomic_dir`/`atomic_write_*`: outputs appear whole or not at all, so a failed run
leaves the last good models and reports in place. A write in progress lives next to its target as
`.<name>.<pid>.<random>.tmp`; an interrupt (an exception, KeyboardInterrupt, SystemExit) removes it, and a kill
that cannot be caught leaves it for `remove_temporaries`, which each stage runs on its outputs when it starts.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tasks.core.errors import UnreadableFile

# mkstemp/mkdtemp add 8 characters of this alphabet between prefix and suffix
_RANDOM = "[a-z0-9_]{8}"


def _temp_prefix(target: Path) -> str:
    return f".{target.name}.{os.getpid()}."


def _old(target: Path) -> Path:
    return target.with_name(f".{target.name}.old")


@contextmanager
def atomic_dir(target: str | Path) -> Iterator[Path]:
    """Yield an empty temporary sibling of `target`; on success it replaces `target` (two renames: a kill between
    them leaves the old directory as `.<name>.old`, which `remove_temporaries` puts back)."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=_temp_prefix(target), suffix=".tmp", dir=target.parent))
    old = _old(target)
    try:
        yield tmp
        if old.exists():
            shutil.rmtree(old)
        if target.exists():
            target.rename(old)
        tmp.rename(target)
    except BaseException:
        if old.exists() and not target.exists():
            old.rename(target)
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    shutil.rmtree(old, ignore_errors=True)


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    """Write `data` to `path` through a temporary file in the same directory and an atomic rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=_temp_prefix(path), suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_text(path: str | Path, text: str) -> None:
    atomic_write_bytes(path, text.encode())


def write_json(path: str | Path, obj: Any) -> None:
    """Pretty, key-sorted JSON (stable diffs for DVC metrics), written atomically."""
    atomic_write_text(path, json.dumps(obj, indent=2, sort_keys=True, default=str) + "\n")


def _temporary(name: str) -> re.Pattern[str]:
    """What a write of `name` (a regex) leaves next to it: `.<name>.<pid>.<random>.tmp`, the names before the
    PID was added (`.<name>.<random>.tmp` of a directory, `.<name>.<random>` of a file), `.<name>.old`."""
    return re.compile(rf"\.(?P<name>{name})\.(?:(?P<pid>\d+)\.{_RANDOM}\.tmp|{_RANDOM}(?:\.tmp)?|(?P<old>old))")


def _writer_alive(pid: int) -> bool:
    """True if process `pid` exists and is not this one (a temporary with this process's PID is from an earlier
    process that had the same PID: a stage cleans before it writes)."""
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: alive
        pass
    return True


def _clean(directory: Path, name: str) -> list[str]:
    done = []
    pattern = _temporary(name)
    for entry in sorted(directory.iterdir()):
        found = pattern.fullmatch(entry.name)
        if found is None or (found["pid"] and _writer_alive(int(found["pid"]))):
            continue
        target = directory / found["name"]
        if found["old"] and not target.exists():
            entry.rename(target)
            done.append(f"{target} (restored from {entry.name})")
            continue
        shutil.rmtree(entry) if entry.is_dir() and not entry.is_symlink() else entry.unlink()
        done.append(str(entry))
    return done


def remove_temporaries(target: str | Path) -> list[str]:
    """Undo what killed writes of `target` left: its temporaries whose writer is gone are deleted, and its
    `.<name>.old` (a kill between `atomic_dir`'s two renames) is put back if `target` is missing, else deleted.
    When `target` is a directory, its entries are cleaned the same way (a model directory in `models/<problem>`).
    Returns what was removed or restored."""
    target = Path(target)
    done = _clean(target.parent, re.escape(target.name)) if target.parent.is_dir() else []
    if target.is_dir():
        done += _clean(target, ".+")
    return done


def dvc_owner(path: Path, lock: Path = Path("dvc.lock")) -> tuple[str, str] | None:
    """The DVC stage (as `dvc.lock` in the working directory names it) and its output that hold `path`."""
    import yaml

    try:
        stages = yaml.safe_load(lock.read_text())["stages"]
    except (OSError, yaml.YAMLError, KeyError, TypeError):
        return None
    for stage, entry in stages.items():
        for out in (entry or {}).get("outs", []):
            if path == Path(out["path"]) or Path(out["path"]) in path.parents:
                return stage, out["path"]
    return None


def unreadable(path: str | Path, exc: BaseException) -> UnreadableFile:
    """One line: which file, what is wrong with it, how to restore or rebuild it."""
    path = Path(path)
    if path.is_absolute() and path.is_relative_to(Path.cwd()):
        path = path.relative_to(Path.cwd())
    reason = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    what = "is missing" if isinstance(exc, FileNotFoundError) else (
        f"is unreadable ({type(exc).__name__}{': ' + reason[:200] if reason else ''})")
    owner = dvc_owner(path)
    if owner is None:
        fix = (f"restore it (`git checkout -- {path}` if git tracks it, `dvc checkout --force {path}` if DVC does) "
               "or re-run the stage that writes it")
    else:
        stage, out = owner
        fix = (f"restore it with `dvc checkout --force {out}` (`dvc pull --force {out}` if the cache lacks it), or "
               f"delete {path} and rebuild it with `dvc repro {stage}`")
    return UnreadableFile(f"{path} {what}; {fix}")


def read_json(path: str | Path) -> Any:
    try:
        return json.loads(Path(path).read_bytes())
    except (OSError, ValueError) as exc:  # ValueError: JSONDecodeError, UnicodeDecodeError
        raise unreadable(path, exc) from exc


def read_parquet(path: str | Path, **kwargs: Any) -> Any:
    """`pandas.read_parquet`; a missing or damaged file raises `UnreadableFile`."""
    import pandas as pd

    try:
        return pd.read_parquet(path, **kwargs)
    except (OSError, ValueError) as exc:  # pyarrow: ArrowInvalid is a ValueError, ArrowIOError an OSError
        raise unreadable(path, exc) from exc


def load_pickle(path: str | Path) -> Any:
    """`joblib.load`; a missing, truncated or corrupted file raises `UnreadableFile`."""
    import joblib

    try:
        return joblib.load(path)
    except Exception as exc:  # noqa: BLE001 - damaged bytes fail anywhere in unpickling: zlib.error, EOFError, ...
        raise unreadable(path, exc) from exc


def file_sha256(path: str | Path, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def frame_sha256(frame: Any) -> str:
    """Content hash of a DataFrame (values, column names and order), whatever file or package it came from."""
    import pandas as pd

    digest = hashlib.sha256(json.dumps([str(c) for c in frame.columns]).encode())
    digest.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
    return digest.hexdigest()


def stable_hash(obj: Any) -> str:
    """Short content hash of a JSON-serialisable object (parameters, configs)."""
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()[:12]


def remove_stale(directory: Path, keep: set[str]) -> list[str]:
    """Delete the entries of `directory` not named in `keep`, and temporaries a killed write left (`.name.*`);
    returns the names removed, temporaries not counted."""
    if not directory.is_dir():
        return []
    removed = []
    for entry in sorted(directory.iterdir()):
        if entry.name in keep:
            continue
        if not entry.name.startswith("."):
            removed.append(entry.name)
        shutil.rmtree(entry) if entry.is_dir() and not entry.is_symlink() else entry.unlink()
    return removed
