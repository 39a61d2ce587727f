"""The WebSocket rules fire on the mistake they exist for and stay quiet on the notifier's graph."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pulumi
import pulumi_aws as aws
import pytest
from resilient_serverless.components import WebSocketNotifier, rules
from resilient_serverless.components.testing import run_program

from tests.conftest import HANDLERS

WS_RULES = ("websocket-throttled", "sfn-callback-heartbeat", "manage-connections-scoped", "lambda-permission-scoped")


def findings(program: Callable[[], None], rule_id: str) -> list[str]:
    graph = run_program(program)
    return [f.message for f in rules.check(graph, waived={}) if f.rule == rule_id]


def websocket_stage(route_settings: list[Any], routes: tuple[str, ...] = ("$connect", "subscribe")) -> None:
    api = aws.apigatewayv2.Api("ws", protocol_type="WEBSOCKET", route_selection_expression="$request.body.action")
    for key in routes:
        aws.apigatewayv2.Route(f"route-{key.strip('$')}", api_id=api.id, route_key=key)
    aws.apigatewayv2.Stage(
        "stage",
        api_id=api.id,
        name="live",
        default_route_settings={"throttling_rate_limit": 10, "throttling_burst_limit": 20},
        route_settings=route_settings,
    )


def setting(key: str, rate: float = 10, burst: int = 20) -> Any:
    return {"route_key": key, "throttling_rate_limit": rate, "throttling_burst_limit": burst}


def machine(task: dict[str, Any], nested: bool = False) -> Callable[[], None]:
    states: dict[str, Any] = {"Wait": {"Type": "Task", "End": True, **task}}
    if nested:
        states = {"Fan": {"Type": "Parallel", "End": True, "Branches": [{"StartAt": "Wait", "States": states}]}}

    def program() -> None:
        aws.sfn.StateMachine(
            "flow",
            role_arn="arn:aws:iam::123456789012:role/r",
            definition=json.dumps({"StartAt": next(iter(states)), "States": states}),
        )

    return program


WAIT = {"Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken"}


def manage(resource: str) -> Callable[[], None]:
    def program() -> None:
        statement = {"Effect": "Allow", "Action": ["execute-api:ManageConnections"], "Resource": [resource]}
        aws.iam.RolePolicy("p", role="r", policy=json.dumps({"Version": "2012-10-17", "Statement": [statement]}))

    return program


@pytest.mark.parametrize(
    ("rule_id", "bad", "message"),
    [
        (
            "websocket-throttled",
            lambda: websocket_stage([setting("$connect")]),
            "route subscribe has no route settings: it takes the stage default, unnamed in the plan",
        ),
        (
            "websocket-throttled",
            lambda: websocket_stage([setting("$connect"), {"route_key": "subscribe", "throttling_rate_limit": 5}]),
            "route subscribe lacks a non-zero rate and burst: AWS throttles it to 0",
        ),
        (
            "websocket-throttled",
            lambda: websocket_stage([setting("$connect", 800, 800), setting("subscribe")]),
            "$connect admits 800 new connections/s, above the account quota of 500/s per region: the account "
            "refuses the excess, not this stage",
        ),
        # .waitForTaskToken bounds: the state-machine rule (components/asl.py), nested branches included
        (
            "sfn-callback-heartbeat",
            machine({**WAIT, "TimeoutSeconds": 60}),
            "state 'Wait' waits for a task token with HeartbeatSeconds=None: it needs a heartbeat below its "
            "TimeoutSeconds, or a lost callback parks the execution until the timeout",
        ),
        (
            "sfn-callback-heartbeat",
            machine({**WAIT, "HeartbeatSeconds": 60}, nested=True),
            "state 'Wait' waits for a task token with HeartbeatSeconds=60: it needs a heartbeat below its "
            "TimeoutSeconds, or a lost callback parks the execution until the timeout",
        ),
        (
            "sfn-callback-heartbeat",
            # AWS refuses a heartbeat that is not below the timeout
            machine({**WAIT, "HeartbeatSeconds": 60, "TimeoutSeconds": 60}),
            "state 'Wait' waits for a task token with HeartbeatSeconds=60: it needs a heartbeat below its "
            "TimeoutSeconds, or a lost callback parks the execution until the timeout",
        ),
        (
            "manage-connections-scoped",
            manage("*"),
            "ManageConnections on '*': name one API, stage and method on @connections "
            "(arn:...:execute-api:<region>:<account>:<api>/<stage>/POST/@connections/*), so a function can reach "
            "only its own clients",
        ),
        (
            "manage-connections-scoped",
            manage("arn:aws:execute-api:eu-west-1:123456789012:abc123/*"),
            "ManageConnections on 'arn:aws:execute-api:eu-west-1:123456789012:abc123/*': name one API, stage and "
            "method on @connections (arn:...:execute-api:<region>:<account>:<api>/<stage>/POST/@connections/*), so a "
            "function can reach only its own clients",
        ),
    ],
)
def test_rule_fires_on_the_mistake(rule_id: str, bad: Callable[[], None], message: str) -> None:
    assert message in findings(bad, rule_id)


def test_quiet_on_the_fix() -> None:
    assert (
        findings(lambda: websocket_stage([setting("$connect", 500, 500), setting("subscribe")]), "websocket-throttled")
        == []
    )
    assert findings(machine({**WAIT, "HeartbeatSeconds": 59, "TimeoutSeconds": 60}), "sfn-callback-heartbeat") == []
    assert findings(machine({"Resource": "arn:aws:states:::lambda:invoke"}), "sfn-callback-heartbeat") == []
    good = "arn:aws:execute-api:eu-west-1:123456789012:abc123/live/POST/@connections/*"
    assert findings(manage(good), "manage-connections-scoped") == []


def test_an_http_stage_is_not_judged_as_a_websocket_one() -> None:
    def program() -> None:
        api = aws.apigatewayv2.Api("http", protocol_type="HTTP")
        aws.apigatewayv2.Route("r", api_id=api.id, route_key="GET /a")
        aws.apigatewayv2.Stage("s", api_id=api.id, name="$default", default_route_settings=setting("x"))

    assert findings(program, "websocket-throttled") == []


def websocket_permission(stage_and_route: str) -> Callable[[], None]:
    """A Lambda permission for a WebSocket API, scoped to ``<stage>/<route key>`` of its execution ARN."""

    def program() -> None:
        api = aws.apigatewayv2.Api("ws", protocol_type="WEBSOCKET", route_selection_expression="$request.body.a")
        aws.lambda_.Permission(
            "p",
            action="lambda:InvokeFunction",
            function="f",
            principal="apigateway.amazonaws.com",
            source_arn=pulumi.Output.concat(api.execution_arn, "/", stage_and_route),
        )

    return program


def test_websocket_permission_names_api_stage_and_route_but_not_a_wildcard() -> None:
    assert findings(websocket_permission("live/$connect"), "lambda-permission-scoped") == []
    assert len(findings(websocket_permission("live/*"), "lambda-permission-scoped")) == 1


def test_a_websocket_permission_for_every_stage_is_a_wildcard() -> None:
    assert len(findings(websocket_permission("*/$connect"), "lambda-permission-scoped")) == 1


def test_execute_api_star_is_judged_as_manage_connections() -> None:
    def program() -> None:
        statement = {"Effect": "Allow", "Action": "execute-api:*", "Resource": "*"}
        aws.iam.RolePolicy("p", role="r", policy=json.dumps({"Version": "2012-10-17", "Statement": [statement]}))

    assert findings(program, "manage-connections-scoped") == [
        "ManageConnections on '*': name one API, stage and method on @connections "
        "(arn:...:execute-api:<region>:<account>:<api>/<stage>/POST/@connections/*), so a function can reach "
        "only its own clients"
    ]


def test_the_notifier_with_its_push_states_raises_none_of_them() -> None:
    def program() -> None:
        push = WebSocketNotifier("push", {"code": HANDLERS})
        states = push.workflow_states(
            status="succeeded", entry="PushSucceeded", next_state="Done", fallback_state="Poll"
        )
        definition = pulumi.Output.json_dumps(
            {
                "StartAt": "PushSucceeded",
                "States": {**states, "Done": {"Type": "Succeed"}, "Poll": {"Type": "Succeed"}},
            }
        )
        aws.sfn.StateMachine("flow", role_arn="arn:aws:iam::123456789012:role/r", definition=definition, type="EXPRESS")

    graph = run_program(program)
    assert [f for f in rules.check(graph, waived={}) if f.rule in WS_RULES or f.rule == "iam-no-wildcards"] == []
