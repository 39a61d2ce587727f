"""The plan states what a reviewer must know next to a resource's settings: a function's tenant
isolation mode is fixed at creation, and each front door's objectives with the alarms that page."""

from __future__ import annotations

from typing import Any

import pulumi_aws as aws
from resilient_serverless.components import Operations, ResilientFunction, ThrottledApi, rules
from resilient_serverless.components.plan import build_plan, render_plan
from resilient_serverless.components.testing import Graph, run_program
from rich.console import Console

from tests.conftest import HANDLERS

ORDERS_HANDLER = "app.handlers.orders.lambda_handler"

TENANCY_NOTE = (
    "tenant isolation PER_TENANT is fixed at creation: AWS cannot change it on an existing function, so turning "
    "it on or off replaces the function (new versions, aliases and warm environments; its mappings and "
    "permissions are made again) (https://docs.aws.amazon.com/lambda/latest/api/API_TenancyConfig.html)"
)


def nodes(tree: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for node in tree:
        out.append(node)
        out += nodes(node.get("children", []))
    return out


def plan_of(graph: Graph) -> tuple[dict[str, Any], str]:
    plan = build_plan(graph, rules.check(graph, waived={}))
    console = Console(record=True, width=400, color_system=None)
    render_plan(plan, console)
    return plan, console.export_text()


def tenant_program(isolated: bool) -> Graph:
    def program() -> None:
        ResilientFunction(
            "per-tenant",
            {"handler": ORDERS_HANDLER, "code": HANDLERS, "tenant_isolation": isolated},
        )

    return run_program(program, project="shop", stack="qa")


def test_plan_states_that_tenant_isolation_cannot_change_after_creation() -> None:
    plan, text = plan_of(tenant_program(True))
    (function,) = [n for n in nodes(plan["tree"]) if n["type"] == "aws:lambda/function:Function"]
    assert function["settings"]["tenant_isolation"] == "PER_TENANT"
    assert function["notes"] == [TENANCY_NOTE]
    assert f"note {TENANCY_NOTE}" in " ".join(text.split())


def test_a_function_without_tenant_isolation_has_no_such_note() -> None:
    plan, text = plan_of(tenant_program(False))
    assert all("notes" not in n for n in nodes(plan["tree"]))
    assert "tenant isolation" not in text


def test_plan_lists_each_objective_with_the_alarms_that_page_and_ticket() -> None:
    def program() -> None:
        topic = aws.sns.Topic("ops-topic")
        fn = ResilientFunction("reader", {"handler": ORDERS_HANDLER, "code": HANDLERS, "timeout": 5})
        route = {"method": "GET", "path": "/orders/{id}", "function": fn, "expected_latency_ms": 120}
        ThrottledApi("orders", {"routes": [route], "alarm_topic_arn": topic.arn})
        Operations("ops", {"alarm_topic_arn": topic.arn})

    plan, text = plan_of(run_program(program, project="shop", stack="qa"))
    (ops,) = [n for n in nodes(plan["tree"]) if n["type"] == "resilient-serverless:index:Operations"]
    assert ops["notes"] == [
        "objective orders: availability 99.9% of requests without 5XX or 429 over 30 days; pages "
        "shop-qa-ops-slo-orders-availability-page when 1h and 5m above 14.4x OR 6h and 30m above 6x; opens a "
        "ticket shop-qa-ops-slo-orders-availability-ticket when 3d and 6h above 1x",
        "objective orders: latency 99% of requests at or under 120 ms over 30 days; pages "
        "shop-qa-ops-slo-orders-latency-page when 1h and 5m above 14.4x OR 6h and 30m above 6x; opens a "
        "ticket shop-qa-ops-slo-orders-latency-ticket when 3d and 6h above 1x",
    ]
    flat = " ".join(text.split())
    assert all(f"note {note}" in flat for note in ops["notes"])
