"""Every stack and every consumer program registers exactly the resources of the checked-in snapshot.

A refactor must not change what a program deploys: for each stack of the reference program (dev,
staging, prod, local) and each program under ``tests/consumers/``, this captures every resource
under the kit's mocks and compares its type, name, parent and inputs with
``tests/stacks/graphs/<program>.json``, keyed by URN.

A change that is meant to alter a graph (a new feature) regenerates the snapshots, and the diff
of the JSON files is what a reviewer reads::

    RESILIENT_UPDATE_GRAPHS=1 .venv/bin/python -m pytest tests/stacks/test_graph_unchanged.py
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from resilient_serverless.components.testing import Graph, run_stack

ROOT = Path(__file__).resolve().parents[2]
SNAPSHOTS = Path(__file__).resolve().parent / "graphs"
CONSUMERS = ROOT / "tests" / "consumers"
UPDATE = os.environ.get("RESILIENT_UPDATE_GRAPHS") == "1"

PROGRAMS = [(f"stack-{stack}", ROOT, stack) for stack in ("dev", "staging", "prod", "local")] + [
    (f"consumer-{d.name}", d, "dev") for d in sorted(CONSUMERS.iterdir()) if (d / "__main__.py").is_file()
]


def _plain(value: Any) -> Any:
    """Inputs as JSON: an archive or asset by its file name (the package cache directory differs
    from machine to machine; the name is the content hash)."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    path = getattr(value, "path", None)
    return f"{type(value).__name__}({Path(path).name if path else ''})"


def snapshot(graph: Graph) -> dict[str, Any]:
    return {
        r.urn: {"type": r.type, "name": r.name, "parent": r.parent, "inputs": _plain(r.inputs)}
        for r in sorted(graph.resources, key=lambda r: r.urn)
    }


@pytest.mark.parametrize(("program", "directory", "stack"), PROGRAMS, ids=[p[0] for p in PROGRAMS])
def test_program_registers_the_resources_of_its_snapshot(program: str, directory: Path, stack: str) -> None:
    # GIVEN a program and its checked-in snapshot
    path = SNAPSHOTS / f"{program}.json"
    # WHEN it runs under the kit's mocks
    actual = snapshot(run_stack(stack, directory))
    if UPDATE:
        path.write_text(json.dumps(actual, indent=1, sort_keys=True) + "\n")
    # THEN every resource has the type, name, parent and inputs it had
    expected = json.loads(path.read_text())
    assert sorted(actual) == sorted(expected), f"{program}: resources added or removed"
    for urn, resource in expected.items():
        assert actual[urn] == resource, urn
