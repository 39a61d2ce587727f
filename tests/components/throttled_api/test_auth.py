"""Who may call: route auth on both flavours, authorizers with cached answers, and the rule that
warns on a write route open to anyone without a per-client limit."""

from __future__ import annotations

from typing import Any

import pulumi
import pytest
from resilient_serverless.components import ConfigError, ResilientFunction, ThrottledApi, rules
from resilient_serverless.components.testing import Graph, run_program

from tests.conftest import HANDLERS

POOL = "arn:aws:cognito-idp:eu-west-1:123456789012:userpool/eu-west-1_abc"


def graph_of(flavor: str, auth: dict[str, Any] | None, **extra: Any) -> Graph:
    def program() -> None:
        fn = ResilientFunction("notes", {"handler": "app.handlers.orders.lambda_handler", "code": HANDLERS})
        given = auth
        if auth is not None and auth.get("function") == "authorizer":
            authorizer = ResilientFunction("gate", {"handler": "app.handlers.orders.lambda_handler", "code": HANDLERS})
            given = {**auth, "function": authorizer}
        routes = [
            {"method": m, "path": p, "function": fn, **({"auth": given} if given else {})}
            for m, p in (("GET", "/notes/{id}"), ("POST", "/notes"))
        ]
        api = ThrottledApi("notes", {"flavor": flavor, "routes": routes, **extra})
        pulumi.export("invoke", api.invoke_arn("POST", "/notes"))

    return run_program(program, project="notes", stack="qa")


def guarded_findings(graph: Graph) -> list[str]:
    return [f.message for f in rules.check(graph, waived={}) if f.rule == "api-write-route-guarded"]


def test_rest_iam_auth_signs_every_method() -> None:
    graph = graph_of("rest", {"type": "iam"})
    methods = graph.of_type("aws:apigateway/method:Method")
    assert {m.inputs["authorization"] for m in methods} == {"AWS_IAM"}
    api = graph.one("aws:apigateway/restApi:RestApi")
    assert graph.exports["invoke"] == f"{api.outputs['executionArn']}/live/POST/notes"
    assert guarded_findings(graph) == []


def test_http_iam_auth_signs_every_route() -> None:
    graph = graph_of("http", {"type": "iam"})
    assert {r.inputs["authorizationType"] for r in graph.of_type("aws:apigatewayv2/route:Route")} == {"AWS_IAM"}
    api = graph.one("aws:apigatewayv2/api:Api")
    assert graph.exports["invoke"] == f"{api.outputs['executionArn']}/*/POST/notes"
    assert guarded_findings(graph) == []


def test_http_jwt_auth_uses_one_shared_authorizer() -> None:
    graph = graph_of(
        "http",
        {"type": "jwt", "issuer": "https://id.example/", "audience": ["notes-app"], "scopes": ["notes/write"]},
    )
    authorizer = graph.one("aws:apigatewayv2/authorizer:Authorizer")
    assert authorizer.inputs["authorizerType"] == "JWT"
    assert authorizer.inputs["identitySources"] == ["$request.header.Authorization"]
    assert authorizer.inputs["jwtConfiguration"] == {"issuer": "https://id.example/", "audiences": ["notes-app"]}
    for route in graph.of_type("aws:apigatewayv2/route:Route"):
        assert route.inputs["authorizationType"] == "JWT"
        assert route.inputs["authorizerId"] == authorizer.outputs["id"]
        assert route.inputs["authorizationScopes"] == ["notes/write"]


def test_rest_cognito_authorizer_caches_its_answer_300_s_by_default() -> None:
    graph = graph_of("rest", {"type": "cognito", "user_pool_arns": [POOL]})
    authorizer = graph.one("aws:apigateway/authorizer:Authorizer")
    assert authorizer.inputs["type"] == "COGNITO_USER_POOLS"
    assert authorizer.inputs["providerArns"] == [POOL]
    assert authorizer.inputs["authorizerResultTtlInSeconds"] == 300
    methods = graph.of_type("aws:apigateway/method:Method")
    assert {(m.inputs["authorization"], m.inputs["authorizerId"]) for m in methods} == {
        ("COGNITO_USER_POOLS", authorizer.outputs["id"])
    }


def test_rest_lambda_authorizer_is_cached_and_may_invoke_only_from_its_authorizer() -> None:
    graph = graph_of("rest", {"type": "lambda", "function": "authorizer", "cache_ttl_s": 600})
    authorizer = graph.one("aws:apigateway/authorizer:Authorizer")
    gate = graph.one("aws:lambda/function:Function", "gate-function")
    assert authorizer.inputs["type"] == "TOKEN"
    assert authorizer.inputs["identitySource"] == "method.request.header.Authorization"
    assert authorizer.inputs["authorizerResultTtlInSeconds"] == 600
    assert gate.outputs["arn"] in authorizer.inputs["authorizerUri"]
    permission = graph.one("aws:lambda/permission:Permission", "notes-invoke-authorizer-0")
    api = graph.one("aws:apigateway/restApi:RestApi")
    assert permission.inputs["sourceArn"] == f"{api.outputs['executionArn']}/authorizers/{authorizer.outputs['id']}"
    assert {m.inputs["authorization"] for m in graph.of_type("aws:apigateway/method:Method")} == {"CUSTOM"}
    deployment = graph.one("aws:apigateway/deployment:Deployment")
    assert "authorizers" in deployment.inputs["triggers"]


def test_write_route_rule_warns_on_an_open_write_route_on_both_flavours() -> None:
    assert guarded_findings(graph_of("rest", None)) == [
        "POST is open to anyone with no per-client limit: one client can spend the stage's whole rate "
        "(add auth, usage_plans or waf_rate_limit)"
    ]
    assert guarded_findings(graph_of("http", None)) == [
        "POST /notes is open to anyone, and HTTP APIs have no per-client limit (only the route throttle "
        "shared by every client): add auth"
    ]


def test_a_per_client_limit_quiets_the_write_route_rule_on_rest() -> None:
    assert guarded_findings(graph_of("rest", None, usage_plans={"acme": {"rate": 5, "burst": 10}})) == []
    assert guarded_findings(graph_of("rest", None, waf_rate_limit=500)) == []


@pytest.mark.parametrize(
    ("flavor", "auth", "message"),
    [
        (
            "rest",
            {"type": "jwt"},
            "routes[0].auth.type='jwt' must be one of iam, cognito, lambda on REST (jwt is HTTP only)",
        ),
        (
            "http",
            {"type": "cognito"},
            "routes[0].auth.type='cognito' must be one of iam, jwt on HTTP (cognito is REST only)",
        ),
        ("rest", "iam", "routes[0].auth='iam' must be a dict with a type (iam or cognito or lambda on REST)"),
        (
            "http",
            {"type": "jwt", "issuer": "http://id", "audience": ["a"]},
            "routes[0].auth.issuer='http://id' must be the token issuer's https:// URL",
        ),
        (
            "http",
            {"type": "jwt", "issuer": "https://id"},
            "routes[0].auth.audience needs at least one accepted audience (client id)",
        ),
        ("rest", {"type": "cognito"}, "routes[0].auth.user_pool_arns needs at least one Cognito user pool ARN"),
        (
            "rest",
            {"type": "cognito", "user_pool_arns": [POOL], "cache_ttl_s": 7200},
            "routes[0].auth.cache_ttl_s=7200 is outside 0 to 3600 seconds (API Gateway authorizer cache)",
        ),
        (
            "rest",
            {"type": "lambda", "function": "gate"},
            "routes[0].auth.function must be a ResilientFunction, got str",
        ),
    ],
)
def test_bad_auth_is_named(flavor: str, auth: Any, message: str) -> None:
    def program() -> None:
        fn = ResilientFunction("notes", {"handler": "app.handlers.orders.lambda_handler", "code": HANDLERS})
        ThrottledApi(
            "notes", {"flavor": flavor, "routes": [{"method": "GET", "path": "/n", "function": fn, "auth": auth}]}
        )

    with pytest.raises(ConfigError) as raised:
        run_program(program)
    assert raised.value.problems == [message]


def test_invoke_arn_of_an_unknown_route_names_the_routes() -> None:
    def program() -> None:
        fn = ResilientFunction("notes", {"handler": "app.handlers.orders.lambda_handler", "code": HANDLERS})
        ThrottledApi("notes", {"routes": [{"method": "GET", "path": "/n", "function": fn}]}).invoke_arn("POST", "/n")

    with pytest.raises(KeyError, match=r"ThrottledApi 'notes' has no route POST /n \(routes: GET /n\)"):
        run_program(program)


def test_the_plan_shows_each_routes_auth() -> None:
    graph = graph_of("rest", {"type": "cognito", "user_pool_arns": [POOL]})
    routes = graph.outputs_of(graph.one("ThrottledApi"))["routes"]
    assert [r["auth"] for r in routes] == ["Cognito user pools (cached 300 s)"] * 2
