"""ThrottledApi deploys right the first time: every ordering AWS enforces is an edge in the graph.

Mocks accept any order; AWS does not. Each test reads the captured graph's ``dependencies``.
Programs here are not the reference deployment: other names, nested paths, another region.
"""

from __future__ import annotations

from typing import Any

import pulumi_aws as aws
import pytest
import yaml
from resilient_serverless.components import ApiGatewayAccount, ConfigError, ResilientFunction, ThrottledApi, rules
from resilient_serverless.components.testing import AwsMocks, Graph, run_program, run_stack

from tests.conftest import HANDLERS, ROOT

ACCOUNT = "aws:apigateway/account:Account"


def shop(flavor: str, *, with_account: bool = False, **extra: Any) -> Graph:
    """A small program that is not ours: a catalogue service in us-west-2 with nested paths."""

    def program() -> None:
        account = ApiGatewayAccount("gw-logging") if with_account else None
        lookup = ResilientFunction("lookup", {"handler": "app.handlers.orders.lambda_handler", "code": HANDLERS})
        queue = aws.sqs.Queue("intake", name="catalogue-intake")
        routes: list[dict[str, Any]] = [
            {"method": "GET", "path": "/", "function": lookup},
            {"method": "GET", "path": "/shops/{shop}/items/{item}", "function": lookup},
            {"method": "POST", "path": "/shops/{shop}/items", "queue": queue},
            {"method": "ANY", "path": "/files/{proxy+}", "function": lookup},
        ]
        args: dict[str, Any] = {"flavor": flavor, "routes": routes, **extra}
        if account is not None:
            args["account"] = account
        ThrottledApi("catalogue", args)

    return run_program(program, project="catalogue", stack="qa", mocks=AwsMocks(region="us-west-2"))


def test_http_stage_waits_for_every_route_it_configures() -> None:
    # GIVEN an HTTP API with four routes WHEN it is built
    graph = shop("http")
    stage = graph.one("aws:apigatewayv2/stage:Stage")
    routes = graph.of_type("aws:apigatewayv2/route:Route")
    # THEN the stage, whose route_settings name every route key, depends on each route
    assert len(routes) == 4
    assert {r.inputs["routeKey"] for r in routes} == {s["routeKey"] for s in stage.inputs["routeSettings"]}
    missing = [r.urn for r in routes if r.urn not in stage.dependencies]
    assert missing == [], f"{stage.urn} does not wait for {missing}"


def test_rest_stage_and_every_method_setting_wait_for_the_account_setting() -> None:
    # GIVEN a REST API given the stack's ApiGatewayAccount
    graph = shop("rest", with_account=True)
    account = graph.one(ACCOUNT)
    stage = graph.one("aws:apigateway/stage:Stage")
    settings = graph.of_type("aws:apigateway/methodSettings:MethodSettings")
    # THEN the stage (access logs) and each method setting (execution logs) depend on it
    assert account.urn in stage.dependencies, stage.urn
    assert len(settings) == 5
    assert [m.urn for m in settings if account.urn not in m.dependencies] == []


def test_an_aws_account_resource_is_accepted_as_the_account() -> None:
    def program() -> None:
        fn = ResilientFunction("f", {"handler": "app.handlers.orders.lambda_handler", "code": HANDLERS})
        account = aws.apigateway.Account("acct", cloudwatch_role_arn="arn:aws:iam::123456789012:role/gw")
        ThrottledApi("a", {"routes": [{"method": "GET", "path": "/x", "function": fn}], "account": account})

    graph = run_program(program)
    assert graph.one(ACCOUNT).urn in graph.one("aws:apigateway/stage:Stage").dependencies


def test_the_account_setting_and_its_role_outlive_their_stack() -> None:
    # GIVEN the account component WHEN its stack is destroyed THEN the setting and its role stay
    graph = run_program(lambda: ApiGatewayAccount("gw"), project="shop", stack="staging")
    kept = {r.type.split(":")[-1]: r.retain_on_delete for r in graph if r.custom}
    assert kept == {"Role": True, "RolePolicyAttachment": True, "Account": True}


def account_findings(graph: Graph) -> list[str]:
    return [f.message for f in rules.check(graph, waived={}) if f.rule == "api-account-role"]


def test_plan_warns_when_a_logging_rest_api_has_no_account_role() -> None:
    assert account_findings(shop("rest")) == [
        "REST access and execution logs need the region's API Gateway CloudWatch role: pass an "
        "ApiGatewayAccount as account, or set account_managed_elsewhere=True if another stack manages it"
    ]


def test_plan_warns_when_the_stack_sets_the_role_but_the_api_does_not_wait() -> None:
    def program() -> None:
        ApiGatewayAccount("gw")
        fn = ResilientFunction("f", {"handler": "app.handlers.orders.lambda_handler", "code": HANDLERS})
        ThrottledApi("a", {"routes": [{"method": "GET", "path": "/x", "function": fn}]})

    assert account_findings(run_program(program)) == [
        "the stack sets the API Gateway account role but the API does not wait for it: pass it as account"
    ]


def test_account_rule_is_quiet_when_managed_here_elsewhere_or_on_http() -> None:
    assert account_findings(shop("rest", with_account=True)) == []
    assert account_findings(shop("rest", account_managed_elsewhere=True)) == []
    assert account_findings(shop("http")) == []
    outputs = shop("rest", account_managed_elsewhere=True)
    assert outputs.outputs_of(outputs.one("ThrottledApi"))["account_setting"] == "another stack"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            {"account": "arn:aws:iam::1:role/x"},
            "account must be an ApiGatewayAccount or an aws.apigateway.Account, got str",
        ),
        ({"account_managed_elsewhere": "yes"}, "account_managed_elsewhere='yes' must be True or False"),
    ],
)
def test_bad_account_arguments(args: dict[str, Any], message: str) -> None:
    def program() -> None:
        fn = ResilientFunction("f", {"handler": "app.handlers.orders.lambda_handler", "code": HANDLERS})
        ThrottledApi("a", {"routes": [{"method": "GET", "path": "/x", "function": fn}], **args})

    with pytest.raises(ConfigError) as raised:
        run_program(program)
    assert raised.value.problems == [message]


def test_account_and_managed_elsewhere_contradict() -> None:
    def program() -> None:
        account = ApiGatewayAccount("gw")
        fn = ResilientFunction("f", {"handler": "app.handlers.orders.lambda_handler", "code": HANDLERS})
        ThrottledApi(
            "a",
            {
                "routes": [{"method": "GET", "path": "/x", "function": fn}],
                "account": account,
                "account_managed_elsewhere": True,
            },
        )

    with pytest.raises(ConfigError) as raised:
        run_program(program)
    assert raised.value.problems == [
        "account and account_managed_elsewhere=True contradict: pass one (this stack or another manages it)"
    ]


def test_exactly_one_stack_per_account_and_region_owns_the_role() -> None:
    # GIVEN the stack files WHEN grouped by region THEN one stack owns the role per region, and
    # every other REST stack there says another stack manages it.
    owners: dict[str, list[str]] = {}
    declared: dict[str, bool] = {}
    for path in sorted((ROOT / "environments").glob("Pulumi.*.yaml")):
        config = yaml.safe_load(path.read_text())["config"]
        stack = path.name.split(".")[1]
        region = config["aws:region"] + (" (LocalStack)" if "aws:endpoints" in config else "")
        if config.get("resilient-serverless:apiGatewayAccountRole"):
            owners.setdefault(region, []).append(stack)
        declared[stack] = bool(config.get("resilient-serverless:apiGatewayAccountRoleManagedElsewhere"))
    assert owners == {"eu-west-1": ["dev"], "us-east-1 (LocalStack)": ["local"]}
    assert declared == {"dev": False, "local": False, "prod": True, "staging": True}


# --- method settings reach their methods -------------------------------------------------------------
def test_method_settings_name_each_method_by_its_escaped_path() -> None:
    # GIVEN routes at the root, nested with two parameters, and greedy {proxy+}
    graph = shop("rest")
    paths = {m.inputs["methodPath"] for m in graph.of_type("aws:apigateway/methodSettings:MethodSettings")}
    # THEN every / of the resource path is written ~1, as `aws apigateway get-stage` returns them
    assert paths == {
        "*/*",
        "~1/GET",
        "~1shops~1{shop}~1items~1{item}/GET",
        "~1shops~1{shop}~1items/POST",
        "~1files~1{proxy+}/*",
    }


def method_path_findings(path: str) -> list[str]:
    def program() -> None:
        aws.apigateway.MethodSettings(
            "s",
            rest_api="abc",
            stage_name="live",
            method_path=path,
            settings={"throttling_rate_limit": 1, "throttling_burst_limit": 1},
        )

    return [f.message for f in rules.check(run_program(program), waived={}) if f.rule == "api-method-path-escaped"]


@pytest.mark.parametrize("path", ["orders/{order_id}/GET", "/orders/GET", "~1orders/{id}/GET", "~1orders/ANY"])
def test_method_path_rule_fails_on_an_unescaped_path(path: str) -> None:
    assert method_path_findings(path) == [
        f"method path {path!r} matches no method: API Gateway keys methods as the resource path with every / "
        "written ~1, then the method (~1orders~1{order_id}/GET, ~1/GET for the root, */* for all)"
    ]


@pytest.mark.parametrize("path", ["*/*", "~1/GET", "~1orders~1{order_id}/PUT", "~1files~1{proxy+}/*"])
def test_method_path_rule_is_quiet_on_escaped_paths(path: str) -> None:
    assert method_path_findings(path) == []


# --- the reference deployment -----------------------------------------------------------------------
def test_dev_owns_the_account_setting_and_its_websocket_stage_waits_for_it() -> None:
    # dev's front door is HTTP (no role needed), but its WebSocket stage logs through the role
    graph = run_stack("dev", ROOT)
    account = graph.one(ACCOUNT)
    assert account.retain_on_delete
    stage = graph.one("aws:apigatewayv2/stage:Stage", "job-push-stage")
    assert account.urn in stage.dependencies


def test_local_owns_its_account_setting_and_its_rest_api_waits_for_it() -> None:
    graph = run_stack("local", ROOT)
    account = graph.one(ACCOUNT)
    stage = graph.one("aws:apigateway/stage:Stage")
    assert account.urn in stage.dependencies
    settings = graph.of_type("aws:apigateway/methodSettings:MethodSettings")
    assert settings and all(account.urn in m.dependencies for m in settings)


@pytest.mark.parametrize("stack", ["staging", "prod"])
def test_staging_and_prod_declare_that_dev_manages_the_account_setting(stack: str) -> None:
    graph = run_stack(stack, ROOT)
    assert graph.of_type(ACCOUNT) == []
    assert graph.outputs_of(graph.one("ThrottledApi"))["account_setting"] == "another stack"
