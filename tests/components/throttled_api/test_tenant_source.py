"""Fair queues per tenant: a queue route's ``tenant`` becomes the message's MessageGroupId on a
standard queue (REST template and HTTP mapping), validated with one error naming the key, the value
and the allowed forms; FIFO targets keep their own ``group_id``."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qs

import airspeed
import pulumi_aws as aws
import pytest
from resilient_serverless.components import ConfigError, Operations, PriorityQueuePair, ResilientFunction, ThrottledApi
from resilient_serverless.components.testing import Graph, run_program

from tests.conftest import HANDLERS

from ._vtl import VtlUtil

REST_INTEGRATION = "aws:apigateway/integration:Integration"
HTTP_INTEGRATION = "aws:apigatewayv2/integration:Integration"
PATH = {"tenant_id": "acme"}
HEADERS = {"X-Tenant": "globex", "Content-Type": "application/json"}


class _Input:
    def params(self) -> dict[str, dict[str, str]]:
        return {"path": PATH, "querystring": {}, "header": HEADERS}

    def json(self, path: str) -> str:
        return json.dumps({"sku": "mug"})


def sent_group(template: str, context: dict[str, Any] | None = None) -> list[str] | None:
    """The MessageGroupId of the SendMessage form the REST template renders for one request."""
    ctx = {"requestId": "r-1", "requestTimeEpoch": 1, **(context or {})}
    form = parse_qs(str(airspeed.Template(template).merge({"input": _Input(), "util": VtlUtil(), "context": ctx})))
    return form.get("MessageGroupId")


def api_graph(flavor: str, route: dict[str, Any], **api: Any) -> Graph:
    def program() -> None:
        queue = aws.sqs.Queue("plain", name="shop-plain")
        ThrottledApi("shop", {"flavor": flavor, "routes": [{"queue": queue, "method": "POST", **route}], **api})

    return run_program(program, project="shop", stack="qa")


def test_rest_standard_queue_route_sends_the_path_tenant_as_message_group() -> None:
    graph = api_graph("rest", {"path": "/tenants/{tenant_id}/orders", "tenant": "path.tenant_id"})
    template = graph.one(REST_INTEGRATION).inputs["requestTemplates"]["application/json"]
    assert sent_group(template) == ["acme"]


def test_rest_route_tenant_from_a_header() -> None:
    graph = api_graph("rest", {"path": "/orders", "tenant": "header.X-Tenant"})
    assert sent_group(graph.one(REST_INTEGRATION).inputs["requestTemplates"]["application/json"]) == ["globex"]


def test_rest_principal_tenant_is_the_api_key_behind_usage_plans() -> None:
    graph = api_graph(
        "rest", {"path": "/orders", "tenant": "principal"}, usage_plans={"acme": {"rate": 5, "burst": 10}}
    )
    template = graph.one(REST_INTEGRATION).inputs["requestTemplates"]["application/json"]
    assert sent_group(template, {"identity": {"apiKeyId": "key-acme"}}) == ["key-acme"]


def test_rest_principal_tenant_is_the_iam_caller() -> None:
    graph = api_graph("rest", {"path": "/orders", "tenant": "principal", "auth": {"type": "iam"}})
    template = graph.one(REST_INTEGRATION).inputs["requestTemplates"]["application/json"]
    caller = "arn:aws:iam::123456789012:user/acme"
    assert sent_group(template, {"identity": {"userArn": caller}}) == [caller]


def test_http_standard_queue_route_maps_the_tenant_to_message_group() -> None:
    graph = api_graph("http", {"path": "/tenants/{tenant_id}/orders", "tenant": "path.tenant_id"})
    assert graph.one(HTTP_INTEGRATION).inputs["requestParameters"]["MessageGroupId"] == "$request.path.tenant_id"


def test_http_jwt_claim_tenant_is_mapped_from_the_authorizer() -> None:
    auth = {"type": "jwt", "issuer": "https://idp.example.com", "audience": ["shop"]}
    graph = api_graph("http", {"path": "/orders", "tenant": "claim.tenant", "auth": auth})
    params = graph.one(HTTP_INTEGRATION).inputs["requestParameters"]
    assert params["MessageGroupId"] == "$context.authorizer.claims.tenant"


def test_the_plan_row_of_a_route_names_its_tenant_source() -> None:
    graph = api_graph("rest", {"path": "/orders", "tenant": "header.X-Tenant"})
    (row,) = graph.outputs_of(graph.one("ThrottledApi"))["routes"]
    assert row["tenant_source"] == "header.X-Tenant"


def test_a_route_without_tenant_sends_no_message_group() -> None:
    graph = api_graph("rest", {"path": "/orders"})
    assert sent_group(graph.one(REST_INTEGRATION).inputs["requestTemplates"]["application/json"]) is None


@pytest.mark.parametrize(
    ("route", "problem"),
    [
        (
            {"path": "/orders", "tenant": "cookie.session"},
            "routes[0].tenant='cookie.session' must be path.<param>, header.<Name>, principal or claim.<name>",
        ),
        (
            {"path": "/orders", "tenant": 7},
            "routes[0].tenant=7 must be path.<param>, header.<Name>, principal or claim.<name>",
        ),
        (
            {"path": "/orders", "tenant": "path.tenant_id"},
            "routes[0].tenant='path.tenant_id' names no parameter of the path '/orders'",
        ),
        (
            {"path": "/orders", "tenant": "principal"},
            "routes[0].tenant='principal' names the authenticated caller, and this route authenticates nobody: "
            "add auth (or usage_plans on REST), or use path.<param> or header.<Name>",
        ),
        (
            {"path": "/orders", "tenant": "claim.tenant", "auth": {"type": "iam"}},
            "routes[0].tenant='claim.tenant' reads a token claim: it needs auth of type cognito (REST) or jwt (HTTP)",
        ),
    ],
)
def test_a_bad_tenant_source_is_one_error_naming_key_value_and_forms(route: dict[str, Any], problem: str) -> None:
    with pytest.raises(ConfigError) as raised:
        api_graph("rest", route)
    assert raised.value.problems == [problem]


def test_tenant_on_a_fifo_target_points_to_group_id() -> None:
    def program() -> None:
        pair = PriorityQueuePair(
            "orders",
            {"handler": "app.handlers.ingest.lambda_handler", "code": HANDLERS, "fifo": True},
        )
        route = {"method": "POST", "path": "/orders", "queue": pair, "group_id": "header.X-Tenant"}
        ThrottledApi("shop", {"routes": [{**route, "dedup_id": "request_id", "tenant": "header.X-Tenant"}]})

    with pytest.raises(ConfigError) as raised:
        run_program(program)
    assert raised.value.problems == [
        "routes[0].tenant='header.X-Tenant': a FIFO queue takes its MessageGroupId from group_id "
        "(the unit of ordering); tenant applies to standard queues"
    ]


def test_tenant_on_a_function_route_is_refused() -> None:
    def program() -> None:
        fn = ResilientFunction("fn", {"handler": "app.handlers.orders.lambda_handler", "code": HANDLERS})
        ThrottledApi("shop", {"routes": [{"method": "GET", "path": "/a", "function": fn, "tenant": "header.X"}]})

    with pytest.raises(ConfigError) as raised:
        run_program(program)
    assert raised.value.problems == [
        "routes[0].tenant='header.X': tenant applies to queue routes (it becomes the message's MessageGroupId)"
    ]


# --- the rule: a multi-tenant queue route without a tenant -------------------------------------
def tenant_findings(graph: Graph) -> list[str]:
    from resilient_serverless.components.rules import check

    return [f.message for f in check(graph, waived={}) if f.rule == "api-queue-route-tenant"]


def test_rule_warns_on_an_authorized_standard_queue_route_without_tenant() -> None:
    graph = api_graph("rest", {"path": "/orders", "auth": {"type": "iam"}})
    assert tenant_findings(graph) == [
        "POST /orders sends every caller's messages (auth IAM (SigV4)) to one standard queue without a tenant: "
        "one caller's flood raises every other caller's wait; set tenant='principal' (or path.<param>, "
        "header.<Name>) so SQS fair queues serve the quiet callers first"
    ]


def test_rule_warns_on_a_route_behind_usage_plans_without_tenant() -> None:
    graph = api_graph("rest", {"path": "/orders"}, usage_plans={"acme": {"rate": 5, "burst": 10}})
    assert len(tenant_findings(graph)) == 1
    assert "(an API key per client)" in tenant_findings(graph)[0]


def test_rule_is_silent_when_the_route_names_its_tenant() -> None:
    graph = api_graph("rest", {"path": "/orders", "auth": {"type": "iam"}, "tenant": "principal"})
    assert tenant_findings(graph) == []


def test_rule_is_silent_on_a_public_route() -> None:
    assert tenant_findings(api_graph("rest", {"path": "/orders"})) == []


# --- the dashboard: fair-queue metrics of the queues that carry tenants -----------------------
def test_dashboard_plots_the_fair_queue_metrics_of_a_queue_carrying_tenants() -> None:
    def program() -> None:
        queue = aws.sqs.Queue("plain", name="shop-plain")
        route = {"method": "POST", "path": "/orders", "queue": queue, "tenant": "header.X-Tenant"}
        ThrottledApi("shop", {"routes": [route, {**route, "method": "PUT"}]})
        Operations("ops", {"objectives": None})

    body = json.loads(run_program(program).one("aws:cloudwatch/dashboard:Dashboard").inputs["dashboardBody"])
    fair = [w for w in body["widgets"] if "fair queue" in w["properties"].get("title", "")]
    assert len(fair) == 1  # two routes, one queue
    assert [m[1] for m in fair[0]["properties"]["metrics"]] == [
        "ApproximateNumberOfNoisyGroups",
        "ApproximateNumberOfMessagesVisibleInQuietGroups",
        "ApproximateAgeOfOldestMessageInQuietGroups",
        "ApproximateAgeOfOldestMessage",
    ]
    assert {m[3] for m in fair[0]["properties"]["metrics"]} == {"shop-plain"}


def test_dashboard_has_no_fair_queue_widget_without_tenants() -> None:
    def program() -> None:
        queue = aws.sqs.Queue("plain", name="shop-plain")
        ThrottledApi("shop", {"routes": [{"method": "POST", "path": "/orders", "queue": queue}]})
        Operations("ops", {"objectives": None})

    body = json.loads(run_program(program).one("aws:cloudwatch/dashboard:Dashboard").inputs["dashboardBody"])
    assert not [w for w in body["widgets"] if "fair queue" in w["properties"].get("title", "")]
