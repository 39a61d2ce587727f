"""WebSocketNotifier under Pulumi mocks: routes, stage throttles, the connection table, scoped
permissions, the PushChannel contract, defaults pinned one by one, dependencies in the captured
graph and every bad input named before anything is created."""

from __future__ import annotations

import json
from typing import Any

import pulumi
import pulumi_aws as aws
import pytest
from resilient_serverless.components import ApiGatewayAccount, ConfigError, WebSocketNotifier, defaults
from resilient_serverless.components.resilient_function import ResilientFunctionArgs
from resilient_serverless.components.testing import AwsMocks, Graph, run_program

from tests.conftest import HANDLERS

WS_STAGE = "aws:apigatewayv2/stage:Stage"
ROUTE = "aws:apigatewayv2/route:Route"
POLICY = "aws:iam/rolePolicy:RolePolicy"
FUNCTION = "aws:lambda/function:Function"


def notifier_program(extra: dict[str, Any] | None = None, *, bind: bool = True, account: bool = False) -> Any:
    def program() -> None:
        jobs = aws.dynamodb.Table(
            "jobs", name="shop-dev-jobs", hash_key="job_id", attributes=[{"name": "job_id", "type": "S"}]
        )
        args: dict[str, Any] = {"code": HANDLERS, **(extra or {})}
        if account:
            args["gateway_account"] = ApiGatewayAccount("gw-account")
        push = WebSocketNotifier("push", args)
        if bind:
            push.bind_jobs(jobs.name, jobs.arn)
        states = push.workflow_states(
            status="succeeded", entry="PushSucceeded", next_state="Done", fallback_state="Poll"
        )
        definition = pulumi.Output.json_dumps(
            {
                "StartAt": "PushSucceeded",
                "States": {**states, "Done": {"Type": "Succeed"}, "Poll": {"Type": "Succeed"}},
            }
        )
        role = aws.iam.Role("sfn-role", assume_role_policy="{}")
        aws.iam.RolePolicy(
            "sfn-push",
            role=role.id,
            policy=pulumi.Output.json_dumps({"Version": "2012-10-17", "Statement": push.state_machine_statements()}),
        )
        aws.sfn.StateMachine("jobs-flow", role_arn=role.arn, definition=definition)
        pulumi.export("url", push.url)

    return program


def build(extra: dict[str, Any] | None = None, **kwargs: Any) -> Graph:
    return run_program(notifier_program(extra, **kwargs), project="shop", stack="dev")


@pytest.fixture(scope="module")
def graph() -> Graph:
    return build()


def route_settings(graph: Graph) -> dict[str, dict[str, Any]]:
    return {s["routeKey"]: s for s in graph.one(WS_STAGE).inputs["routeSettings"]}


# --- defaults, one test each -------------------------------------------------------------------------
def test_the_api_is_websocket_and_routes_on_the_action_field(graph: Graph) -> None:
    api = graph.one("aws:apigatewayv2/api:Api")
    assert (api.inputs["protocolType"], api.inputs["routeSelectionExpression"]) == (
        "WEBSOCKET",
        "$request.body.action",
    )
    assert sorted(r.inputs["routeKey"] for r in graph.of_type(ROUTE)) == [
        "$connect",
        "$default",
        "$disconnect",
        "subscribe",
    ]


def test_url_is_wss_with_the_stage(graph: Graph) -> None:
    api = graph.one("aws:apigatewayv2/api:Api")
    assert graph.exports["url"] == f"wss://{api.outputs['id']}.execute-api.eu-west-1.amazonaws.com/live"


def test_stage_throttle_defaults_to_50_per_s_burst_100(graph: Graph) -> None:
    stage = graph.one(WS_STAGE)
    assert stage.inputs["name"] == "live"
    assert stage.inputs["defaultRouteSettings"] == {
        "throttlingRateLimit": 50,
        "throttlingBurstLimit": 100,
        "detailedMetricsEnabled": True,
    }


def test_connect_admits_100_per_s_burst_200_a_fifth_of_the_account_quota(graph: Graph) -> None:
    connect = route_settings(graph)["$connect"]
    assert (connect["throttlingRateLimit"], connect["throttlingBurstLimit"]) == (100, 200)
    quota = graph.outputs_of(graph.one("WebSocketNotifier"))["connect_quota"]
    assert quota == {
        "connect_rate": 100,
        "connect_burst": 200,
        "account_quota_per_s": 500,
        "share_of_account_quota": 0.2,
        "apis_like_this_per_account": 5,
        "connections_per_2h_at_rate": 720000,
    }


def test_every_route_has_an_explicit_non_zero_throttle(graph: Graph) -> None:
    settings = route_settings(graph)
    assert set(settings) == {"$connect", "$disconnect", "subscribe", "$default"}
    for key in ("$disconnect", "subscribe", "$default"):
        assert (settings[key]["throttlingRateLimit"], settings[key]["throttlingBurstLimit"]) == (50, 100), key


def test_token_connect_requires_job_id_and_token_query_parameters(graph: Graph) -> None:
    connect = next(r for r in graph.of_type(ROUTE) if r.inputs["routeKey"] == "$connect")
    assert connect.inputs["authorizationType"] == "NONE"
    assert connect.inputs["requestParameters"] == [
        {"requestParameterKey": "route.request.querystring.job_id", "required": True},
        {"requestParameterKey": "route.request.querystring.token", "required": True},
    ]
    socket = graph.one(FUNCTION, "push-socket-function")
    assert socket.inputs["environment"]["variables"]["PUSH_CONNECT_AUTH"] == "token"


def test_iam_connect_is_signed_and_has_no_token_parameters() -> None:
    graph = build({"connect_auth": "iam"})
    connect = next(r for r in graph.of_type(ROUTE) if r.inputs["routeKey"] == "$connect")
    assert connect.inputs["authorizationType"] == "AWS_IAM"
    assert "requestParameters" not in connect.inputs


def test_subscribe_and_default_answer_on_the_socket_through_a_route_response(graph: Graph) -> None:
    routes = {r.inputs["routeKey"]: r for r in graph.of_type(ROUTE)}
    responses = graph.of_type("aws:apigatewayv2/routeResponse:RouteResponse")
    assert sorted(r.inputs["routeId"] for r in responses) == sorted(
        routes[k].outputs["id"] for k in ("subscribe", "$default")
    )
    assert all(r.inputs["routeResponseKey"] == "$default" for r in responses)
    for key in ("subscribe", "$default"):
        assert routes[key].inputs["routeResponseSelectionExpression"] == "$default", key


def test_integration_timeout_is_the_function_timeout_plus_one_second(graph: Graph) -> None:
    integration = graph.one("aws:apigatewayv2/integration:Integration")
    socket = graph.one(FUNCTION, "push-socket-function")
    assert (integration.inputs["integrationType"], integration.inputs["timeoutMilliseconds"]) == ("AWS_PROXY", 11000)
    assert integration.inputs["integrationUri"] == socket.outputs["invokeArn"]


def test_access_logs_are_json_with_the_connection_and_kept_30_days(graph: Graph) -> None:
    stage = graph.one(WS_STAGE)
    fields = json.loads(stage.inputs["accessLogSettings"]["format"])
    assert {"requestId", "route", "status", "integrationError", "connectionId", "eventType"} <= set(fields)
    assert fields["route"] == "$context.routeKey"
    logs = graph.one("aws:cloudwatch/logGroup:LogGroup", "push-access-logs")
    assert stage.inputs["accessLogSettings"]["destinationArn"] == logs.outputs["arn"]
    assert logs.inputs["retentionInDays"] == 30


def test_connection_table_has_ttl_encryption_and_no_index(graph: Graph) -> None:
    # who to notify lives on the job item (read consistently), not in an eventually consistent index
    table = graph.one("aws:dynamodb/table:Table", "push-connections")
    assert table.inputs["hashKey"] == "connection_id"
    assert table.inputs["attributes"] == [{"name": "connection_id", "type": "S"}]
    assert table.inputs["ttl"] == {"attributeName": "expires_at", "enabled": True}
    assert "globalSecondaryIndexes" not in table.inputs
    assert table.inputs["serverSideEncryption"] == {"enabled": True}
    assert table.inputs["billingMode"] == "PAY_PER_REQUEST"


def test_notify_gets_delivery_defaults_32k_inline_900s_urls_8_in_flight(graph: Graph) -> None:
    env = graph.one(FUNCTION, "push-notify-function").inputs["environment"]["variables"]
    api = graph.one("aws:apigatewayv2/api:Api")
    assert env["PUSH_INLINE_MAX_BYTES"] == "32768"
    assert env["PUSH_RESULT_URL_TTL_S"] == "900"
    assert env["PUSH_NOTIFY_CONCURRENCY"] == "8"
    assert env["PUSH_ENDPOINT"] == f"https://{api.outputs['id']}.execute-api.eu-west-1.amazonaws.com/live"
    socket = graph.one(FUNCTION, "push-socket-function").inputs["environment"]["variables"]
    assert (socket["PUSH_INLINE_MAX_BYTES"], socket["PUSH_RESULT_URL_TTL_S"]) == ("32768", "900")


def test_the_push_state_is_one_request_response_invoke_of_notify(graph: Graph) -> None:
    machine = graph.one("aws:sfn/stateMachine:StateMachine")
    states = json.loads(machine.inputs["definition"])["States"]
    notify = graph.one(FUNCTION, "push-notify-function")
    push = states["PushSucceeded"]
    assert push["Resource"] == "arn:aws:states:::lambda:invoke"  # Express runs no other pattern
    assert "HeartbeatSeconds" not in push and push["TimeoutSeconds"] == 15  # notify's 10 s + 5
    assert push["Parameters"] == {
        "FunctionName": notify.outputs["arn"],
        "Payload": {"job_id.$": "$.job_id", "status": "succeeded"},
    }
    assert push["Catch"] == [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.push_error", "Next": "Poll"}]
    assert push["Next"] == "Done"
    assert sorted(f.name for f in graph.of_type(FUNCTION)) == ["push-notify-function", "push-socket-function"]


def test_workflow_states_refuse_a_status_the_workflow_never_records() -> None:
    def program() -> None:
        push = WebSocketNotifier("push", {"code": HANDLERS})
        with pytest.raises(ConfigError) as raised:
            push.workflow_states(status="running", entry="PushRunning", next_state="Done", fallback_state="Poll")
        assert raised.value.problems == ["status='running' is not one of 'succeeded', 'failed', 'timed_out'"]

    run_program(program)


def test_alarms_cover_errors_and_rates_against_the_throttles(graph: Graph) -> None:
    alarms = {a.name: a.inputs for a in graph.children_of(graph.one("WebSocketNotifier"), "MetricAlarm")}
    assert {n: (a["metricName"], a["threshold"]) for n, a in alarms.items()} == {
        "push-alarm-integration-errors": ("IntegrationError", 0),
        "push-alarm-execution-errors": ("ExecutionError", 0),
        "push-alarm-connect-rate": ("ConnectCount", 4800),  # 100/s x 60 s x 80%
        "push-alarm-message-rate": ("MessageCount", 2400),  # 50/s x 60 s x 80%
        "push-alarm-push-failed": ("PushFailed", 0),
    }
    failed = alarms["push-alarm-push-failed"]
    assert (failed["namespace"], failed["dimensions"]) == ("shop", {"service": "push-notify"})


# --- permissions -------------------------------------------------------------------------------------
def test_manage_connections_is_scoped_to_post_on_this_stage_connections(graph: Graph) -> None:
    api = graph.one("aws:apigatewayv2/api:Api")
    policy = graph.one(POLICY, "push-notify-manage-connections")
    statement = json.loads(policy.inputs["policy"])["Statement"]
    assert statement == [
        {
            "Effect": "Allow",
            "Action": ["execute-api:ManageConnections"],
            "Resource": [f"{api.outputs['executionArn']}/live/POST/@connections/*"],
        }
    ]
    notify_role = graph.one("aws:iam/role:Role", "push-notify-role")
    assert policy.inputs["role"] == notify_role.outputs["id"]


def test_api_gateway_may_invoke_the_socket_function_from_each_route_only(graph: Graph) -> None:
    api = graph.one("aws:apigatewayv2/api:Api")
    sources = sorted(p.inputs["sourceArn"] for p in graph.of_type("aws:lambda/permission:Permission"))
    assert sources == sorted(
        f"{api.outputs['executionArn']}/live/{k}" for k in ("$connect", "$disconnect", "subscribe", "$default")
    )


def test_bind_jobs_names_the_table_and_grants_read_and_update(graph: Graph) -> None:
    jobs = graph.one("aws:dynamodb/table:Table", "jobs")
    for role in ("socket", "notify"):
        fn = graph.one(FUNCTION, f"push-{role}-function")
        assert fn.inputs["environment"]["variables"]["JOBS_TABLE"] == "shop-dev-jobs", fn.urn
        grant = graph.one(POLICY, f"push-{role}-grant-jobs")
        assert json.loads(grant.inputs["policy"])["Statement"] == [
            {
                "Effect": "Allow",
                "Action": ["dynamodb:GetItem", "dynamodb:UpdateItem"],
                "Resource": [jobs.outputs["arn"]],
            }
        ]


def test_a_notifier_no_workflow_binds_names_no_table_and_is_granted_none() -> None:
    # GIVEN a notifier alone (a socket for the user's own messages) WHEN the program runs
    graph = build(bind=False)
    # THEN every function gets the "(none)" marker (never an empty name) and no job-table grant
    for role in ("socket", "notify"):
        env = graph.one(FUNCTION, f"push-{role}-function").inputs["environment"]["variables"]
        assert env["JOBS_TABLE"] == "(none)", role
    assert graph.of_type(POLICY) and not [p for p in graph.of_type(POLICY) if p.name.endswith("grant-jobs")]


def test_the_no_job_table_marker_is_the_one_the_handlers_read() -> None:
    from resilient_serverless.components import websocket_notifier

    from handlers.push import store

    assert websocket_notifier.NO_JOB_TABLE == store.NO_JOB_TABLE


def test_binding_a_second_job_table_is_a_config_error_and_the_same_table_is_fine() -> None:
    def program() -> None:
        push = WebSocketNotifier("push", {"code": HANDLERS})
        table = pulumi.Output.from_input("a")
        push.bind_jobs(table, "arn:aws:dynamodb:eu-west-1:123456789012:table/a")
        push.bind_jobs(table, "arn:aws:dynamodb:eu-west-1:123456789012:table/a")  # a retry: nothing new
        with pytest.raises(ConfigError) as raised:
            push.bind_jobs("b", "arn:aws:dynamodb:eu-west-1:123456789012:table/b")
        assert str(raised.value) == (
            "WebSocketNotifier 'push': is already bound to a job table: one notifier serves one AsyncJobWorkflow "
            "(give each workflow its own WebSocketNotifier)"
        )

    graph = run_program(program)
    assert len([p for p in graph.of_type(POLICY) if p.name.endswith("grant-jobs")]) == 2  # socket, notify


def test_a_second_workflow_on_the_same_notifier_is_a_config_error_naming_the_cure() -> None:
    from resilient_serverless.components import AsyncJobWorkflow, ResilientFunction

    def program() -> None:
        push = WebSocketNotifier("push", {"code": HANDLERS})
        worker = ResilientFunction(
            "renderer", {"handler": "handlers.jobs.worker.lambda_handler", "code": HANDLERS, "invocation": "async"}
        )
        AsyncJobWorkflow("reports", {"worker": worker, "code": HANDLERS, "push": push})
        with pytest.raises(ConfigError, match="one notifier serves one AsyncJobWorkflow"):
            AsyncJobWorkflow("exports", {"worker": worker, "code": HANDLERS, "push": push})

    graph = run_program(program)
    # the first workflow's binding stands; the second made no state machine
    assert [m.name for m in graph.of_type("aws:sfn/stateMachine:StateMachine")] == ["reports-sm"]


def test_state_machine_statements_invoke_notify_with_qualifiers_only(graph: Graph) -> None:
    policy = graph.one(POLICY, "sfn-push")
    notify = graph.one(FUNCTION, "push-notify-function").outputs["arn"]
    assert json.loads(policy.inputs["policy"])["Statement"] == [
        {"Effect": "Allow", "Action": ["lambda:InvokeFunction"], "Resource": [notify, f"{notify}:*"]}
    ]


def test_no_function_may_send_task_success_any_more(graph: Graph) -> None:
    for policy in graph.of_type(POLICY):
        assert "states:SendTaskSuccess" not in policy.inputs["policy"], policy.urn


# --- dependencies (AWS order at create time) ----------------------------------------------------------
def test_stage_depends_on_every_route_it_names(graph: Graph) -> None:
    stage = graph.one(WS_STAGE)
    route_urns = {r.urn for r in graph.of_type(ROUTE)}
    assert route_urns <= set(stage.dependencies), stage.urn
    assert {s["routeKey"] for s in stage.inputs["routeSettings"]} == {
        r.inputs["routeKey"] for r in graph.of_type(ROUTE)
    }


def test_deployment_waits_for_routes_integration_and_route_responses(graph: Graph) -> None:
    deployment = graph.one("aws:apigatewayv2/deployment:Deployment")
    needed = {r.urn for r in graph.of_type(ROUTE)}
    needed |= {r.urn for r in graph.of_type("aws:apigatewayv2/routeResponse:RouteResponse")}
    needed.add(graph.one("aws:apigatewayv2/integration:Integration").urn)
    assert needed <= set(deployment.dependencies), deployment.urn
    assert graph.one(WS_STAGE).inputs["deploymentId"] == deployment.outputs["id"]


def test_stage_waits_for_the_invoke_permissions_and_the_logging_role() -> None:
    graph = build(account=True)
    stage = graph.one(WS_STAGE)
    permissions = {p.urn for p in graph.of_type("aws:lambda/permission:Permission")}
    assert permissions <= set(stage.dependencies)
    # Depending on a component means depending on its children: the account setting among them.
    assert graph.one("aws:apigateway/account:Account").urn in stage.dependencies


# --- a program that is not ours -----------------------------------------------------------------------
def test_foreign_program_other_names_region_stage_and_throttles() -> None:
    def program() -> None:
        WebSocketNotifier(
            "Live-Scores",
            {
                "code": HANDLERS,
                "stage_name": "v2",
                "throttle": {"rate": 5, "burst": 10},
                "connect_throttle": {"rate": 500, "burst": 500},
                "route_throttles": {"subscribe": {"rate": 1, "burst": 2}},
                "function": {"timeout": 28, "memory": 256},
                "tags": {"team": "scores"},
            },
        )

    graph = run_program(program, project="scores", stack="prod-ap", mocks=AwsMocks(region="ap-southeast-2"))
    settings = route_settings(graph)
    assert (settings["$connect"]["throttlingRateLimit"], settings["$connect"]["throttlingBurstLimit"]) == (500, 500)
    assert (settings["subscribe"]["throttlingRateLimit"], settings["subscribe"]["throttlingBurstLimit"]) == (1, 2)
    assert settings["$default"]["throttlingRateLimit"] == 5
    integration = graph.one("aws:apigatewayv2/integration:Integration")
    assert integration.inputs["timeoutMilliseconds"] == 29000
    table = graph.one("aws:dynamodb/table:Table")
    assert table.inputs["name"] == "scores-prod-ap-Live-Scores-connections"
    assert table.inputs["tags"]["team"] == "scores"
    env = graph.one(FUNCTION, "Live-Scores-notify-function").inputs["environment"]["variables"]
    assert env["PUSH_ENDPOINT"].endswith(".execute-api.ap-southeast-2.amazonaws.com/v2")


# --- bad input ----------------------------------------------------------------------------------------
VALID_ARGUMENTS = (
    "alarm_topic_arn, authorizer, authorizer_identity_sources, code, connect_auth, connect_throttle, function, "
    "gateway_account, inline_max_bytes, log_retention_days, notify_concurrency, result_url_ttl_s, route_throttles, "
    "stage_name, tags, throttle, transform"
)


def errors_of(**args: Any) -> list[str]:
    def program() -> None:
        WebSocketNotifier("push", {"code": HANDLERS, **args})

    with pytest.raises(ConfigError) as raised:
        run_program(program)
    assert str(raised.value).startswith("WebSocketNotifier 'push': ")
    return raised.value.problems


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            {"connect_throttle": {"rate": 600, "burst": 600}},
            "connect_throttle.rate=600.0 is above 500 new connections per second, the WebSocket quota per account "
            "and region: connects above it are refused by the account, not by this API",
        ),
        (
            {"throttle": {"rate": 0}},
            "throttle.rate=0 is outside 0.001 to 10000.0 requests per second (never 0: a zero throttle rejects "
            "every request)",
        ),
        (
            {"route_throttles": {"publish": {"rate": 1}}},
            "route_throttles key 'publish' is not a route (routes: $disconnect, subscribe, $default)",
        ),
        (
            {"route_throttles": {"$connect": {"rate": 1}}},
            "route_throttles['$connect'] is set through connect_throttle (it is bounded by the account quota)",
        ),
        ({"connect_auth": "basic"}, "connect_auth='basic' is not one of 'token', 'iam', 'authorizer'"),
        (
            {"callback_heartbeat_s": 120},
            "unknown argument 'callback_heartbeat_s' (valid arguments: " + VALID_ARGUMENTS + ")",
        ),
        (
            {"callback_timeout_s": 300},
            "unknown argument 'callback_timeout_s' (valid arguments: " + VALID_ARGUMENTS + ")",
        ),
        (
            {"inline_max_bytes": 200_000},
            "inline_max_bytes=200000 is outside 256 to 131072 bytes (WebSocket message limit)",
        ),
        (
            {"result_url_ttl_s": 700_000},
            "result_url_ttl_s=700000 is outside 60 to 3600 s (S3 pre-signed URL limit)",
        ),
        ({"notify_concurrency": 0}, "notify_concurrency=0 is outside 1 to 64"),
        (
            {"function": {"timeout": 29}},
            "function.timeout=29 is outside 1 to 28 seconds (the function must give up before the WebSocket "
            "integration timeout of 29000 ms)",
        ),
        (
            {"function": {"handler": "x.y"}},
            "function['handler'] is set by WebSocketNotifier; pass code at the top level",
        ),
        ({"stage_name": "live/1"}, "stage_name='live/1' must be letters, digits, - or _"),
        (
            {"log_retention_days": 2},
            "log_retention_days=2 is not one of " + ", ".join(str(d) for d in defaults.LOG_RETENTION_DAYS_ALLOWED),
        ),
    ],
)
def test_bad_input_is_named_with_its_value_and_range(args: dict[str, Any], message: str) -> None:
    assert message in errors_of(**args)


def test_a_code_without_the_push_handlers_and_an_unknown_argument_are_both_reported() -> None:
    # GIVEN the handlers directory itself as code: its contents are the package root, so no
    # top-level "handlers" package is in it
    wrong_code = f"{HANDLERS}/handlers"

    def program() -> None:
        WebSocketNotifier("push", {"routes": [], "code": wrong_code})

    with pytest.raises(ConfigError) as raised:
        run_program(program)
    assert raised.value.problems[:2] == [
        "unknown argument 'routes' (valid arguments: " + VALID_ARGUMENTS + ")",
        "code must hold the library's handlers as a top-level 'handlers' package (leave code out and "
        "WebSocketNotifier packages its own): handler='handlers.push.routes.lambda_handler': module "
        f"'handlers.push.routes' is not under code={wrong_code!r}, whose contents are the package root (looked for "
        f"{wrong_code}/handlers/push/routes.py or {wrong_code}/handlers/push/routes/__init__.py)",
    ]


FUNCTION_ARGUMENTS = ", ".join(sorted(set(ResilientFunctionArgs.__annotations__) - {"handler", "code", "invocation"}))
# Every argument of the wrong type or out of range: one exact message each, and nothing created.
BAD_INPUTS: list[tuple[dict[str, Any], list[str]]] = [
    ({"code": "/nowhere/handlers"}, ["code='/nowhere/handlers' is not an existing path"]),
    ({"code": 42}, ["code=42 must be a pulumi.Archive or a directory path"]),
    (
        {"function": {"memroy": 256}},
        [f"unknown function argument 'memroy' (valid function arguments: {FUNCTION_ARGUMENTS})"],
    ),
    (
        {"function": {"timeout": 45}},
        [
            "function.timeout=45 is outside 1 to 28 seconds (the function must give up before the WebSocket "
            "integration timeout of 29000 ms)"
        ],
    ),
    ({"function": {"timeout": "10"}}, ["function.timeout='10' must be a whole number from 1 to 28 seconds"]),
    (
        {"function": {"memory": "1024"}},
        ["function: memory='1024' must be a whole number from 128 to 10240 MB"],
    ),
    ({"function": {"environment": ["A=1"]}}, ["function: environment=['A=1'] must be a dict of names to values"]),
    ({"function": "fast"}, ["function='fast' must be a dict of ResilientFunction arguments"]),
    ({"connect_auth": {"iam": True}}, ["connect_auth={'iam': True} is not one of 'token', 'iam', 'authorizer'"]),
    (
        {"connect_auth": "authorizer", "authorizer": "arn:aws:lambda:eu-west-1:123456789012:function:auth"},
        [
            "connect_auth='authorizer' needs authorizer=<a ResilientFunction>, got "
            "'arn:aws:lambda:eu-west-1:123456789012:function:auth'"
        ],
    ),
    (
        {"authorizer_identity_sources": "route.request.header.Authorization"},
        [
            "authorizer_identity_sources='route.request.header.Authorization' must be a list of strings",
            "authorizer and authorizer_identity_sources apply only to connect_auth='authorizer', not 'token'",
        ],
    ),
    ({"stage_name": 5}, ["stage_name=5 must be letters, digits, - or _"]),
    (
        {"throttle": {"rate": "50"}},
        ["throttle.rate='50' must be a number from 0.001 to 10000.0 requests per second"],
    ),
    ({"throttle": 50}, ["throttle=50 must be a dict with rate and burst"]),
    ({"route_throttles": ["subscribe"]}, ["route_throttles=['subscribe'] must be a dict of route key to throttle"]),
    (
        {"inline_max_bytes": "32768"},
        ["inline_max_bytes='32768' must be a whole number from 256 to 131072 bytes"],
    ),
    ({"notify_concurrency": True}, ["notify_concurrency=True must be a whole number from 1 to 64"]),
    ({"notify_concurrency": 8.5}, ["notify_concurrency=8.5 must be a whole number from 1 to 64"]),
    (
        {"log_retention_days": "30"},
        ["log_retention_days='30' is not one of " + ", ".join(str(d) for d in defaults.LOG_RETENTION_DAYS_ALLOWED)],
    ),
    ({"gateway_account": "acct"}, ["gateway_account='acct' must be a Pulumi resource (e.g. ApiGatewayAccount)"]),
    ({"alarm_topic_arn": 42}, ["alarm_topic_arn=42 must be an SNS topic ARN (a string or an Output)"]),
    ({"tags": {"team": 1}}, ["tags={'team': 1} must be a dict of strings to strings"]),
    ({"transform": {"table": "x"}}, ["transform['table'] must be a dict or a callable, got 'x'"]),
]


@pytest.mark.parametrize(("args", "problems"), BAD_INPUTS, ids=[str(sorted(a)) for a, _ in BAD_INPUTS])
def test_each_bad_input_is_one_exact_message_before_any_resource(args: dict[str, Any], problems: list[str]) -> None:
    def program() -> None:
        with pytest.raises(ConfigError) as raised:
            WebSocketNotifier("push", {"code": HANDLERS, **args})
        assert raised.value.problems == problems

    graph = run_program(program)
    assert len(graph) == 0


def test_every_bad_input_at_once_is_named_in_one_error() -> None:
    def program() -> None:
        with pytest.raises(ConfigError) as raised:
            WebSocketNotifier(
                "push",
                {"code": "/nowhere", "function": {"timeout": 45, "colour": "red"}, "notify_concurrency": "8"},
            )
        assert raised.value.problems == [
            "code='/nowhere' is not an existing path",
            f"unknown function argument 'colour' (valid function arguments: {FUNCTION_ARGUMENTS})",
            "function.timeout=45 is outside 1 to 28 seconds (the function must give up before the WebSocket "
            "integration timeout of 29000 ms)",
            "notify_concurrency='8' must be a whole number from 1 to 64",
        ]

    assert len(run_program(program)) == 0


def test_bad_input_registers_nothing() -> None:
    def program() -> None:
        with pytest.raises(ConfigError):
            WebSocketNotifier("push", {"code": HANDLERS, "connect_throttle": {"rate": 501, "burst": 501}})

    graph = run_program(program)
    assert len(graph) == 0


# --- the plan ------------------------------------------------------------------------------------------
def test_plan_shows_routes_the_push_pattern_and_connection_quota_math(graph: Graph) -> None:
    import io

    from resilient_serverless.components.plan import build_plan, render_plan
    from rich.console import Console

    plan = build_plan(graph, [])
    node = next(n for n in plan["tree"] if n["type"].endswith(":WebSocketNotifier"))
    assert [r["route"] for r in node["routes"]] == ["$connect", "$disconnect", "subscribe", "$default"]
    assert node["routes"][0]["authorization"] == "job token (query parameters job_id, token)"
    assert node["settings"]["push"] == {
        "pattern": "request_response",
        "after": "the terminal status is recorded",
        "notify_task_timeout_s": 15,
    }
    assert node["settings"]["connect_quota"]["share_of_account_quota"] == 0.2
    out = io.StringIO()
    render_plan(plan, Console(file=out, width=400, color_system=None))
    text = out.getvalue()
    assert "route $connect -> function socket  throttle=100/200 timeout=11000 ms" in text
    assert "'apis_like_this_per_account': 5" in text and "'pattern': 'request_response'" in text


def test_transform_edits_a_child_and_read_results_grants_get_object_under_the_prefix() -> None:
    def program() -> None:
        push = WebSocketNotifier(
            "push",
            {"code": HANDLERS, "transform": {"table": {"point_in_time_recovery": {"enabled": True}}}},
        )
        push.read_results("arn:aws:s3:::shop-dev-results", "results/")

    graph = run_program(program)
    table = graph.one("aws:dynamodb/table:Table", "push-connections")
    assert table.inputs["pointInTimeRecovery"] == {"enabled": True}
    assert table.inputs["ttl"] == {"attributeName": "expires_at", "enabled": True}  # the rest kept
    for role in ("notify", "socket"):  # socket: a subscriber after the end is answered with the result
        grant = graph.one(POLICY, f"push-{role}-grant-results")
        assert json.loads(grant.inputs["policy"])["Statement"] == [
            {"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": ["arn:aws:s3:::shop-dev-results/results/*"]}
        ]


def test_an_unknown_transform_key_is_named() -> None:
    message = errors_of(transform={"bucket": {}})[0]
    assert message.startswith("unknown transform key 'bucket' (valid transform keys: access_logs, alarm, api,")


def test_authorizer_connect_uses_your_request_authorizer_scoped_to_this_api() -> None:
    from resilient_serverless.components import ResilientFunction

    def program() -> None:
        auth = ResilientFunction("auth", {"handler": "app.handlers.orders.lambda_handler", "code": HANDLERS})
        WebSocketNotifier("push", {"code": HANDLERS, "connect_auth": "authorizer", "authorizer": auth})

    graph = run_program(program)
    api = graph.one("aws:apigatewayv2/api:Api")
    authorizer = graph.one("aws:apigatewayv2/authorizer:Authorizer")
    assert (authorizer.inputs["authorizerType"], authorizer.inputs["identitySources"]) == (
        "REQUEST",
        ["route.request.header.Authorization"],
    )
    assert authorizer.inputs["authorizerUri"] == graph.one(FUNCTION, "auth-function").outputs["invokeArn"]
    connect = next(r for r in graph.of_type(ROUTE) if r.inputs["routeKey"] == "$connect")
    assert (connect.inputs["authorizationType"], connect.inputs["authorizerId"]) == ("CUSTOM", authorizer.outputs["id"])
    permission = graph.one("aws:lambda/permission:Permission", "push-invoke-authorizer")
    assert permission.inputs["sourceArn"] == f"{api.outputs['executionArn']}/authorizers/{authorizer.outputs['id']}"
    assert permission.urn in graph.one(WS_STAGE).dependencies
    from resilient_serverless.components import rules

    assert [f for f in rules.check(graph, waived={}) if f.rule == "lambda-permission-scoped"] == []


def test_authorizer_mode_needs_its_function_and_the_others_refuse_it() -> None:
    assert errors_of(connect_auth="authorizer") == [
        "connect_auth='authorizer' needs authorizer=<a ResilientFunction>, got None"
    ]
    assert errors_of(authorizer_identity_sources=["route.request.header.X"]) == [
        "authorizer and authorizer_identity_sources apply only to connect_auth='authorizer', not 'token'"
    ]
