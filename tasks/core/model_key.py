"""A model's key: everything its fitted state (or its evaluation) is a function of, so a stage can reuse what is
unchanged instead of recomputing it.

A key has named parts (config, data, features, code, libraries, ...), each a hash or a small mapping; the key is the
hash of all parts. Keeping the parts lets a stage say *why* it recomputed a model ("code changed:
tasks/families/xgboost.py"), which a bare hash cannot.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from importlib import metadata
from typing import Any

from tasks.core.io import stable_hash

BASE_LIBRARIES = ("scikit-learn", "scipy", "numpy", "pandas", "joblib")
_ALIASES = {"tensorflow": ("tensorflow", "tensorflow-cpu")}  # the GPU lock installs tensorflow, the base lock -cpu


def library_versions(names: Iterable[str]) -> dict[str, str]:
    """Installed version of each distribution (the base stack first); 'absent' where it is not installed."""
    versions = {}
    for name in dict.fromkeys([*BASE_LIBRARIES, *names]):
        for candidate in _ALIASES.get(name, (name,)):
            try:
                versions[name] = metadata.version(candidate)
                break
            except metadata.PackageNotFoundError:
                versions[name] = "absent"
    return versions


def make_key(parts: Mapping[str, Any]) -> dict[str, Any]:
    """The key record written beside an output: {"key": hash, "parts": parts}."""
    return {"key": stable_hash(dict(parts)), "parts": dict(parts)}


def _changed_entries(old: Any, new: Any) -> str:
    if isinstance(old, dict) and isinstance(new, dict):
        names = sorted(k for k in old.keys() | new.keys() if old.get(k) != new.get(k))
        shown = [f"{k} {old[k]} -> {new[k]}" if isinstance(old.get(k), str) and isinstance(new.get(k), str)
                 and len(old[k]) < 20 else k for k in names[:3]]
        return ": " + ", ".join(shown) + (f" (+{len(names) - 3} more)" if len(names) > 3 else "") if names else ""
    return ""


def stale_reason(previous: Mapping[str, Any] | None, current: Mapping[str, Any]) -> str | None:
    """None when `previous` (a key record, or None if there is no output) matches `current`; else why not, e.g.
    'code changed: tasks/families/xgboost.py' or 'libraries changed: xgboost 3.2.0 -> 3.4.1'."""
    if previous is None:
        return "no previous output"
    if previous.get("key") == current["key"]:
        return None
    old, new = previous.get("parts", {}), current["parts"]
    changed = [name for name in new if old.get(name) != new[name]] or ["key"]
    return "; ".join(f"{name} changed{_changed_entries(old.get(name), new.get(name))}" for name in changed)
