"""The package's layers: no import cycle between its modules, and handlers never import components.

Every import counts, wherever it is written: at the top of a module, inside a function (a lazy
import) and under ``TYPE_CHECKING``. A lazy or type-only import hides a cycle from Python but not
from a reader, who still has to hold both modules in mind to change either.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("components", "handlers")
INSTALLED = "resilient_serverless."  # the installed name of both roots (setup.py)


def _module_files() -> dict[str, Path]:
    """Dotted module name (``components.rules.iam``; a package is its ``__init__``) -> file."""
    found: dict[str, Path] = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "__pycache__" in path.parts:
                continue
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


def _imported(module: str, path: Path, modules: dict[str, Path]) -> Iterator[str]:
    """The modules of this package that ``module`` imports, anywhere in its file."""
    is_package = path.name == "__init__.py"
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield from _known(alias.name, modules)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".")
                base = base[: len(base) - node.level + (1 if is_package else 0)]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            names = [f"{target}.{alias.name}" for alias in node.names]
            submodules = [n for n in (_local(n) for n in names) if n in modules]
            yield from submodules or _known(target, modules)


def _local(name: str) -> str:
    return name[len(INSTALLED) :] if name.startswith(INSTALLED) else name


def _known(name: str, modules: dict[str, Path]) -> Iterator[str]:
    name = _local(name)
    while name and name not in modules:
        name = name.rpartition(".")[0]
    if name:
        yield name


def _graph() -> dict[str, set[str]]:
    modules = _module_files()
    return {m: set(_imported(m, p, modules)) - {m} for m, p in modules.items()}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Each group of modules that import one another (Tarjan's strongly connected components),
    as one loop through them, then the group's other members."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    groups: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = stack[stack.index(v) :]
            del stack[stack.index(v) :]
            if len(group) > 1:
                loop = _loop(sorted(group), graph)
                rest = sorted(set(group) - set(loop))
                groups.append(loop + ([f"(and {', '.join(rest)})"] if rest else []))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return groups


def _loop(group: list[str], graph: dict[str, set[str]]) -> list[str]:
    """A shortest path from the group's first module back to itself, through the group."""
    start, members = group[0], set(group)
    paths = {start: [start]}
    frontier = [start]
    while frontier:
        nxt = []
        for v in frontier:
            for w in sorted(graph[v] & members):
                if w == start:
                    return [*paths[v], start]
                if w not in paths:
                    paths[w] = [*paths[v], w]
                    nxt.append(w)
        frontier = nxt
    return group


def test_no_module_imports_itself_back_through_others() -> None:
    cycles = _cycles(_graph())
    assert cycles == [], "import cycles (lazy and type-only imports count):\n" + "\n".join(
        " -> ".join(c) for c in cycles
    )


def test_handlers_never_import_components() -> None:
    graph = _graph()
    crossing = sorted(
        f"{m} -> {t}"
        for m, targets in graph.items()
        if m.startswith("handlers")
        for t in targets
        if t.startswith("components")
    )
    assert crossing == [], f"handlers import components: {crossing}"


def test_the_walk_sees_lazy_and_type_only_imports() -> None:
    # The rules read the graph's types only under TYPE_CHECKING, and the CLI imports the plan
    # inside its command: both edges must be seen, or a cycle through them would pass unseen.
    graph = _graph()
    assert "components.offline" in graph["components.rules.registry"]
    assert "components.plan" in graph["components.cli"]
