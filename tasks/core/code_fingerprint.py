"""Which of the repository's modules a stage runs, found from their import statements, and their hashes.

Each stage depends on one small file of these hashes (`models/code/<stage>.json`, written by `check`) instead of
listing every module it runs: the list cannot miss a module, and `dvc.lock` stays small (DVC rewrites the whole lock
after every stage, so its size costs each of the ~130 stages).
"""

from __future__ import annotations

import ast
import hashlib
from collections.abc import Iterable
from pathlib import Path


def module_file(name: str, repo: Path) -> Path | None:
    """The file of the dotted module `name` inside `repo` (a module or a package's `__init__.py`), else None."""
    base = repo.joinpath(*name.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _package_of(path: Path, repo: Path) -> str:
    parts = path.relative_to(repo).with_suffix("").parts
    return ".".join(parts if path.name == "__init__.py" else parts[:-1])


def imported_modules(path: Path, repo: Path) -> set[Path]:
    """Repository files `path` imports anywhere (including inside functions), with the packages they sit in."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                package = _package_of(path, repo).split(".")
                package = package[: len(package) - node.level + 1]
                base = ".".join([*package, node.module] if node.module else package)
            else:
                base = node.module or ""
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)  # `from pkg import submodule`
    found: set[Path] = set()
    for name in names:
        parts = name.split(".")
        for depth in range(1, len(parts) + 1):  # importing a.b.c runs a/__init__ and a/b/__init__ too
            file = module_file(".".join(parts[:depth]), repo)
            if file is not None:
                found.add(file)
    return found


def import_closure(roots: Iterable[Path], repo: Path, *, exclude: Iterable[Path] = ()) -> list[Path]:
    """Every repository file reachable from `roots` by imports, sorted. `exclude`d files are not listed, nor followed
    when imported; a root is always followed (train's roots are the family modules: their imports count, but each
    train stage depends on its own family's module, not on every family's)."""
    root = repo.resolve()
    excluded = {p.resolve() for p in exclude}
    seen: set[Path] = set()
    todo = [p.resolve() for p in roots]
    while todo:
        path = todo.pop()
        if path not in seen:
            seen.add(path)
            todo.extend(p for p in imported_modules(path, root) if p not in excluded)
    return sorted(seen - excluded)


def package_data(files: Iterable[Path]) -> list[Path]:
    """Files the modules among `files` read from beside them: everything under a `templates/` directory next to
    one (the Jinja2 templates of tasks/present), sorted; a template edit then re-runs the stages that render it."""
    folders = {f.resolve().parent / "templates" for f in files}
    return sorted(p for folder in folders if folder.is_dir() for p in folder.rglob("*") if p.is_file())


def fingerprint(files: Iterable[Path], repo: Path) -> dict[str, str]:
    """Relative path -> sha256 of the file's bytes."""
    root = repo.resolve()
    return {f.resolve().relative_to(root).as_posix(): hashlib.sha256(f.read_bytes()).hexdigest() for f in files}


def family_modules(repo: Path) -> list[Path]:
    """Every model family's module (`tasks/families/<name>.py`; `_`-prefixed modules are shared code)."""
    return sorted((repo / "tasks" / "families").glob("[!_]*.py"))


def model_code(stage_module: Path, family: str, repo: Path) -> dict[str, str]:
    """Module -> sha256 of what a stage runs for one model: the stage's modules and its family's own, not the other
    families' (editing one family then reaches only its models)."""
    own = repo / "tasks" / "families" / f"{family}.py"
    others = [path for path in family_modules(repo) if path.name != own.name]
    return fingerprint(import_closure([stage_module, own], repo, exclude=others), repo)
