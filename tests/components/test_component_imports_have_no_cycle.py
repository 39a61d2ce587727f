"""The component modules import each other in one direction only: no cycle, not even through a
lazy import inside a function or an import only for type checking."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2] / "components"
# The modules a component is built from (the offline engine, rules and test kit are layered
# separately and checked with them).
COMPONENT_MODULES = (
    "components.async_job_workflow",
    "components.base",
    "components.blocks",
    "components.grants",
    "components.priority_queue_pair",
    "components.queues",
    "components.resilient_function",
    "components.throttled_api",
    "components.validation",
    "components.websocket_notifier",
)


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path, modules: set[str]) -> set[str]:
    """Every module of the package ``path`` imports, wherever the import statement is."""
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level:
            base = package.split(".")
            base = base[: len(base) - (node.level - 1)]
            target = ".".join(base + ([node.module] if node.module else []))
            for alias in node.names:
                child = f"{target}.{alias.name}"
                found.add(child if child in modules else target)
    return found & modules


def _reach(graph: dict[str, set[str]], start: str) -> set[str]:
    seen: set[str] = set()
    todo = list(graph[start])
    while todo:
        node = todo.pop()
        if node not in seen:
            seen.add(node)
            todo.extend(graph[node])
    return seen


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The groups of modules that import each other, directly or through others."""
    reach = {node: _reach(graph, node) for node in graph}
    groups = {tuple(sorted(n for n in reach[node] if node in reach[n])) for node in graph if node in reach[node]}
    return [list(group) for group in sorted(groups)]


def test_no_component_module_is_part_of_an_import_cycle() -> None:
    # GIVEN every module of the package and the modules each imports (lazily or not)
    files = [p for p in ROOT.rglob("*.py") if "__pycache__" not in p.parts]
    modules = {_module_name(p) for p in files}
    graph = {_module_name(p): _imports(p, modules) for p in files}
    # WHEN the import graph is searched for cycles
    cycles = _cycles(graph)
    # THEN none goes through a component module
    ours = [c for c in cycles if any(m.startswith(COMPONENT_MODULES) for m in c)]
    assert ours == [], ours
