"""Every function's environment, read from the graph of each real stack, holds what its handler
module reads (the declared contract), not what a test set by hand."""

from __future__ import annotations

from pathlib import Path

import pytest
from resilient_serverless.components.testing import Graph, run_stack
from resilient_serverless.handlers.resilience import contract

from app.handlers import contract as app_contract

ROOT = Path(__file__).resolve().parents[2]
STACKS = ["dev", "staging", "prod", "local"]
CONSUMERS = sorted(p.name for p in (ROOT / "tests" / "consumers").iterdir() if (p / "Pulumi.yaml").exists())
FUNCTION = "aws:lambda/function:Function"
# The handlers the components deploy themselves (AsyncJobWorkflow, WebSocketNotifier).
COMPONENT_HANDLERS = ("handlers.jobs.", "handlers.push.")


@pytest.fixture(scope="module", params=STACKS)
def graph(request: pytest.FixtureRequest) -> Graph:
    return run_stack(request.param, ROOT)


def _environment_problems(graph: Graph, *, library_only: bool) -> list[str]:
    problems = []
    for fn in graph.of_type(FUNCTION):
        handler = str(fn.inputs.get("handler"))
        if library_only and not handler.startswith(COMPONENT_HANDLERS):
            continue  # the user's own module, whatever its name (a user may call theirs handlers.orders)
        variables = contract.contract_for(handler)
        if variables is None:  # the reference application declares its own handlers' contract
            variables = app_contract.contract_for(handler)
        if variables is None:
            if not library_only:
                problems.append(f"{fn.urn}: no contract declared for handler {handler!r}")
            continue
        env = (fn.inputs.get("environment") or {}).get("variables") or {}
        missing = [v.name for v in variables if v.required and not env.get(v.name)]
        if missing:
            problems.append(f"{fn.urn}: handler {handler!r} requires {', '.join(missing)}")
    return problems


def test_every_function_has_each_variable_its_handler_requires(graph: Graph) -> None:
    assert graph.of_type(FUNCTION), "the stack deploys no function"
    assert _environment_problems(graph, library_only=False) == []


@pytest.mark.parametrize("consumer", CONSUMERS)
def test_every_library_function_of_a_users_program_has_its_environment(consumer: str) -> None:
    # GIVEN a user's program (its own handlers have no contract of ours; the library's do)
    graph = run_stack("dev", ROOT / "tests" / "consumers" / consumer)
    # THEN every function that runs a library handler has each variable that handler requires
    assert _environment_problems(graph, library_only=True) == []
