"""ThrottledApi: both flavours, each target kind, every default pinned, every bad input named."""

from __future__ import annotations

import json
from typing import Any

import pulumi
import pulumi_aws as aws
import pytest
from resilient_serverless.components import ConfigError, ResilientFunction, ThrottledApi, rules
from resilient_serverless.components.testing import Graph, run_program
from resilient_serverless.components.throttled_api.envelope import http_envelope, rest_envelope_form

from tests.conftest import HANDLERS

REST_STAGE, HTTP_STAGE = "aws:apigateway/stage:Stage", "aws:apigatewayv2/stage:Stage"


def api_program(
    flavor: str, *, extra: dict[str, Any] | None = None, routes: str = "sync", fn_args: dict[str, Any] | None = None
) -> Any:
    def program() -> None:
        fn = ResilientFunction(
            "get", {"handler": "app.handlers.orders.lambda_handler", "code": HANDLERS, **(fn_args or {})}
        )
        inbox = aws.sqs.Queue("inbox", name="shop-dev-inbox")
        chosen: list[dict[str, Any]] = [{"method": "GET", "path": "/orders/{order_id}", "function": fn}]
        if routes == "all":
            chosen.append({"method": "POST", "path": "/orders", "queue": inbox})
        if routes == "all" and flavor == "rest":
            writer = ResilientFunction(
                "put", {"handler": "app.handlers.ingest.lambda_handler", "code": HANDLERS, "invocation": "async"}
            )
            chosen.append(
                {
                    "method": "PUT",
                    "path": "/orders/{order_id}",
                    "function": writer,
                    "mode": "async",
                    "body_schema": {"type": "object", "required": ["items"]},
                    "required_params": ["header.Idempotency-Key"],
                }
            )
        api = ThrottledApi("front", {"flavor": flavor, "routes": chosen, **(extra or {})})
        pulumi.export("url", api.url)
        pulumi.export("keys", api.api_keys)

    return program


def build(flavor: str, **kwargs: Any) -> Graph:
    return run_program(api_program(flavor, **kwargs), project="shop", stack="dev")


@pytest.fixture(scope="module")
def rest() -> Graph:
    return build("rest", routes="all")


@pytest.fixture(scope="module")
def http() -> Graph:
    return build("http", routes="all")


# --- defaults, one test each -----------------------------------------------------------------------
def test_rest_stage_throttle_defaults_to_50_rps_burst_100_with_error_logging(rest: Graph) -> None:
    stage_wide = rest.one("aws:apigateway/methodSettings:MethodSettings", "front-stage-settings")
    assert stage_wide.inputs["methodPath"] == "*/*"
    assert stage_wide.inputs["settings"] == {
        "throttlingRateLimit": 50,
        "throttlingBurstLimit": 100,
        "loggingLevel": "ERROR",
        "metricsEnabled": True,
        "dataTraceEnabled": False,
    }


def test_rest_every_route_gets_an_explicit_throttle(rest: Graph) -> None:
    paths = {m.inputs["methodPath"]: m.inputs["settings"] for m in rest.of_type("MethodSettings")}
    assert set(paths) == {"*/*", "~1orders~1{order_id}/GET", "~1orders/POST", "~1orders~1{order_id}/PUT"}
    assert all(s["throttlingRateLimit"] > 0 and s["throttlingBurstLimit"] > 0 for s in paths.values())


def test_http_default_and_every_route_carry_both_throttle_values(http: Graph) -> None:
    stage = http.one(HTTP_STAGE)
    assert stage.inputs["defaultRouteSettings"] == {
        "throttlingRateLimit": 50,
        "throttlingBurstLimit": 100,
        "detailedMetricsEnabled": True,
    }
    assert stage.inputs["routeSettings"] == [
        {"routeKey": key, "throttlingRateLimit": 50, "throttlingBurstLimit": 100, "detailedMetricsEnabled": True}
        for key in ("GET /orders/{order_id}", "POST /orders")
    ]
    assert (stage.inputs["name"], stage.inputs["autoDeploy"]) == ("$default", True)


def test_rest_stage_is_live_with_xray_and_json_access_logs(rest: Graph) -> None:
    stage = rest.one(REST_STAGE)
    assert (stage.inputs["stageName"], stage.inputs["xrayTracingEnabled"]) == ("live", True)
    fields = json.loads(stage.inputs["accessLogSettings"]["format"])
    assert {"requestId", "client", "route", "status", "latencyMs", "integrationError"} <= set(fields)
    logs = rest.one("aws:cloudwatch/logGroup:LogGroup", "front-access-logs")
    assert stage.inputs["accessLogSettings"]["destinationArn"] == logs.outputs["arn"]
    assert logs.inputs["retentionInDays"] == 30


def test_rest_execution_log_group_is_managed_with_retention(rest: Graph) -> None:
    group = rest.one("aws:cloudwatch/logGroup:LogGroup", "front-execution-logs")
    api_id = rest.one("aws:apigateway/restApi:RestApi").outputs["id"]
    assert (group.inputs["name"], group.inputs["retentionInDays"]) == (f"API-Gateway-Execution-Logs_{api_id}/live", 30)


def test_sync_integration_timeout_is_function_timeout_plus_one_second(rest: Graph, http: Graph) -> None:
    rest_get = rest.one("aws:apigateway/integration:Integration", "front-integration-get-orders-order-id")
    http_get = http.one("aws:apigatewayv2/integration:Integration", "front-integration-get-orders-order-id")
    assert (rest_get.inputs["type"], rest_get.inputs["timeoutMilliseconds"]) == ("AWS_PROXY", 11000)
    assert (http_get.inputs["integrationType"], http_get.inputs["timeoutMilliseconds"]) == ("AWS_PROXY", 11000)
    assert http_get.inputs["payloadFormatVersion"] == "2.0"


def test_timeout_is_capped_at_the_flavour_limit() -> None:
    rest = build("rest", fn_args={"timeout": 28})
    http = build("http", fn_args={"timeout": 29})
    assert rest.one("aws:apigateway/integration:Integration").inputs["timeoutMilliseconds"] == 29000
    assert http.one("aws:apigatewayv2/integration:Integration").inputs["timeoutMilliseconds"] == 30000


def test_rest_async_route_invokes_with_event_type_and_answers_202(rest: Graph) -> None:
    integration = rest.one("aws:apigateway/integration:Integration", "front-integration-put-orders-order-id")
    assert integration.inputs["type"] == "AWS"
    assert integration.inputs["requestParameters"] == {"integration.request.header.X-Amz-Invocation-Type": "'Event'"}
    assert integration.inputs["timeoutMilliseconds"] == 5000
    assert (
        rest.one("aws:apigateway/integrationResponse:IntegrationResponse", "front-accepted-put-orders-order-id").inputs[
            "statusCode"
        ]
        == "202"
    )


def test_rest_queue_route_sends_the_body_to_sqs_with_a_scoped_role(rest: Graph) -> None:
    integration = rest.one("aws:apigateway/integration:Integration", "front-integration-post-orders")
    assert integration.inputs["uri"] == "arn:aws:apigateway:eu-west-1:sqs:path/123456789012/shop-dev-inbox"
    # The message is the request's envelope (rendered in test_throttled_api_envelope).
    assert integration.inputs["requestTemplates"] == {
        "application/json": "Action=SendMessage&MessageBody="
        + rest_envelope_form("POST /orders", ("Content-Type", "Idempotency-Key", "X-Signature"))
    }
    role = rest.one("aws:iam/role:Role", "front-integration-role")
    assert integration.inputs["credentials"] == role.outputs["arn"]
    policy = json.loads(rest.one("aws:iam/rolePolicy:RolePolicy", "front-integration-send").inputs["policy"])
    assert policy["Statement"] == [
        {
            "Action": ["sqs:SendMessage"],
            "Effect": "Allow",
            "Resource": ["arn:aws:sqs:eu-west-1:123456789012:shop-dev-inbox"],
        }
    ]


def test_http_queue_route_uses_the_sqs_send_message_subtype(http: Graph) -> None:
    integration = http.one("aws:apigatewayv2/integration:Integration", "front-integration-post-orders")
    assert integration.inputs["integrationSubtype"] == "SQS-SendMessage"
    assert integration.inputs["requestParameters"] == {
        "QueueUrl": "https://sqs.eu-west-1.amazonaws.com/123456789012/shop-dev-inbox",
        "MessageBody": http_envelope(
            "POST /orders", "/orders", ("Content-Type", "Idempotency-Key", "X-Signature"), query=()
        ),
    }


def test_rest_body_schema_and_parameters_are_validated_at_the_edge(rest: Graph) -> None:
    method = rest.one("aws:apigateway/method:Method", "front-method-put-orders-order-id")
    validator = rest.one("aws:apigateway/requestValidator:RequestValidator")
    model = rest.one("aws:apigateway/model:Model")
    assert method.inputs["requestValidatorId"] == validator.outputs["id"]
    assert method.inputs["requestModels"] == {"application/json": model.inputs["name"]}
    assert method.inputs["requestParameters"] == {
        "method.request.path.order_id": True,
        "method.request.header.Idempotency-Key": True,
    }
    assert json.loads(model.inputs["schema"]) == {"type": "object", "required": ["items"]}
    bad_body = rest.one("aws:apigateway/response:Response", "front-response-bad_request_body")
    # The validation detail is unquoted and holds quotes: it cannot go into JSON (test_throttled_api_answers).
    assert bad_body.inputs["responseTemplates"]["application/json"] == (
        '{"message": $context.error.messageString, "requestId": "$context.requestId"}'
    )


def test_throttled_clients_get_429_with_retry_after(rest: Graph) -> None:
    throttled = rest.one("aws:apigateway/response:Response", "front-response-throttled")
    assert throttled.inputs["statusCode"] == "429"
    assert throttled.inputs["responseParameters"] == {"gatewayresponse.header.Retry-After": "'1'"}


def test_permissions_are_scoped_to_api_stage_method_and_path(rest: Graph, http: Graph) -> None:
    rest_arn = rest.one("aws:apigateway/restApi:RestApi").outputs["executionArn"]
    http_arn = http.one("aws:apigatewayv2/api:Api").outputs["executionArn"]
    assert rest.one("aws:lambda/permission:Permission", "front-invoke-get-orders-order-id").inputs["sourceArn"] == (
        f"{rest_arn}/live/GET/orders/*"
    )
    assert http.one("aws:lambda/permission:Permission").inputs["sourceArn"] == f"{http_arn}/*/GET/orders/*"


def test_alarms_on_5xx_rate_4xx_rate_and_p99_latency(rest: Graph, http: Graph) -> None:
    rest_alarms = {a.inputs["metricName"]: a.inputs for a in rest.children_of(rest.one("ThrottledApi"), "MetricAlarm")}
    assert {k: v.get("threshold") for k, v in rest_alarms.items()} == {
        "5XXError": 0.01,
        "4XXError": 0.1,
        "Latency": 8800,
    }
    assert rest_alarms["Latency"]["extendedStatistic"] == "p99"
    http_alarms = {a.inputs["metricName"] for a in http.children_of(http.one("ThrottledApi"), "MetricAlarm")}
    assert http_alarms == {"5xx", "4xx", "Latency"}


def test_usage_plans_make_a_key_per_client_and_require_it(rest: Graph) -> None:
    graph = build(
        "rest", extra={"usage_plans": {"acme": {"rate": 10, "burst": 20, "quota": {"limit": 1000, "period": "DAY"}}}}
    )
    plan = graph.one("aws:apigateway/usagePlan:UsagePlan")
    assert plan.inputs["throttleSettings"] == {"rateLimit": 10, "burstLimit": 20}
    assert plan.inputs["quotaSettings"] == {"limit": 1000, "period": "DAY"}
    assert graph.one("aws:apigateway/method:Method").inputs["apiKeyRequired"] is True
    assert graph.exports["keys"] == "[secret]"  # key values never show in plain text
    assert graph.one("aws:apigateway/usagePlanKey:UsagePlanKey").inputs["keyType"] == "API_KEY"


def test_waf_blocks_an_ip_above_its_rate() -> None:
    graph = build("rest", extra={"waf_rate_limit": 1000})
    acl = graph.one("aws:wafv2/webAcl:WebAcl")
    assert acl.inputs["rules"][0]["statement"] == {"rateBasedStatement": {"limit": 1000, "aggregateKeyType": "IP"}}
    assert (
        graph.one("aws:wafv2/webAclAssociation:WebAclAssociation").inputs["resourceArn"]
        == (graph.one(REST_STAGE).outputs["arn"])
    )


def test_http_cors() -> None:
    graph = build("http", extra={"cors": {"allow_origins": ["https://shop.example"], "allow_methods": ["GET"]}})
    assert graph.one("aws:apigatewayv2/api:Api").inputs["corsConfiguration"] == {
        "allowOrigins": ["https://shop.example"],
        "allowMethods": ["GET"],
    }


def test_outputs_and_capacity_summary(rest: Graph) -> None:
    outputs = rest.outputs_of(rest.one("ThrottledApi"))
    assert outputs["url"] == rest.exports["url"]
    assert outputs["url"].endswith(".execute-api.eu-west-1.amazonaws.com/live")
    get_route = outputs["routes"][0]
    assert get_route == {
        "route": "GET /orders/{order_id}",
        "target": "function get (sync)",
        "integration_timeout_ms": 11000,
        "rate": 50,
        "burst": 100,
        "auth": "none",
        "function_timeout_s": 10,
        "expected_latency_ms": 10000,
        "concurrency_limit": 10,
        "concurrency_needed": 500,
    }


def test_the_rules_pass_on_both_flavours(rest: Graph, http: Graph) -> None:
    api_rules = {
        "api-stage-throttled",
        "api-access-logs",
        "api-timeout-chain",
        "lambda-permission-scoped",
        "log-group-retention",
        "iam-no-wildcards",
        "tags-required",
        "alarm-has-actions",
    }
    for graph in (rest, http):
        api = graph.one("ThrottledApi")
        mine = {r.urn for r in graph.descendants_of(api)}
        found = [f for f in rules.check(graph, waived={}) if f.urn in mine and f.rule in api_rules]
        assert [f for f in found if f.rule != "alarm-has-actions"] == []


def test_capacity_rule_warns_when_the_api_admits_more_than_the_function_serves(rest: Graph) -> None:
    found = [f.message for f in rules.check(rest, waived={}) if f.rule == "api-capacity"]
    assert found == [
        "GET /orders/{order_id}: 50 rps x 10000 ms needs 500 concurrent executions, the function "
        "reserves 10: excess is throttled by Lambda, not shed at the edge"
    ]


# --- bad input --------------------------------------------------------------------------------------
def errors_of(flavor: str = "rest", routes: Any = None, **args: Any) -> list[str]:
    def program() -> None:
        fn = ResilientFunction("get", {"handler": "app.handlers.orders.lambda_handler", "code": HANDLERS})
        given = routes(fn) if callable(routes) else [{"method": "GET", "path": "/orders", "function": fn}]
        ThrottledApi("front", {"flavor": flavor, "routes": given, **args})

    with pytest.raises(ConfigError) as raised:
        run_program(program)
    assert str(raised.value).startswith("ThrottledApi 'front': ")
    return raised.value.problems


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            {"throttle": {"rate": 0, "burst": 10}},
            "throttle.rate=0 is outside 0.001 to 10000.0 requests per second "
            "(never 0: a zero throttle rejects every request)",
        ),
        ({"throttle": {"rate": 10, "burst": 0}}, "throttle.burst=0 is outside 1 to 5000 (API Gateway account burst)"),
        (
            {"throttle": {"rate": 100, "burst": 50}},
            "throttle.burst=50 is below throttle.rate=100: the bucket must hold at least one second of the rate",
        ),
        ({"flavor": "soap"}, "flavor='soap' is not one of 'rest', 'http'"),
        (
            {"flavor": "http", "usage_plans": {"acme": {}}},
            "usage_plans are REST only: HTTP APIs have no API keys or usage plans",
        ),
        ({"flavor": "http", "waf_rate_limit": 100}, "waf_rate_limit is REST only: WAF cannot be attached to HTTP APIs"),
        ({"flavor": "http", "tracing": True}, "tracing=True is REST only: HTTP APIs have no X-Ray tracing"),
        ({"waf_rate_limit": 5}, "waf_rate_limit=5 is outside 10 to 2000000000 requests per IP per 5 minutes"),
        (
            {"usage_plans": {"acme": {"quota": {"limit": 10, "period": "YEAR"}}}},
            "usage_plans['acme'].quota.period='YEAR' is not one of 'DAY', 'WEEK', 'MONTH'",
        ),
        ({"log_retention_days": 2}, "log_retention_days=2 is not one of 1, 3, 5"),
        ({"cors": {"allow_origins": []}}, "cors.allow_origins needs at least one origin"),
        ({"routes": []}, "routes is required: at least one route"),
    ],
)
def test_bad_api_arguments(args: dict[str, Any], message: str) -> None:
    flavor = args.pop("flavor", "rest")
    routes = args.pop("routes", None)
    problems = errors_of(flavor, (lambda fn: routes) if routes is not None else None, **args)
    assert any(p.startswith(message) for p in problems), problems


@pytest.mark.parametrize(
    ("route", "message"),
    [
        ({"method": "FETCH", "path": "/orders"}, "routes[0].method='FETCH' is not one of 'GET', 'POST'"),
        ({"method": "GET", "path": "orders"}, "routes[0].path='orders' must look like /orders/{order_id}"),
        ({"method": "GET", "path": "/orders/"}, "routes[0].path='/orders/' must look like"),
        ({"method": "GET", "path": "/a/{proxy+}/b"}, "routes[0].path='/a/{proxy+}/b' must look like"),
        (
            {"method": "GET", "path": "/orders", "timeout_ms": 30000},
            "routes[0].timeout_ms=30000 is outside 50 to 29000 ms (API Gateway REST integration timeout)",
        ),
        (
            {"method": "GET", "path": "/orders", "timeout_ms": 10000},
            "routes[0]: function 'get' times out after 10 s, not before the integration timeout of 10000 ms: "
            "the function must give up before the gateway does",
        ),
        (
            {"method": "GET", "path": "/orders", "mode": "async"},
            "routes[0].mode='async' does not match the function's invocation='sync'",
        ),
        (
            {"method": "GET", "path": "/orders", "throttle": {"rate": 5, "burst": 1}},
            "routes[0].throttle.burst=1 is below routes[0].throttle.rate=5",
        ),
        (
            {"method": "POST", "path": "/orders", "body_schema": {"type": "thing"}},
            "routes[0].body_schema is not a valid JSON schema (draft 4, as API Gateway models use): ",
        ),
        (
            {"method": "GET", "path": "/orders", "required_params": ["cookie.session"]},
            "routes[0].required_params entry 'cookie.session' must be querystring.<name> or header.<name>",
        ),
        ({"method": "GET", "path": "/orders", "timeuot_ms": 1}, "unknown routes[0] key 'timeuot_ms'"),
    ],
)
def test_bad_routes(route: dict[str, Any], message: str) -> None:
    problems = errors_of("rest", lambda fn: [{"function": fn, **route}])
    assert any(p.startswith(message) for p in problems), problems


def test_http_rejects_what_it_cannot_do() -> None:
    problems = errors_of(
        "http", lambda fn: [{"method": "GET", "path": "/orders", "function": fn, "body_schema": {"type": "object"}}]
    )
    assert problems == [
        "routes[0]: request validation (body_schema, required_params) is REST only; HTTP APIs do not validate "
        "(a route of an AsyncJobWorkflow: build it with api_flavor='http')"
    ]


def test_async_lambda_routes_are_rest_only() -> None:
    def routes(fn: ResilientFunction) -> list[dict[str, Any]]:
        writer = ResilientFunction(
            "put", {"handler": "app.handlers.orders.lambda_handler", "code": HANDLERS, "invocation": "async"}
        )
        return [{"method": "PUT", "path": "/o", "function": writer, "mode": "async"}]

    problems = errors_of("http", routes)
    assert problems == [
        "routes[0].mode='async' is not supported by HTTP APIs (no Event invocation); "
        "use flavor='rest' or a queue target"
    ]


def test_targets_are_checked() -> None:
    assert errors_of("rest", lambda fn: [{"method": "GET", "path": "/a"}]) == [
        "routes[0] needs exactly one target: function or queue"
    ]
    assert errors_of("rest", lambda fn: [{"method": "GET", "path": "/a", "queue": "my-queue"}]) == [
        "routes[0].queue must be an aws.sqs.Queue or a PriorityQueuePair (sent to its high queue), got str"
    ]
    assert errors_of("rest", lambda fn: [{"method": "GET", "path": "/a", "function": "fn"}]) == [
        "routes[0].function must be a ResilientFunction, got str"
    ]


def test_duplicate_routes_and_conflicting_path_variables() -> None:
    problems = errors_of(
        "rest",
        lambda fn: [
            {"method": "GET", "path": "/orders/{id}", "function": fn},
            {"method": "GET", "path": "/orders/{id}", "function": fn},
            {"method": "GET", "path": "/orders/{order_id}/items", "function": fn},
        ],
    )
    assert problems == [
        "duplicate route 'GET /orders/{id}'",
        "path variables {id} and {order_id} sit at the same place under /orders: API Gateway needs one name",
    ]


def test_bad_input_registers_nothing() -> None:
    def program() -> None:
        fn = ResilientFunction("get", {"handler": "app.handlers.orders.lambda_handler", "code": HANDLERS})
        with pytest.raises(ConfigError):
            ThrottledApi(
                "front", {"routes": [{"method": "GET", "path": "/a", "function": fn}], "throttle": {"rate": 0}}
            )

    graph = run_program(program)
    assert graph.of_type("ThrottledApi") == [] and graph.of_type("aws:apigateway/restApi:RestApi") == []


def test_rest_cors_answers_preflight_without_an_invocation() -> None:
    graph = build("rest", routes="all", extra={"cors": {"allow_origins": ["https://shop.example"]}})
    preflights = [m for m in graph.of_type("aws:apigateway/method:Method") if m.inputs["httpMethod"] == "OPTIONS"]
    assert len(preflights) == 2  # /orders and /orders/{order_id}
    mock = graph.one("aws:apigateway/integration:Integration", "front-preflight-orders")
    assert mock.inputs["type"] == "MOCK"
    answer = graph.one("aws:apigateway/integrationResponse:IntegrationResponse", "front-preflight-answer-orders")
    assert answer.inputs["responseParameters"]["method.response.header.Access-Control-Allow-Origin"] == (
        "'https://shop.example'"
    )
    error = graph.one("aws:apigateway/response:Response", "front-response-default_4xx")
    assert error.inputs["responseParameters"] == {
        "gatewayresponse.header.Access-Control-Allow-Origin": "'https://shop.example'"
    }
    accepted = graph.one("aws:apigateway/integrationResponse:IntegrationResponse", "front-accepted-post-orders")
    assert accepted.inputs["responseParameters"] == {
        "method.response.header.Access-Control-Allow-Origin": "'https://shop.example'"
    }


def test_rest_cors_takes_one_origin() -> None:
    problems = errors_of("rest", cors={"allow_origins": ["https://a.example", "https://b.example"]})
    assert problems == [
        "cors.allow_origins=['https://a.example', 'https://b.example']: a REST API answers with one "
        "static origin (or '*'); use one origin or flavor='http'"
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"stage_name": "my stage"}, "stage_name='my stage' must be letters, digits, - or _ (or $default on HTTP)"),
        ({"usage_plans": {"a b": {}}}, "usage_plans key 'a b' must be 1 to 64 letters, digits, - or _"),
        (
            {"usage_plans": {"acme": {"quota": {"limit": 0, "period": "DAY"}}}},
            "usage_plans['acme'].quota.limit=0 is outside 1 to 2000000000",
        ),
        (
            {"transform": {"apis": {}}},
            "unknown transform key 'apis': did you mean 'api'? (valid transform keys: access_logs, alarm, api,",
        ),
        (
            {"rate": 5},
            "unknown argument 'rate' (valid arguments: account, account_managed_elsewhere, alarm_topic_arn, cors,",
        ),
    ],
)
def test_more_bad_api_arguments(args: dict[str, Any], message: str) -> None:
    problems = errors_of("rest", **args)
    assert any(p.startswith(message) for p in problems), problems


def test_expected_latency_is_bounded() -> None:
    problems = errors_of("rest", lambda fn: [{"method": "GET", "path": "/a", "function": fn, "expected_latency_ms": 0}])
    assert problems == ["routes[0].expected_latency_ms=0 is outside 1 to 900000 ms"]


def test_default_stage_names() -> None:
    assert build("rest").one(REST_STAGE).inputs["stageName"] == "live"
    http = build("http")
    assert http.one(HTTP_STAGE).inputs["name"] == "$default"
    assert http.exports["url"].endswith(".amazonaws.com/")


def test_the_default_flavour_is_rest() -> None:
    def program() -> None:
        fn = ResilientFunction("get", {"handler": "app.handlers.orders.lambda_handler", "code": HANDLERS})
        ThrottledApi("front", {"routes": [{"method": "GET", "path": "/a", "function": fn}]})

    graph = run_program(program)
    assert len(graph.of_type("aws:apigateway/restApi:RestApi")) == 1
    assert graph.of_type("aws:apigatewayv2/api:Api") == []


def test_throttle_and_route_must_be_dicts() -> None:
    assert "throttle=50 must be a dict with rate and burst" in errors_of("rest", throttle=50)
    assert errors_of("rest", lambda fn: ["GET /orders"]) == ["routes[0]='GET /orders' must be a dict"]


def test_api_gateway_account_role_can_push_logs() -> None:
    from resilient_serverless.components import ApiGatewayAccount

    graph = run_program(lambda: ApiGatewayAccount("apigw"), project="shop", stack="dev")
    role = graph.one("aws:iam/role:Role")
    assert json.loads(role.inputs["assumeRolePolicy"])["Statement"][0]["Principal"] == {
        "Service": "apigateway.amazonaws.com"
    }
    attachment = graph.one("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
    assert attachment.inputs["policyArn"] == "arn:aws:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs"
    assert graph.one("aws:apigateway/account:Account").inputs["cloudwatchRoleArn"] == role.outputs["arn"]


def api(extra: dict[str, Any]) -> Any:
    def program() -> None:
        fn = ResilientFunction("get", {"handler": "app.handlers.orders.lambda_handler", "code": HANDLERS})
        ThrottledApi("front", {"flavor": "rest", "routes": [{"method": "GET", "path": "/x", "function": fn}], **extra})

    return run_program(program, project="shop", stack="dev")


def test_an_api_throttle_with_burst_equal_to_rate_is_accepted() -> None:
    graph = api({"throttle": {"rate": 20, "burst": 20}})
    stage_wide = graph.one("aws:apigateway/methodSettings:MethodSettings", "front-stage-settings")
    assert (
        stage_wide.inputs["settings"]["throttlingRateLimit"],
        stage_wide.inputs["settings"]["throttlingBurstLimit"],
    ) == (20, 20)


def test_an_api_burst_one_below_the_rate_is_refused() -> None:
    with pytest.raises(ConfigError) as raised:
        api({"throttle": {"rate": 20, "burst": 19}})
    assert "throttle.burst=19 is below throttle.rate=20: the bucket must hold at least one second of the rate" in (
        raised.value.problems
    )


def test_a_usage_plan_without_a_throttle_gets_the_stage_default_of_50_and_100() -> None:
    graph = api({"usage_plans": {"acme": {"quota": {"limit": 1000, "period": "DAY"}}}})
    plan = graph.one("aws:apigateway/usagePlan:UsagePlan", "front-plan-acme")
    assert plan.inputs["throttleSettings"] == {"rateLimit": 50, "burstLimit": 100}, plan.urn
