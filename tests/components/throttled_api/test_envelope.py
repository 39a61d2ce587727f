"""Async and queue routes forward the request's meaning, not only its body: the envelope is
rendered here as API Gateway would render it (VTL for REST via airspeed, parameter mapping for
HTTP), and read back with ``handlers.resilience.envelope.read_envelope``."""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import parse_qs

import airspeed
import pulumi_aws as aws
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from resilient_serverless.components import ConfigError, PriorityQueuePair, ResilientFunction, ThrottledApi, rules
from resilient_serverless.components.testing import Graph, run_program
from resilient_serverless.components.throttled_api import envelope as api_envelope
from resilient_serverless.handlers.resilience.envelope import ENVELOPE_VERSION, EnvelopeError, read_envelope

from tests.conftest import HANDLERS

from ._vtl import VtlUtil

REST_INTEGRATION = "aws:apigateway/integration:Integration"
HTTP_INTEGRATION = "aws:apigatewayv2/integration:Integration"

# A request whose values break naive templates: quotes, an apostrophe, a space, an ampersand.
BODY = {"items": [{"sku": 'mug "large"', "qty": 2}], "note": "it's a gift & more"}
PATH = {"shop": "s-1", "order_id": "o-42"}
QUERY = {"priority": "high", "ref": 'say "hi"'}
HEADERS = {"Content-Type": "application/json", "Idempotency-Key": "k-'7'", "X-Tenant": "acme"}
REQUEST_ID, EPOCH_MS = "c6af9ac6-7b61-11e6-9a41-93e8deadbeef", 1_764_000_000_000


class _Input:
    """API Gateway's $input for one request."""

    def __init__(self, path: dict[str, str], query: dict[str, str], headers: dict[str, str], body: Any) -> None:
        self._params = {"path": path, "querystring": query, "header": headers}
        self._body = body

    def params(self) -> dict[str, dict[str, str]]:
        return self._params

    def json(self, path: str) -> str:
        assert path == "$"
        return json.dumps(self._body)

    def path(self, path: str) -> Any:
        value: Any = self._body
        for part in path.removeprefix("$.").split("."):
            value = value[part]
        return value


def render_vtl(
    template: str,
    path: dict[str, str] = PATH,
    query: dict[str, str] = QUERY,
    headers: dict[str, str] = HEADERS,
    body: Any = BODY,
) -> str:
    context = {"requestId": REQUEST_ID, "requestTimeEpoch": EPOCH_MS}
    request = _Input(path, query, headers, body)
    return str(airspeed.Template(template).merge({"input": request, "util": VtlUtil(), "context": context}))


def render_http(mapping: str) -> str:
    """HTTP parameter mapping with this request (values without quotes: HTTP does not escape)."""
    values = {
        **{f"request.path.{k}": v for k, v in PATH.items()},
        **{f"request.querystring.{k}": v for k, v in QUERY.items() if '"' not in v},
        **{f"request.header.{k.lower()}": v for k, v in HEADERS.items()},
        "request.body": json.dumps(BODY),
        "context.requestId": REQUEST_ID,
        "context.requestTimeEpoch": str(EPOCH_MS),
    }
    # A header the client did not send maps to an empty value.
    out = re.sub(
        r"\$\{([^}]+)\}",
        lambda m: values.get(m.group(1), "") if "header" in m.group(1) else values[m.group(1)],
        mapping,
    )
    return re.sub(r"^\$([a-z][A-Za-z.-]+)$", lambda m: values[m.group(1)], out)


def fifo_pair(name: str = "orders", content_based: bool = False) -> PriorityQueuePair:
    return PriorityQueuePair(
        name,
        {
            "handler": "app.handlers.ingest.lambda_handler",
            "code": HANDLERS,
            "fifo": True,
            "content_based_deduplication": content_based,
        },
    )


def program_graph(flavor: str, route: dict[str, Any], *, fifo: bool = True) -> Graph:
    def program() -> None:
        target: Any = fifo_pair() if fifo else aws.sqs.Queue("plain", name="shop-plain")
        ThrottledApi("shop", {"flavor": flavor, "routes": [{"queue": target, **route}]})

    return run_program(program, project="shop", stack="qa")


FIFO_ROUTE = {
    "method": "PUT",
    "path": "/shops/{shop}/orders/{order_id}",
    "group_id": "path.shop",
    "dedup_id": "header.Idempotency-Key",
    "forward_headers": ["Content-Type", "Idempotency-Key", "X-Tenant", "X-Signature"],
    "forward_query": ["priority"],
}


def test_rest_queue_route_sends_the_envelope_and_fifo_ids_to_sqs() -> None:
    graph = program_graph("rest", FIFO_ROUTE)
    integration = graph.one(REST_INTEGRATION)
    assert integration.inputs["uri"].endswith("/shop-qa-orders-high.fifo")
    form = parse_qs(render_vtl(integration.inputs["requestTemplates"]["application/json"]), strict_parsing=True)
    assert form["Action"] == ["SendMessage"]
    assert (form["MessageGroupId"], form["MessageDeduplicationId"]) == (["s-1"], ["k-'7'"])
    got = read_envelope({"eventSource": "aws:sqs", "messageId": "m-1", "body": form["MessageBody"][0]})
    assert got.body == BODY and got.path == PATH and got.query == QUERY
    assert got.headers == {
        "content-type": "application/json",
        "idempotency-key": "k-'7'",
        "x-tenant": "acme",
        "x-signature": None,
    }
    assert (got.request_id, got.received_at_ms, got.route) == (
        REQUEST_ID,
        EPOCH_MS,
        "PUT /shops/{shop}/orders/{order_id}",
    )


def test_rest_async_route_invokes_the_function_with_the_envelope() -> None:
    def program() -> None:
        fn = ResilientFunction(
            "w", {"handler": "app.handlers.ingest.lambda_handler", "code": HANDLERS, "invocation": "async"}
        )
        ThrottledApi(
            "shop",
            {"routes": [{"method": "PUT", "path": "/shops/{shop}/orders/{order_id}", "function": fn, "mode": "async"}]},
        )

    integration = run_program(program).one(REST_INTEGRATION)
    event = json.loads(render_vtl(integration.inputs["requestTemplates"]["application/json"]))
    got = read_envelope(event)
    assert got.body == BODY and got.path == PATH and got.query == QUERY
    assert got.header("IDEMPOTENCY-KEY") == "k-'7'" and got.enveloped


def test_http_queue_route_sends_the_envelope_and_fifo_ids() -> None:
    graph = program_graph("http", FIFO_ROUTE)
    params = graph.one(HTTP_INTEGRATION).inputs["requestParameters"]
    assert params["QueueUrl"].endswith("/shop-qa-orders-high.fifo")
    assert (params["MessageGroupId"], params["MessageDeduplicationId"]) == (
        "$request.path.shop",
        "$request.header.idempotency-key",
    )
    got = read_envelope({"eventSource": "aws:sqs", "body": render_http(params["MessageBody"])})
    assert got.body == BODY and got.path == PATH and got.query == {"priority": "high"}
    assert got.headers["x-tenant"] == "acme" and got.header("X-Signature") is None
    assert (got.request_id, got.received_at_ms) == (REQUEST_ID, EPOCH_MS)


def test_a_standard_queue_gets_no_fifo_ids() -> None:
    route = {"method": "POST", "path": "/orders"}
    rest = program_graph("rest", route, fifo=False).one(REST_INTEGRATION)
    assert "MessageGroupId" not in rest.inputs["requestTemplates"]["application/json"]
    http = program_graph("http", route, fifo=False).one(HTTP_INTEGRATION)
    assert set(http.inputs["requestParameters"]) == {"QueueUrl", "MessageBody"}


def test_content_based_fifo_needs_no_dedup_id() -> None:
    def program() -> None:
        ThrottledApi(
            "shop",
            {
                "routes": [
                    {
                        "method": "POST",
                        "path": "/orders/{order_id}",
                        "queue": fifo_pair(content_based=True),
                        "group_id": "body.note",
                    }
                ]
            },
        )

    graph = run_program(program)
    template = graph.one(REST_INTEGRATION).inputs["requestTemplates"]["application/json"]
    assert "MessageDeduplicationId" not in template
    assert parse_qs(render_vtl(template))["MessageGroupId"] == ["it's a gift & more"]
    assert [f for f in rules.check(graph, waived={}) if f.rule == "api-fifo-target-grouped"] == []


def fifo_errors(route: dict[str, Any], content_based: bool = False) -> list[str]:
    def program() -> None:
        ThrottledApi(
            "shop",
            {
                "routes": [
                    {
                        "method": "PUT",
                        "path": "/orders/{order_id}",
                        "queue": fifo_pair(content_based=content_based),
                        **route,
                    }
                ]
            },
        )

    with pytest.raises(ConfigError) as raised:
        run_program(program)
    return raised.value.problems


def test_a_fifo_target_without_group_and_dedup_sources_is_refused() -> None:
    assert fifo_errors({}) == [
        "routes[0]: a FIFO queue needs group_id (path.<param>, header.<Name> or body.<field>): "
        "SQS refuses a FIFO message without a MessageGroupId",
        "routes[0]: a FIFO queue without content-based deduplication needs dedup_id (path.<param>, "
        "header.<Name>, body.<field> or request_id): SQS refuses the message otherwise",
    ]


@pytest.mark.parametrize(
    ("route", "message"),
    [
        (
            {"group_id": "cookie.x", "dedup_id": "request_id"},
            "routes[0].group_id='cookie.x' must be path.<param>, header.<Name>, body.<field>",
        ),
        (
            {"group_id": "request_id", "dedup_id": "request_id"},
            "routes[0].group_id='request_id' must be path.<param>, header.<Name>, body.<field>",
        ),
        (
            {"group_id": "path.shop", "dedup_id": "request_id"},
            "routes[0].group_id='path.shop' names no parameter of the path '/orders/{order_id}'",
        ),
        (
            {"group_id": "path.order_id", "dedup_id": "query.x"},
            "routes[0].dedup_id='query.x' must be path.<param>, header.<Name>, body.<field> or request_id",
        ),
    ],
)
def test_bad_fifo_sources_are_named(route: dict[str, Any], message: str) -> None:
    assert fifo_errors(route) == [message]


def test_fifo_ids_on_a_function_or_standard_queue_are_refused() -> None:
    def program() -> None:
        fn = ResilientFunction("f", {"handler": "app.handlers.orders.lambda_handler", "code": HANDLERS})
        ThrottledApi("shop", {"routes": [{"method": "GET", "path": "/a", "function": fn, "group_id": "header.X"}]})

    with pytest.raises(ConfigError) as raised:
        run_program(program)
    assert raised.value.problems == ["routes[0]: group_id and dedup_id apply to FIFO queue targets only"]


def raw_fifo_graph(flavor: str, route: dict[str, Any]) -> Graph:
    def program() -> None:
        queue = aws.sqs.Queue("q", name="raw.fifo", fifo_queue=True)
        ThrottledApi(
            "shop", {"flavor": flavor, "routes": [{"method": "POST", "path": "/o/{id}", "queue": queue, **route}]}
        )

    return run_program(program)


@pytest.mark.parametrize("flavor", ["rest", "http"])
def test_fifo_rule_fails_on_a_raw_fifo_queue_without_ids(flavor: str) -> None:
    # A raw aws.sqs.Queue does not tell the program it is FIFO: the plan's rule catches it.
    found = [
        f.message for f in rules.check(raw_fifo_graph(flavor, {}), waived={}) if f.rule == "api-fifo-target-grouped"
    ]
    assert found == [
        "sends to FIFO queue raw.fifo without a MessageGroupId: SQS refuses every message (route group_id)",
        "sends to FIFO queue raw.fifo without a MessageDeduplicationId and the queue has no content-based "
        "deduplication: SQS refuses every message (route dedup_id)",
    ]


@pytest.mark.parametrize("flavor", ["rest", "http"])
def test_fifo_rule_passes_when_the_route_names_its_sources(flavor: str) -> None:
    graph = raw_fifo_graph(flavor, {"group_id": "path.id", "dedup_id": "request_id"})
    assert [f for f in rules.check(graph, waived={}) if f.rule == "api-fifo-target-grouped"] == []


def test_plan_shows_the_envelope_and_the_group_id_source() -> None:
    graph = program_graph("rest", FIFO_ROUTE)
    (route,) = graph.outputs_of(graph.one("ThrottledApi"))["routes"]
    assert route["envelope"] == (
        "body, path, query, headers content-type, idempotency-key, x-tenant, x-signature, requestId, receivedAt"
    )
    assert (route["group_id_source"], route["dedup_id_source"]) == ("path.shop", "header.Idempotency-Key")
    assert route["target"] == "queue orders-high (FIFO)"


def test_a_priority_queue_pair_target_sends_to_its_high_queue() -> None:
    def program() -> None:
        inbox = PriorityQueuePair("inbox", {"handler": "app.handlers.ingest.lambda_handler", "code": HANDLERS})
        ThrottledApi("shop", {"flavor": "http", "routes": [{"method": "POST", "path": "/orders", "queue": inbox}]})

    graph = run_program(program, project="shop", stack="qa")
    params = graph.one(HTTP_INTEGRATION).inputs["requestParameters"]
    assert params["QueueUrl"].endswith("/shop-qa-inbox-high")
    policy = json.loads(graph.one("aws:iam/rolePolicy:RolePolicy", "shop-integration-send").inputs["policy"])
    assert policy["Statement"][0]["Resource"] == ["arn:aws:sqs:eu-west-1:123456789012:shop-qa-inbox-high"]


# --- read_envelope ----------------------------------------------------------------------------------
def test_the_handler_and_component_agree_on_the_envelope_version() -> None:
    assert ENVELOPE_VERSION == api_envelope.ENVELOPE_VERSION


def test_a_bare_payload_reads_as_a_body_without_envelope() -> None:
    got = read_envelope({"eventSource": "aws:sqs", "body": '{"order_id": "o-1"}'})
    assert (got.body, got.enveloped, got.path, got.request_id) == ({"order_id": "o-1"}, False, {}, None)


def test_a_powertools_record_is_read() -> None:
    from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

    body = json.dumps({"envelope": ENVELOPE_VERSION, "body": {"a": 1}, "path": {"id": "x"}, "headers": {"X-A": "1"}})
    got = read_envelope(SQSRecord({"eventSource": "aws:sqs", "body": body, "messageId": "m"}))
    assert (got.body, got.path, got.header("x-a")) == ({"a": 1}, {"id": "x"}, "1")


def test_a_body_that_is_not_json_is_named() -> None:
    with pytest.raises(EnvelopeError) as raised:
        read_envelope({"eventSource": "aws:sqs", "body": "{oops"})
    assert str(raised.value).startswith("message body is not JSON (Expecting property name enclosed in double quotes")


def test_an_envelope_with_a_bad_field_is_named() -> None:
    with pytest.raises(EnvelopeError) as raised:
        read_envelope({"envelope": ENVELOPE_VERSION, "body": {}, "path": "o-1"})
    assert str(raised.value) == "envelope path='o-1' must be an object"


_TEXT = st.text(st.characters(codec="utf-8"), max_size=20)
_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | _TEXT,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_TEXT, inner, max_size=3),
    max_leaves=8,
)


@settings(max_examples=60, deadline=None)
@given(
    path=st.dictionaries(st.from_regex(r"[a-z_]{1,8}", fullmatch=True), _TEXT, max_size=3),
    query=st.dictionaries(_TEXT.filter(bool), _TEXT, max_size=3),
    header=_TEXT,
    body=_JSON,
)
def test_any_request_survives_the_rest_envelope_round_trip(
    path: dict[str, str], query: dict[str, str], header: str, body: Any
) -> None:
    # GIVEN any values (quotes, apostrophes, backslashes, $ and #, newlines, non-ASCII)
    headers = {"Idempotency-Key": header} if header else {}
    form = api_envelope.rest_envelope_form("POST /x", ("Idempotency-Key",))
    sent = render_vtl(f"Action=SendMessage&MessageBody={form}", path, query, headers, body)
    # WHEN SQS decodes the form and the consumer reads the envelope THEN nothing is lost or altered
    got = read_envelope({"eventSource": "aws:sqs", "body": parse_qs(sent, keep_blank_values=True)["MessageBody"][0]})
    assert (got.body, got.path, got.query) == (body, path, query)
    assert got.headers == {"idempotency-key": header or None}
    event = json.loads(render_vtl(api_envelope.rest_envelope_json("POST /x", ()), path, query, headers, body))
    assert read_envelope(event).body == body


@pytest.mark.parametrize(
    ("route", "message"),
    [
        ({"forward_headers": "Idempotency-Key"}, "routes[0].forward_headers='Idempotency-Key' must be a list of names"),
        ({"forward_query": ["a b"]}, "routes[0].forward_query entry 'a b' must be 1 to 64 letters, digits, - or _"),
    ],
)
def test_bad_forwarded_names_are_named(route: dict[str, Any], message: str) -> None:
    def program() -> None:
        queue = aws.sqs.Queue("q", name="plain")
        ThrottledApi("shop", {"routes": [{"method": "POST", "path": "/o", "queue": queue, **route}]})

    with pytest.raises(ConfigError) as raised:
        run_program(program)
    assert raised.value.problems == [message]
