"""``grants.route_to(pair)``: the producer Router's permissions, with the one documented '*'
(cloudwatch:GetMetricData has no resource-level permissions)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from resilient_serverless.components import ConfigError, PriorityQueuePair, ResilientFunction, rules
from resilient_serverless.components.testing import Graph, run_program

from tests.conftest import HANDLERS

POLICY, QUEUE = "aws:iam/rolePolicy:RolePolicy", "aws:sqs/queue:Queue"


def build(surge: dict[str, int] | None = None, shards: dict[str, int] | None = None) -> Graph:
    def program() -> None:
        producer = ResilientFunction(
            "intake", {"handler": "app.handlers.orders.lambda_handler", "code": HANDLERS, "invocation": "sync"}
        )
        pair = PriorityQueuePair(
            "work",
            {"handler": "app.handlers.ingest.lambda_handler", "code": HANDLERS, "surge": surge, "shards": shards},
        )
        producer.grants.route_to(pair)

    return run_program(program, project="other-shop", stack="us-east-2")


def statements(graph: Graph) -> list[dict[str, Any]]:
    policy = graph.one(POLICY, "intake-grant-route-work")
    return json.loads(policy.inputs["policy"])["Statement"]


def arn(graph: Graph, name: str) -> str:
    return str(graph.one(QUEUE, name).outputs["arn"])


def test_a_surging_pair_grants_send_and_backlog_on_warm_and_surge_and_metrics_on_star() -> None:
    graph = build(surge={"backlog": 100, "age_s": 120})
    assert statements(graph) == [
        {
            "Effect": "Allow",
            "Action": ["sqs:GetQueueAttributes", "sqs:SendMessage"],
            "Resource": [arn(graph, "work-high"), arn(graph, "work-surge")],
        },
        {"Effect": "Allow", "Action": ["cloudwatch:GetMetricData"], "Resource": "*"},
    ]
    findings = [f for f in rules.check(graph, waived={}) if f.rule == "iam-no-wildcards"]
    assert findings == []  # the '*' is the narrowest resource for GetMetricData


def test_no_metric_permission_without_an_age_threshold() -> None:
    graph = build(surge={"backlog": 100})
    [only] = statements(graph)
    assert only["Action"] == ["sqs:GetQueueAttributes", "sqs:SendMessage"]


def test_a_sharded_pair_grants_every_shard_and_never_the_low_queue() -> None:
    graph = build(shards={"count": 3, "per_tenant": 2})
    [only] = statements(graph)
    assert only["Resource"] == [arn(graph, n) for n in ("work-high", "work-shard0", "work-shard1", "work-shard2")]
    assert arn(graph, "work-low") not in only["Resource"]


def test_the_same_pair_twice_is_refused() -> None:
    def program() -> None:
        producer = ResilientFunction(
            "intake", {"handler": "app.handlers.orders.lambda_handler", "code": HANDLERS, "invocation": "sync"}
        )
        pair = PriorityQueuePair("work", {"handler": "app.handlers.ingest.lambda_handler", "code": HANDLERS})
        producer.grants.route_to(pair)
        producer.grants.route_to(pair)

    with pytest.raises(ConfigError, match="grant label 'route-work' is used twice on this role"):
        run_program(program, project="other-shop", stack="us-east-2")
