"""Captured graphs of the reference stacks, once per session: capture dominates a simulation."""

from __future__ import annotations

import pytest
from resilient_serverless.components.testing import Graph
from resilient_serverless.components.testing.capture import run_stack

from tests.conftest import ROOT

STACKS = ("dev", "staging", "prod", "local")
_GRAPHS: dict[str, Graph] = {}


@pytest.fixture(scope="session")
def stack_graph() -> object:
    def get(stack: str) -> Graph:
        if stack not in _GRAPHS:
            _GRAPHS[stack] = run_stack(stack, ROOT)
        return _GRAPHS[stack]

    return get
