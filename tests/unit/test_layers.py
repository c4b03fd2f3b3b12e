"""The import graph of tasks/ and flows/ (every import, function-level ones included): no circle, and each module
imports only from its own layer or lower ones: core < ml, adapters < families < stages, recommend < present < ops <
flows (layers on one rung, such as ml and adapters, do not import each other)."""

from __future__ import annotations

import ast
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

from tests.conftest import ROOT

RANK = {"core": 0, "ml": 1, "adapters": 1, "families": 2, "stages": 3, "recommend": 3, "present": 4, "ops": 5,
        "flows": 6}


def module_name(path: Path, root: Path) -> str:
    parts = path.relative_to(root).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph(root: Path) -> dict[str, set[str]]:
    """Module -> the project modules it imports (`from package import module` counts as the module)."""
    paths = {module_name(p, root): p for folder in ("tasks", "flows") for p in (root / folder).rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in paths.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        found: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                found.update(alias.name for alias in node.names if alias.name in paths)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join([*anchor, *([base] if base else [])])
                for alias in node.names:
                    target = f"{base}.{alias.name}"
                    found.add(target if target in paths else base)
        graph[name] = {m for m in found if m in paths and m != name}
    return graph


def cycle(graph: dict[str, set[str]]) -> list[str]:
    """One import circle (its modules, the first repeated at the end), or [] when there is none."""
    try:
        TopologicalSorter(graph).prepare()
    except CycleError as exc:
        return exc.args[1]
    return []


def layer(module: str) -> str:
    parts = module.split(".")
    return "flows" if parts[0] == "flows" else parts[1] if len(parts) > 1 else "core"


def upward(graph: dict[str, set[str]]) -> set[tuple[str, str]]:
    """(importer, imported) pairs where the imported module is not in the importer's layer or a lower one."""
    return {(m, d) for m, deps in graph.items() for d in deps
            if layer(d) != layer(m) and RANK[layer(d)] >= RANK[layer(m)]}


def test_the_checker_sees_function_level_and_relative_imports(tmp_path: Path) -> None:
    for path, text in {"tasks/__init__.py": "", "tasks/core/__init__.py": "", "tasks/ml/__init__.py": "",
                       "tasks/core/a.py": "def f():\n    from tasks.ml import b\n",
                       "tasks/ml/b.py": "from ..core import a\n", "tasks/adapters/c.py": "import tasks.ml.b\n",
                       "flows/__init__.py": "", "flows/d.py": "from tasks.core.a import f\n"}.items():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text(text)
    graph = import_graph(tmp_path)
    assert graph["tasks.core.a"] == {"tasks.ml.b"} and graph["tasks.ml.b"] == {"tasks.core.a"}
    assert graph["flows.d"] == {"tasks.core.a"}
    assert sorted(set(cycle(graph))) == ["tasks.core.a", "tasks.ml.b"]
    assert upward(graph) == {("tasks.core.a", "tasks.ml.b"), ("tasks.adapters.c", "tasks.ml.b")}


def test_no_import_circle() -> None:
    assert cycle(import_graph(ROOT)) == []


def test_every_module_has_a_layer() -> None:
    assert {layer(m) for m in import_graph(ROOT)} <= RANK.keys()


def test_modules_import_only_their_layer_or_lower_ones() -> None:
    assert upward(import_graph(ROOT)) == set()
