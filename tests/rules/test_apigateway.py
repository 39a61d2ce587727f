"""The API Gateway rules at their edges (front door, stages, integrations, the account role): each
threshold one step on each side, and the fields each rule reads, on resources built by hand."""

from __future__ import annotations

import json
from typing import Any

import pytest
from resilient_serverless.components import rules
from resilient_serverless.components.testing import CapturedResource

from .hand_built import function, messages, out, res

FIFO_URI = "arn:aws:apigateway:eu-west-1:sqs:path/123456789012/orders.fifo"


def _integration(rest: bool, timeout_ms: int | None, fn_timeout: int | None, **extra: Any) -> list[str]:
    arn = "arn:aws:lambda:eu-west-1:1:function:f"
    inputs: dict[str, Any] = {
        "type" if rest else "integrationType": "AWS_PROXY",
        "uri" if rest else "integrationUri": f"{arn}/invocations",
        **extra,
    }
    if timeout_ms is not None:
        inputs["timeoutMilliseconds"] = timeout_ms
    fn = function() if fn_timeout is None else function(timeout=fn_timeout)
    return messages(
        "api-timeout-chain", res(rules.REST_INTEGRATION if rest else rules.HTTP_INTEGRATION, "i", inputs), fn
    )


def test_a_method_setting_without_a_path_is_reported_as_the_empty_path() -> None:
    assert messages("api-method-path-escaped", res(rules.METHOD_SETTINGS, "s", {})) == [
        "method path '' matches no method: API Gateway keys methods as the resource path with every / written ~1, "
        "then the method (~1orders~1{order_id}/GET, ~1/GET for the root, */* for all)"
    ]


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE", "ANY", "GET"])
def test_every_write_method_needs_a_guard_and_reads_do_not(method: str) -> None:
    open_rest = res(rules.REST_METHOD, "m", {"httpMethod": method, "restApi": "api1"})
    open_http = res(rules.HTTP_ROUTE, "r", {"routeKey": f"{method} /orders"})
    expected = (
        []
        if method == "GET"
        else [
            f"{method} is open to anyone with no per-client limit: one client can spend the stage's whole rate (add "
            "auth, usage_plans or waf_rate_limit)",
            f"{method} /orders is open to anyone, and HTTP APIs have no per-client limit (only the route throttle "
            "shared by every client): add auth",
        ]
    )
    assert messages("api-write-route-guarded", open_rest, open_http) == expected


def test_a_waf_rate_rule_on_the_api_guards_its_rest_write_routes() -> None:
    route = res(rules.REST_METHOD, "m", {"httpMethod": "POST", "restApi": "api1"})
    waf = res(rules.WAF_ASSOCIATION, "w", {"resourceArn": "arn:aws:apigateway:eu-west-1::/restapis/api1/stages/v1"})
    assert messages("api-write-route-guarded", route, waf) == []


def test_content_based_deduplication_is_read_from_the_target_queue_only() -> None:
    # GIVEN a FIFO target without content-based deduplication, beside another queue that has it
    target = res(rules.QUEUE, "orders", {"name": "orders.fifo", "fifoQueue": True})
    other = res(rules.QUEUE, "other", {"name": "other.fifo", "fifoQueue": True, "contentBasedDeduplication": True})
    send = res(rules.REST_INTEGRATION, "i", {"uri": FIFO_URI, "requestTemplates": {"a": "MessageGroupId=g"}})
    # THEN the send without a dedup id is judged by its own queue
    assert messages("api-fifo-target-grouped", other, target, send) == [
        "sends to FIFO queue orders.fifo without a MessageDeduplicationId and the queue has no content-based "
        "deduplication: SQS refuses every message (route dedup_id)"
    ]
    content_based = res(rules.QUEUE, "orders", {"name": "orders.fifo", "contentBasedDeduplication": True})
    assert messages("api-fifo-target-grouped", content_based, send) == []


@pytest.mark.parametrize(("issued", "flagged"), [(150, False), (150.5, True), ("150", False)])
def test_a_starter_is_flagged_only_above_the_quota(issued: Any, flagged: bool) -> None:
    workflow = res(rules.ASYNC_JOB_WORKFLOW, "jobs")
    outputs = {workflow.urn: {"start_path": {"starts_per_s": issued, "start_quota_per_s": 150}}}
    assert bool(messages("jobs-start-within-quota", workflow, outputs=outputs)) is flagged


@pytest.mark.parametrize(
    ("attempts", "found"), [(10, []), (11, ["webhook deliveries are tried 11 times, above 10: bound the retries"])]
)
def test_webhook_deliveries_may_be_tried_up_to_ten_times(attempts: int, found: list[str]) -> None:
    q, d = "arn:aws:sqs:eu-west-1:1:hooks", "arn:aws:sqs:eu-west-1:1:hooks-dlq"
    workflow = res(rules.ASYNC_JOB_WORKFLOW, "jobs")
    redrive = json.dumps({"deadLetterTargetArn": d, "maxReceiveCount": attempts})
    queue = out(rules.QUEUE, "hooks", {"redrivePolicy": redrive}, {"arn": q, "name": "hooks"})
    dlq = out(rules.QUEUE, "hooks-dlq", {}, {"arn": d, "name": "hooks-dlq"})
    alarm = res(rules.ALARM, "a", {"dimensions": {"QueueName": "hooks-dlq"}})
    outputs = {workflow.urn: {"webhooks": {"queue_arn": q}}}
    assert messages("jobs-webhook-delivery-bounded", workflow, queue, dlq, alarm, outputs=outputs) == found


def test_a_webhook_queue_without_a_dlq_says_so() -> None:
    workflow = res(rules.ASYNC_JOB_WORKFLOW, "jobs")
    queue = out(rules.QUEUE, "hooks", {}, {"arn": "arn:aws:sqs:eu-west-1:1:hooks", "name": "hooks"})
    outputs = {workflow.urn: {"webhooks": {"queue_arn": "arn:aws:sqs:eu-west-1:1:hooks"}}}
    assert messages("jobs-webhook-delivery-bounded", workflow, queue, outputs=outputs) == [
        "the webhook queue has no DLQ: a delivery that keeps failing is retried until it expires, unseen"
    ]


def test_a_state_machine_whose_definition_is_not_json_says_so() -> None:
    machine = res(rules.STATE_MACHINE, "m", {"definition": "{"})
    assert messages("sfn-execution-timeout", machine) == ["the definition is not JSON"]


@pytest.mark.parametrize(
    ("integration", "found"),
    [
        # REST: the queue is the URI's last segment; the ids are in the request template
        (
            res(rules.REST_INTEGRATION, "i", {"uri": FIFO_URI, "requestTemplates": {"application/json": "Action=x"}}),
            [
                "sends to FIFO queue orders.fifo without a MessageGroupId: SQS refuses every message (route group_id)",
                "sends to FIFO queue orders.fifo without a MessageDeduplicationId and the queue has no content-based "
                "deduplication: SQS refuses every message (route dedup_id)",
            ],
        ),
        (
            res(
                rules.REST_INTEGRATION,
                "i",
                {"uri": FIFO_URI, "requestTemplates": {"a": "MessageGroupId=g&MessageDeduplicationId=d"}},
            ),
            [],
        ),
        # HTTP: the queue URL and the ids are request parameters of the SQS-SendMessage subtype
        (
            res(
                rules.HTTP_INTEGRATION,
                "i",
                {
                    "integrationSubtype": "SQS-SendMessage",
                    "requestParameters": {"QueueUrl": "https://sqs/1/orders.fifo", "MessageGroupId": "g"},
                },
            ),
            [
                "sends to FIFO queue orders.fifo without a MessageDeduplicationId and the queue has no content-based "
                "deduplication: SQS refuses every message (route dedup_id)"
            ],
        ),
        (
            res(
                rules.HTTP_INTEGRATION,
                "i",
                {
                    "integrationSubtype": "SQS-SendMessage",
                    "requestParameters": {
                        "QueueUrl": "https://sqs/1/orders.fifo",
                        "MessageGroupId": "g",
                        "MessageDeduplicationId": "d",
                    },
                },
            ),
            [],
        ),
        (
            res(
                rules.HTTP_INTEGRATION,
                "i",
                {"integrationSubtype": "SQS-ReceiveMessage", "requestParameters": {"QueueUrl": "https://sqs/1/o.fifo"}},
            ),
            [],
        ),
    ],
)
def test_a_fifo_target_is_read_from_either_flavour(integration: CapturedResource, found: list[str]) -> None:
    assert messages("api-fifo-target-grouped", integration) == found


@pytest.mark.parametrize(
    ("settings", "found"),
    [
        ({"throttlingRateLimit": 1, "throttlingBurstLimit": 1}, []),
        ({"throttlingRateLimit": 0, "throttlingBurstLimit": 1}, ["x"]),
        ({"throttlingRateLimit": 1, "throttlingBurstLimit": 0}, ["x"]),
    ],
)
def test_a_throttle_needs_rate_and_burst_of_at_least_one(settings: dict[str, int], found: list[str]) -> None:
    stage = res(rules.HTTP_STAGE, "s", {"defaultRouteSettings": settings})
    expected = ["default route settings lack a rate and burst: AWS throttles such a stage to 0"] if found else []
    assert messages("api-stage-throttled", stage) == expected


def test_a_rest_stage_is_throttled_only_by_its_own_stage_wide_settings() -> None:
    stage = res(rules.REST_STAGE, "s", {"restApi": "a", "stageName": "live"})
    throttle = {"throttlingRateLimit": 5, "throttlingBurstLimit": 5}
    own = res(
        rules.METHOD_SETTINGS, "m", {"restApi": "a", "stageName": "live", "methodPath": "*/*", "settings": throttle}
    )
    other_api = res(
        rules.METHOD_SETTINGS, "m2", {"restApi": "b", "stageName": "live", "methodPath": "*/*", "settings": throttle}
    )
    other_stage = res(
        rules.METHOD_SETTINGS, "m3", {"restApi": "a", "stageName": "dev", "methodPath": "*/*", "settings": throttle}
    )
    one_path = res(
        rules.METHOD_SETTINGS,
        "m4",
        {"restApi": "a", "stageName": "live", "methodPath": "~1x/GET", "settings": throttle},
    )
    missing = ["stage live has no '*/*' method settings with a throttle: only the account limit applies"]
    assert messages("api-stage-throttled", stage, own) == []
    for wrong in (other_api, other_stage, one_path):
        assert messages("api-stage-throttled", stage, wrong) == missing, wrong.name


def test_method_settings_without_a_throttle_are_named() -> None:
    m = res(rules.METHOD_SETTINGS, "m", {"methodPath": "~1x/GET", "settings": {"throttlingRateLimit": 5}})
    assert messages("api-stage-throttled", m) == ["method settings ~1x/GET lack a non-zero rate and burst"]


def test_access_logs_need_a_destination_and_a_format() -> None:
    assert (
        messages(
            "api-access-logs",
            res(rules.HTTP_STAGE, "s", {"accessLogSettings": {"destinationArn": "arn", "format": "{}"}}),
        )
        == []
    )
    assert (
        len(messages("api-access-logs", res(rules.REST_STAGE, "s", {"accessLogSettings": {"destinationArn": "arn"}})))
        == 1
    )


@pytest.mark.parametrize(("rest", "ceiling"), [(True, 29_000), (False, 30_000)])
def test_the_integration_timeout_may_reach_the_gateway_limit_but_not_pass_it(rest: bool, ceiling: int) -> None:
    assert _integration(rest, ceiling, 5) == []
    kind = "REST" if rest else "HTTP"
    assert _integration(rest, ceiling + 1, 5) == [
        f"integration timeout {ceiling + 1} ms is above the {kind} limit of {ceiling} ms"
    ]


def test_the_function_must_end_strictly_before_the_integration() -> None:
    assert _integration(True, 10_001, 10) == []
    assert _integration(True, 10_000, 10) == [
        "function f may run 10 s, not less than the 10000 ms integration timeout: the gateway gives up while the "
        "function still works"
    ]


def test_without_explicit_timeouts_the_gateway_limit_and_3_s_apply() -> None:
    assert _integration(True, None, None) == []
    assert _integration(True, 3_000, None) == [
        "function f may run 3 s, not less than the 3000 ms integration timeout: the gateway gives up while the "
        "function still works"
    ]


def test_only_synchronous_lambda_proxies_are_in_the_timeout_chain() -> None:
    assert _integration(False, 60_000, 100, integrationSubtype="SQS-SendMessage") == []
    mock = res(rules.REST_INTEGRATION, "i", {"type": "MOCK", "timeoutMilliseconds": 60_000})
    assert messages("api-timeout-chain", mock) == []


def test_a_function_is_found_behind_an_alias_arn() -> None:
    arn = "arn:aws:lambda:eu-west-1:1:function:f"
    for uri in (f"{arn}:live/invocations", arn):
        integration = res(rules.REST_INTEGRATION, "i", {"type": "AWS_PROXY", "uri": uri, "timeoutMilliseconds": 5000})
        assert len(messages("api-timeout-chain", integration, function(timeout=5))) == 1, uri


@pytest.mark.parametrize(
    ("principal", "source", "found"),
    [
        ("apigateway.amazonaws.com", "arn:aws:execute-api:eu-west-1:1:abc/live/GET/orders", False),
        ("apigateway.amazonaws.com", "arn:aws:execute-api:eu-west-1:1:abc/live/GET", True),
        ("apigateway.amazonaws.com", "arn:aws:execute-api:eu-west-1:1:*/live/GET/orders", True),
        ("apigateway.amazonaws.com", "arn:aws:execute-api:eu-west-1:1:/live/GET/orders", True),
        ("sns.amazonaws.com", "", False),
    ],
)
def test_an_api_permission_names_api_stage_method_and_path(principal: str, source: str, found: bool) -> None:
    permission = res(rules.PERMISSION, "p", {"principal": principal, "sourceArn": source})
    assert len(messages("lambda-permission-scoped", permission)) == int(found)


@pytest.mark.parametrize(("needed", "found"), [(10, 0), (11, 1)])
def test_capacity_equal_to_the_reservation_is_enough(needed: int, found: int) -> None:
    api = res(rules.THROTTLED_API, "api")
    route = {
        "route": "GET /x",
        "rate": 100,
        "expected_latency_ms": 100,
        "concurrency_needed": needed,
        "concurrency_limit": 10,
    }
    assert len(messages("api-capacity", api, outputs={api.urn: {"routes": [route]}})) == found


def test_capacity_of_an_unreserved_function_is_not_judged() -> None:
    api = res(rules.THROTTLED_API, "api")
    route = {
        "route": "GET /x",
        "rate": 100,
        "expected_latency_ms": 100,
        "concurrency_needed": 99,
        "concurrency_limit": None,
    }
    assert messages("api-capacity", api, outputs={api.urn: {"routes": [route]}}) == []


def test_the_capacity_finding_shows_the_arithmetic() -> None:
    api = res(rules.THROTTLED_API, "api")
    route = {
        "route": "GET /x",
        "rate": 200,
        "expected_latency_ms": 100,
        "concurrency_needed": 20,
        "concurrency_limit": 10,
    }
    assert messages("api-capacity", api, outputs={api.urn: {"routes": [route]}}) == [
        "GET /x: 200 rps x 100 ms needs 20 concurrent executions, the function reserves 10: excess is throttled by "
        "Lambda, not shed at the edge"
    ]


def test_an_http_route_with_both_throttle_values_is_quiet() -> None:
    throttle = {"throttlingRateLimit": 5, "throttlingBurstLimit": 5}
    stage = res(
        rules.HTTP_STAGE, "s", {"defaultRouteSettings": throttle, "routeSettings": [{"routeKey": "GET /x", **throttle}]}
    )
    assert messages("api-stage-throttled", stage) == []


def test_the_default_function_timeout_is_3_s_to_the_millisecond() -> None:
    assert _integration(True, 3_001, None) == []
