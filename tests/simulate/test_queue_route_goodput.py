"""A queue route's goodput against what its capacity allows: the queue banks what the edge
admitted and drains it later, but it cannot bank what the route's throttle turned away."""

from __future__ import annotations

import pytest
from resilient_serverless.components import PriorityQueuePair, ThrottledApi
from resilient_serverless.components.simulate import parse_load, simulate
from resilient_serverless.components.testing import Graph, run_program

from tests.conftest import HANDLERS


@pytest.fixture(scope="module")
def graph() -> Graph:
    def program() -> None:
        inbox = PriorityQueuePair(
            "inbox",
            {
                "handler": "app.handlers.ingest.lambda_handler",
                "code": HANDLERS,
                "consumer": {"timeout": 10},
                "defer_after_s": 60,
                "max_concurrency": {"high": 10, "low": 2},
            },
        )
        ThrottledApi(
            "shop",
            {
                "throttle": {"rate": 100, "burst": 200},
                "routes": [
                    {"method": "POST", "path": "/orders", "queue": inbox, "throttle": {"rate": 20, "burst": 40}},
                ],
            },
        )

    return run_program(program, project="shop", stack="qa")


def test_given_a_queue_route_bound_by_its_throttle_when_spiked_then_goodput_meets_what_the_edge_admits(
    graph: Graph,
) -> None:
    doc = simulate(graph, parse_load("spike:10x:60s"), series=False)
    route = next(r for r in doc["routes"] if r["route"] == "POST /orders")
    assert (route["capacity_rps"], route["bottleneck"]) == (20.0, "route throttle 20 rps")
    # Half the capacity for 150 s and the throttle's 20 rps through the 60 s spike: 2,700 at most
    # (the burst and retries into the calm after it add a little), not 20 rps over the whole run.
    assert 0.98 <= route["goodput_per_capacity"] <= 1.05
    assert route["oldest_message_age_s_max"]["inbox-high"] <= 2
