"""The plan never raises: every program built from the components gets a plan and its capacity
and cost tables, whatever it sends where (queue routes with and without a consumer, FIFO and
standard, raw queues and PriorityQueuePairs, REST and HTTP)."""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from resilient_serverless.components import PriorityQueuePair, ResilientFunction, ThrottledApi, rules
from resilient_serverless.components.plan import build_plan, exit_code, render_plan
from resilient_serverless.components.plan.capacity import NO_CONSUMER
from resilient_serverless.components.plan.report import operations_report, render_operations
from resilient_serverless.components.testing import Graph, run_program
from rich.console import Console


def _code() -> pulumi.AssetArchive:
    return pulumi.AssetArchive({"app.py": pulumi.StringAsset("def handler(event, context):\n    return event\n")})


@dataclass(frozen=True)
class QueueRoute:
    kind: str  # "raw": an aws.sqs.Queue; "pair": a PriorityQueuePair (its high queue)
    fifo: bool
    consumer: bool  # raw queues only: a ResilientFunction mapped to it in this program

    @property
    def consumed(self) -> bool:
        return self.kind == "pair" or self.consumer


def _queue_target(index: int, spec: QueueRoute) -> tuple[Any, dict[str, Any]]:
    """The route's queue and its FIFO id sources."""
    name = f"q{index}"
    if spec.kind == "pair":
        pair = PriorityQueuePair(name, {"handler": "app.handler", "code": _code(), "fifo": spec.fifo})
        return pair, ({"group_id": "body.customer"} if spec.fifo else {})
    queue = aws.sqs.Queue(name, fifo_queue=True, name=f"{name}.fifo") if spec.fifo else aws.sqs.Queue(name)
    if spec.consumer:
        fn = ResilientFunction(f"{name}-consumer", {"handler": "app.handler", "code": _code(), "invocation": "queue"})
        aws.lambda_.EventSourceMapping(
            f"{name}-mapping",
            event_source_arn=queue.arn,
            function_name=fn.function.name,
            scaling_config={"maximum_concurrency": 5},
        )
    return queue, ({"group_id": "body.customer", "dedup_id": "request_id"} if spec.fifo else {})


def _program(flavor: str, queues: list[QueueRoute], sync_route: bool, async_route: bool = False) -> Any:
    def program() -> None:
        routes: list[dict[str, Any]] = []
        for index, spec in enumerate(queues):
            queue, ids = _queue_target(index, spec)
            routes.append({"method": "POST", "path": f"/items{index}", "queue": queue, **ids})
        if sync_route:
            reader = ResilientFunction("reader", {"handler": "app.handler", "code": _code()})
            routes.append({"method": "GET", "path": "/items/{id}", "function": reader, "expected_latency_ms": 50})
        if async_route and flavor == "rest":  # HTTP APIs have no Event invocation (refused)
            writer = ResilientFunction("writer", {"handler": "app.handler", "code": _code(), "invocation": "async"})
            routes.append({"method": "PUT", "path": "/items/{id}", "function": writer, "mode": "async"})
        ThrottledApi("shop", {"flavor": flavor, "routes": routes})

    return program


def plan_as_the_cli_makes_it(graph: Graph) -> dict[str, Any]:
    """``resilient-serverless plan``'s steps (cli._plan) on a graph: the plan, its operations
    report, both renderings and the JSON document."""
    plan = build_plan(graph, rules.check(graph))
    plan["operations"] = operations_report(graph, "eu-west-1")
    console = Console(file=io.StringIO(), width=200)
    render_plan(plan, console)
    render_operations(plan["operations"], console)
    json.dumps(plan, default=str)
    return plan


queue_routes = st.builds(QueueRoute, st.sampled_from(["raw", "pair"]), st.booleans(), st.booleans())


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    flavor=st.sampled_from(["rest", "http"]),
    queues=st.lists(queue_routes, min_size=1, max_size=3),
    sync_route=st.booleans(),
    async_route=st.booleans(),
)
def test_any_program_of_the_components_gets_a_plan_with_a_capacity_row_per_route(
    flavor: str, queues: list[QueueRoute], sync_route: bool, async_route: bool
) -> None:
    # GIVEN a program of queue routes (raw or pair, FIFO or standard, consumed here or not),
    # beside sync and async function routes
    graph = run_program(_program(flavor, queues, sync_route, async_route), project="shop", stack="qa")
    # WHEN the plan is made as the CLI makes it
    plan = plan_as_the_cli_makes_it(graph)
    # THEN it is a plan (exit 0 or 1) with one capacity row per queue and sync route (an async
    # route answers 202 from the edge); an unconsumed queue's row says so and is bounded by the
    # front door alone
    assert exit_code(plan) in (0, 1)
    rows = {row["path"]: row for row in plan["operations"]["capacity"]}
    assert len(rows) == len(queues) + sync_route, sorted(rows)
    for index, spec in enumerate(queues):
        row = rows[f"POST /items{index}"]
        assert (NO_CONSUMER in row["target"]) is not spec.consumed, (spec, row)
        if not spec.consumed:
            assert (row["reserved"], row["drain_rps"]) == (NO_CONSUMER, None), row


def test_a_plain_queue_route_is_bounded_by_the_front_door() -> None:
    # GIVEN the README's ThrottledApi example: POST /items to a plain aws.sqs.Queue, no consumer
    def program() -> None:
        inbox = aws.sqs.Queue("inbox")
        ThrottledApi(
            "orders",
            {"throttle": {"rate": 100, "burst": 200}, "routes": [{"method": "POST", "path": "/items", "queue": inbox}]},
        )

    # WHEN planned with the default burst of 1,000 rps
    plan = plan_as_the_cli_makes_it(run_program(program, project="shop", stack="qa"))
    # THEN the row names the edge throttle and says nobody here drains the queue
    [row] = plan["operations"]["capacity"]
    assert row["target"] == "queue inbox -> no consumer in this program"
    assert row["admitted_rps"] == 100
    assert (
        row["first_limit"]
        == "route throttle 100 rps (429 at the edge); the queue's drain is no consumer in this program"
    )
