"""The model agrees with the plan: its steady-state capacity per route is the plan's capacity
table's within 5 %, and at low load every request and message is processed."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from resilient_serverless.components.plan.capacity import capacity_table
from resilient_serverless.components.simulate import build_model, parse_load, simulate
from resilient_serverless.components.simulate.engine import steady_capacity
from resilient_serverless.components.testing import Graph

from .conftest import STACKS


def planned_capacity(row: dict[str, Any]) -> float:
    """What the plan's row says the route sustains: its throttle, or less where reserved
    concurrency (Little's law) or the mapping's drain is lower."""
    limits = [float(row["admitted_rps"])]
    if isinstance(row["reserved"], int):
        limits.append(row["reserved"] * 1000 / row["expected_latency_ms"])
    if row["drain_rps"] is not None:
        limits.append(float(row["drain_rps"]))
    return min(limits)


@pytest.mark.parametrize("stack", STACKS)
def test_given_a_stack_when_every_route_is_offered_twice_its_capacity_then_the_model_sustains_the_plans_capacity(
    stack: str, stack_graph: Callable[[str], Graph]
) -> None:
    graph = stack_graph(stack)
    rows = capacity_table(graph)
    assert rows, f"{stack}: the plan has no capacity rows"
    measured = steady_capacity(build_model(graph), parse_load("rate:2x", duration_s=30))
    for row in rows:
        planned = planned_capacity(row)
        got = measured[row["path"]]
        assert got == pytest.approx(planned, rel=0.05), f"{stack} {row['path']}: model {got:.1f} rps, plan {planned:g}"


@pytest.mark.parametrize("stack", STACKS)
def test_given_a_stack_when_the_load_is_half_its_capacity_then_every_request_and_message_is_processed(
    stack: str, stack_graph: Callable[[str], Graph]
) -> None:
    doc = simulate(stack_graph(stack), parse_load("rate:0.5x", duration_s=20), series=False)
    for route in doc["routes"]:
        where = f"{stack} {route['route']}"
        assert route["offered"] > 0, where
        assert route["goodput"] == route["offered"], where
        assert route["throttled_429"] == {"edge": 0, "usage_plan": 0, "function": 0}, where
        assert route["start_execution"]["throttled"] == 0, where
        assert (route["failed_requests"], route["dlq_arrivals"], route["ttl_drops"]) == (0, 0, 0), where
