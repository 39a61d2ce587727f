"""``lambda-permission-scoped`` and Lambda authorizers: API Gateway invokes an authorizer as
``<api>/authorizers/<id>`` (no stage, method or path), the one scope such a permission can have."""

from __future__ import annotations

import pulumi_aws as aws
from resilient_serverless.components import rules
from resilient_serverless.components.testing import run_program

API = "arn:aws:execute-api:eu-west-1:123456789012:abc123"


def scoped_findings(source_arn: str) -> list[str]:
    def program() -> None:
        aws.lambda_.Permission(
            "p",
            action="lambda:InvokeFunction",
            function="f",
            principal="apigateway.amazonaws.com",
            source_arn=source_arn,
        )

    return [f.message for f in rules.check(run_program(program), waived={}) if f.rule == "lambda-permission-scoped"]


def test_a_permission_for_one_authorizer_of_one_api_is_scoped() -> None:
    assert scoped_findings(f"{API}/authorizers/auth01") == []


def test_a_permission_for_every_authorizer_of_an_api_is_an_error() -> None:
    assert scoped_findings(f"{API}/authorizers/*") == [
        f"source ARN {API}/authorizers/* does not name one API, stage, method and path"
    ]
