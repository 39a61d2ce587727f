"""Asynchronous function routes: 202 at the edge, then Lambda's event queue drained by the
function's concurrency, bounded by its invoke config's retries and maximum event age."""

from __future__ import annotations

import pulumi_aws as aws
import pytest
from resilient_serverless.components import ResilientFunction, ThrottledApi
from resilient_serverless.components.simulate import build_model, naive, parse_load, simulate
from resilient_serverless.components.testing import Graph, run_program

from tests.conftest import HANDLERS


@pytest.fixture(scope="module")
def graph() -> Graph:
    def program() -> None:
        writer = ResilientFunction(
            "writer", {"handler": "app.handlers.ingest.lambda_handler", "code": HANDLERS, "invocation": "async"}
        )
        queue = aws.sqs.Queue("tickets", name="support-tickets")
        ThrottledApi(
            "support",
            {
                "routes": [
                    {"method": "POST", "path": "/tickets", "queue": queue},
                    {"method": "PUT", "path": "/tickets/{ticket_id}/notes", "function": writer, "mode": "async"},
                ]
            },
        )

    return run_program(program, project="support", stack="qa")


def test_given_an_async_route_when_modelled_then_its_invoke_config_bounds_retries_and_event_age(graph: Graph) -> None:
    route = next(r for r in build_model(graph).routes if r.kind == "async")
    consumer = route.consumer
    assert consumer is not None
    config = graph.one("aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig").inputs
    assert consumer.max_receives == 1 + config["maximumRetryAttempts"]
    assert consumer.ttl_s == config["maximumEventAgeInSeconds"]
    assert (consumer.kind, consumer.batch_size) == ("async", 1)
    baseline = naive(build_model(graph))
    naive_consumer = next(r for r in baseline.routes if r.kind == "async").consumer
    assert naive_consumer is not None
    assert (naive_consumer.max_receives, naive_consumer.ttl_s) == (3, 21_600)


def test_given_a_program_with_async_and_unconsumed_queue_routes_when_lightly_loaded_then_all_is_accepted_and_done(
    graph: Graph,
) -> None:
    doc = simulate(graph, parse_load("rate:0.5x", duration_s=10), series=False)
    assert sorted(r["route"] for r in doc["routes"]) == ["POST /tickets", "PUT /tickets/{ticket_id}/notes"]
    for route in doc["routes"]:
        assert route["offered"] > 0, route["route"]
        assert route["goodput"] == route["offered"], route["route"]
        assert route["dlq_arrivals"] == 0, route["route"]
