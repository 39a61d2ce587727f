"""ThrottledApi routes behind each kind of auth its flavour offers: a Lambda TOKEN authorizer and
IAM on REST, JWT and IAM on HTTP (README: "Calling the API"); on HTTP, one route of the user's own
behind a Lambda REQUEST authorizer, added to the API with pulumi_aws."""

import pulumi
import pulumi_aws as aws
from resilient_serverless.components import ResilientFunction, ThrottledApi, package_function

flavor = pulumi.Config().require("flavor")
code = package_function("./src", handlers=["gate.whoami", "gate.authorize", "gate.authorize_request"])
whoami = ResilientFunction("whoami", {"handler": "gate.whoami", "code": code})
if flavor == "rest":
    gate = ResilientFunction("gate", {"handler": "gate.authorize", "code": code})
    auth = {"type": "lambda", "function": gate}
else:
    auth = {"type": "jwt", "issuer": "https://issuer.example.com", "audience": ["client-1"]}
api = ThrottledApi(
    "users",
    {
        "flavor": flavor,
        "throttle": {"rate": 100, "burst": 200},
        "routes": [
            {"method": "GET", "path": "/me", "function": whoami, "expected_latency_ms": 80, "auth": auth},
            {
                "method": "GET",
                "path": "/signed",
                "function": whoami,
                "expected_latency_ms": 80,
                "auth": {"type": "iam"},
            },
        ],
    },
)
pulumi.export("url", api.url)

if flavor == "http":
    gate = ResilientFunction("request-gate", {"handler": "gate.authorize_request", "code": code})
    authorizer = aws.apigatewayv2.Authorizer(
        "request-gate",
        api_id=api.api_id,
        authorizer_type="REQUEST",
        authorizer_uri=gate.invoke_arn,
        identity_sources=["$request.header.Authorization"],
        authorizer_payload_format_version="2.0",
        enable_simple_responses=True,
    )
    integration = aws.apigatewayv2.Integration(
        "lambda-me",
        api_id=api.api_id,
        integration_type="AWS_PROXY",
        integration_uri=whoami.invoke_arn,
        payload_format_version="2.0",
    )
    # API Gateway may run the authorizer as this authorizer, and the function for this route only.
    gate.grant_invoke(
        "api-authorizer",
        "apigateway.amazonaws.com",
        pulumi.Output.all(api.execution_arn, authorizer.id).apply(lambda v: f"{v[0]}/authorizers/{v[1]}"),
    )
    whoami.grant_invoke(
        "api-own-route", "apigateway.amazonaws.com", api.execution_arn.apply(lambda arn: f"{arn}/*/GET/lambda/me")
    )
    aws.apigatewayv2.Route(
        "lambda-me",
        api_id=api.api_id,
        route_key="GET /lambda/me",
        target=integration.id.apply(lambda i: f"integrations/{i}"),
        authorization_type="CUSTOM",
        authorizer_id=authorizer.id,
    )
