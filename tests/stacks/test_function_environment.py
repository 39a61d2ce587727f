"""Every function's environment, read from the graph of each real stack, holds what its handler
module reads (the declared contract), not what a test set by hand."""

from __future__ import annotations

from pathlib import Path

import pytest
from resilient_serverless.components.testing import Graph, run_stack
from resilient_serverless.handlers.resilience import contract

ROOT = Path(__file__).resolve().parents[2]
STACKS = ["dev", "staging", "prod", "local"]
FUNCTION = "aws:lambda/function:Function"


@pytest.fixture(scope="module", params=STACKS)
def graph(request: pytest.FixtureRequest) -> Graph:
    return run_stack(request.param, ROOT)


def test_every_function_has_each_variable_its_handler_requires(graph: Graph) -> None:
    functions = graph.of_type(FUNCTION)
    assert functions, "the stack deploys no function"
    problems = []
    for fn in functions:
        handler = str(fn.inputs.get("handler"))
        variables = contract.contract_for(handler)
        if variables is None:
            problems.append(f"{fn.urn}: no contract declared for handler {handler!r}")
            continue
        env = (fn.inputs.get("environment") or {}).get("variables") or {}
        missing = [v.name for v in variables if v.required and not env.get(v.name)]
        if missing:
            problems.append(f"{fn.urn}: handler {handler!r} requires {', '.join(missing)}")
    assert problems == []
