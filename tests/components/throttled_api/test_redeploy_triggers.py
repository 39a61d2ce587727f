"""A REST deployment is a snapshot: every input it snapshots is in its triggers, so changing any
of them replaces the deployment and the stage serves the new configuration."""

from __future__ import annotations

from typing import Any

import pulumi_aws as aws
import pytest
from resilient_serverless.components import ResilientFunction, ThrottledApi
from resilient_serverless.components.testing import run_program

from tests.conftest import HANDLERS


def triggers(
    *,
    fn_args: dict[str, Any] | None = None,
    queue_name: str = "billing-inbox",
    route_extra: dict[str, Any] | None = None,
    api_extra: dict[str, Any] | None = None,
) -> dict[str, str]:
    """The deployment's triggers of a small billing API: a sync read and a queue write."""

    def program() -> None:
        fn = ResilientFunction(
            "invoice", {"handler": "app.handlers.orders.lambda_handler", "code": HANDLERS, **(fn_args or {})}
        )
        queue = aws.sqs.Queue("inbox", name=queue_name)
        ThrottledApi(
            "billing",
            {
                "routes": [
                    {"method": "GET", "path": "/invoices/{invoice_id}", "function": fn},
                    {"method": "POST", "path": "/invoices", "queue": queue, **(route_extra or {})},
                ],
                **(api_extra or {}),
            },
        )

    graph = run_program(program, project="billing", stack="qa")
    return dict(graph.one("aws:apigateway/deployment:Deployment").inputs["triggers"])


@pytest.fixture(scope="module")
def base() -> dict[str, str]:
    return triggers()


def changed(before: dict[str, str], after: dict[str, str]) -> set[str]:
    return {k for k in before.keys() | after.keys() if before.get(k) != after.get(k)}


def test_the_same_program_gives_the_same_triggers(base: dict[str, str]) -> None:
    assert triggers() == base
    assert set(base) == {
        "routes",
        "cors",
        "queues",
        "methods",
        "integrations",
        "responses",
        "gateway_responses",
        "permissions",
    }


def test_provisioned_concurrency_moves_the_integration_and_permission_to_the_alias(base: dict[str, str]) -> None:
    # GIVEN provisioned concurrency turned on WHEN the integration URI and permission move to `live`
    after = triggers(fn_args={"provisioned_concurrency": 1, "reserved_concurrency": 5})
    # THEN the deployment is replaced
    assert {"integrations", "permissions"} <= changed(base, after)


def test_another_queue_changes_the_trigger(base: dict[str, str]) -> None:
    assert {"queues", "integrations"} <= changed(base, triggers(queue_name="billing-inbox-2"))


def test_cors_changes_the_trigger(base: dict[str, str]) -> None:
    with_cors = triggers(api_extra={"cors": {"allow_origins": ["https://a.example"]}})
    assert {"cors", "gateway_responses", "methods", "integrations", "responses"} <= changed(base, with_cors)
    other_origin = triggers(api_extra={"cors": {"allow_origins": ["https://b.example"]}})
    assert {"cors", "gateway_responses", "responses"} <= changed(with_cors, other_origin)


def test_request_model_and_validator_change_the_trigger(base: dict[str, str]) -> None:
    with_model = triggers(route_extra={"body_schema": {"type": "object"}})
    assert {"models", "methods"} <= changed(base, with_model)
    other_model = triggers(route_extra={"body_schema": {"type": "object", "required": ["amount"]}})
    assert "models" in changed(with_model, other_model)
    with_params = triggers(route_extra={"required_params": ["header.Idempotency-Key"]})
    assert {"models", "methods"} <= changed(base, with_params)


def test_the_deployment_waits_for_every_permission() -> None:
    def program() -> None:
        fn = ResilientFunction("invoice", {"handler": "app.handlers.orders.lambda_handler", "code": HANDLERS})
        ThrottledApi("billing", {"routes": [{"method": "GET", "path": "/invoices", "function": fn}]})

    graph = run_program(program)
    deployment = graph.one("aws:apigateway/deployment:Deployment")
    permission = graph.one("aws:lambda/permission:Permission")
    assert permission.urn in deployment.dependencies
