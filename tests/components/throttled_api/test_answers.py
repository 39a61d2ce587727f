"""Failures are never reported as success: fire-and-forget routes answer 202 only when the backend
accepted the work, and every body API Gateway renders is JSON a client can parse."""

from __future__ import annotations

import json
import re

import pulumi_aws as aws
import pytest
from resilient_serverless.components import ResilientFunction, ThrottledApi
from resilient_serverless.components.testing import CapturedResource, Graph, run_program

from tests.conftest import HANDLERS

INTEGRATION_RESPONSE = "aws:apigateway/integrationResponse:IntegrationResponse"

# What API Gateway substitutes, with values that break naive templates: quotes and newlines.
SAMPLES = {
    "$context.requestId": "c6af9ac6-7b61-11e6-9a41-93e8deadbeef",
    # messageString is documented as the *quoted* value of $context.error.message.
    "$context.error.messageString": json.dumps('Invalid request body: "items" is "missing"'),
    "$context.error.message": 'Invalid request body: "items" is "missing"',
    "$context.error.validationErrorString": '[object has missing required properties (["items"])]',
}


def render(template: str) -> str:
    """Substitute every ``$context`` variable as API Gateway does; an unknown one fails the test."""

    def value(match: re.Match[str]) -> str:
        name = match.group(0)
        assert name in SAMPLES, f"no sample value for {name} in {template}"
        return SAMPLES[name]

    return re.sub(r"\$context(\.[A-Za-z]+)+", value, template)


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
                    {"method": "POST", "path": "/tickets", "queue": queue, "body_schema": {"type": "object"}},
                    {"method": "PUT", "path": "/tickets/{ticket_id}/notes", "function": writer, "mode": "async"},
                ],
                "cors": {"allow_origins": ["https://support.example"]},
            },
        )

    return run_program(program, project="support", stack="qa")


def test_the_renderer_catches_a_re_quoted_message_string() -> None:
    with pytest.raises(json.JSONDecodeError):
        json.loads(render('{"message": "$context.error.messageString"}'))


def test_every_gateway_response_body_parses_as_json_with_the_request_id(graph: Graph) -> None:
    responses = graph.of_type("aws:apigateway/response:Response")
    assert {r.inputs["responseType"] for r in responses} == {
        "BAD_REQUEST_BODY",
        "BAD_REQUEST_PARAMETERS",
        "THROTTLED",
        "DEFAULT_4XX",
        "DEFAULT_5XX",
    }
    for response in responses:
        body = json.loads(render(response.inputs["responseTemplates"]["application/json"]))
        assert body["requestId"] == SAMPLES["$context.requestId"], response.urn
        assert isinstance(body["message"], str), response.urn


def test_every_integration_response_body_parses_as_json(graph: Graph) -> None:
    for answer in graph.of_type(INTEGRATION_RESPONSE):
        for template in (answer.inputs.get("responseTemplates") or {}).values():
            json.loads(render(template))


def answers_of(graph: Graph, label: str) -> list[CapturedResource]:
    return [a for a in graph.of_type(INTEGRATION_RESPONSE) if a.name.endswith(label)]


def selected(answers: list[CapturedResource], backend: str | None) -> str:
    """The status API Gateway answers for ``backend`` (a status, or a Lambda error message; None
    for a Lambda success): the first pattern that matches it whole, else the default answer."""
    for answer in answers:
        pattern = answer.inputs.get("selectionPattern") or ""
        if pattern and backend is not None and re.fullmatch(pattern, backend):
            return str(answer.inputs["statusCode"])
    default = [a for a in answers if not a.inputs.get("selectionPattern")]
    return str(default[0].inputs["statusCode"]) if default else "500 (no mapping)"


@pytest.mark.parametrize(
    ("backend", "client"),
    [
        ("200", "202"),
        ("400", "502"),
        ("403", "502"),
        ("413", "502"),
        ("500", "503"),
        ("503", "503"),
        ("302", "500 (no mapping)"),
    ],
)
def test_queue_route_answers_202_only_when_sqs_accepted(graph: Graph, backend: str, client: str) -> None:
    # GIVEN SQS answers `backend` (AccessDenied 403, throttling or oversize 400, outage 5xx)
    # THEN the client gets `client`, and a failure is a 5xx the alarm counts, never 202
    assert selected(answers_of(graph, "post-tickets"), backend) == client


@pytest.mark.parametrize(
    ("error", "client"),
    [(None, "202"), ("Rate Exceeded.", "502"), ('{"errorType": "ResourceNotFound"}\nmore', "502")],
)
def test_async_route_answers_202_only_without_a_lambda_error(graph: Graph, error: str | None, client: str) -> None:
    assert selected(answers_of(graph, "put-tickets-ticket-id-notes"), error) == client


def test_failed_answers_name_the_problem_and_carry_the_cors_origin(graph: Graph) -> None:
    failed = {
        a.inputs["statusCode"]: a.inputs for a in answers_of(graph, "post-tickets") if a.inputs["statusCode"] != "202"
    }
    assert set(failed) == {"502", "503"}
    for status, inputs in failed.items():
        body = json.loads(render(inputs["responseTemplates"]["application/json"]))
        assert body["accepted"] is False and "not stored" in body["message"], status
        assert inputs["responseParameters"] == {
            "method.response.header.Access-Control-Allow-Origin": "'https://support.example'"
        }


def test_each_answer_waits_for_its_integration_and_method_response(graph: Graph) -> None:
    method_responses = {
        (r.inputs["statusCode"], r.inputs["httpMethod"]): r
        for r in graph.of_type("aws:apigateway/methodResponse:MethodResponse")
        if not r.name.startswith("support-preflight")
    }
    integrations = [i.urn for i in graph.of_type("aws:apigateway/integration:Integration")]
    for answer in graph.of_type(INTEGRATION_RESPONSE):
        if answer.name.startswith("support-preflight"):
            continue
        response = method_responses[(answer.inputs["statusCode"], answer.inputs["httpMethod"])]
        assert response.urn in answer.dependencies, answer.urn
        assert any(i in answer.dependencies for i in integrations), answer.urn
