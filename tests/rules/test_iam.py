"""iam-no-wildcards sees every way a policy opens up: wildcards inside actions and ARNs, NotAction,
managed policies, Principal '*', open Function URLs; and the finding order never depends on the
order in which registrations completed."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pulumi_aws as aws
import pytest
from resilient_serverless.components import rules
from resilient_serverless.components.testing import CapturedResource, Graph, run_program

from .hand_built import messages, res

ROLE_ARN = "arn:aws:iam::123456789012:role/r"
QUEUE_ARN = "arn:aws:sqs:eu-west-1:123456789012:orders"


def iam_findings(program: Callable[[], None]) -> list[str]:
    return [f.message for f in rules.check(run_program(program), waived={}) if f.rule == "iam-no-wildcards"]


def role_policy(*statements: dict[str, Any]) -> Callable[[], None]:
    def program() -> None:
        aws.iam.RolePolicy("p", role="r", policy=json.dumps({"Version": "2012-10-17", "Statement": list(statements)}))

    return program


def allow(action: Any, resource: Any = QUEUE_ARN, **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


@pytest.mark.parametrize(
    ("statement", "message"),
    [
        (allow("s3:Get*", "arn:aws:s3:::orders/*"), "wildcard action 's3:Get*'"),
        (allow("sqs:*Message"), "wildcard action 'sqs:*Message'"),
        (allow("sqs:?eceiveMessage"), "wildcard action 'sqs:?eceiveMessage'"),
        (allow("sqs:*"), "wildcard action 'sqs:*'"),
        (allow("*"), "wildcard action '*'"),
        (allow("sqs:SendMessage", "arn:aws:sqs:*:*:*"), "wildcard resource 'arn:aws:sqs:*:*:*'"),
        (
            allow("sqs:SendMessage", "arn:aws:sqs:eu-west-1:*:orders"),
            "wildcard resource 'arn:aws:sqs:eu-west-1:*:orders'",
        ),
        (
            allow("dynamodb:GetItem", "arn:aws:dynamodb:eu-west-1:123456789012:table/*"),
            "wildcard resource 'arn:aws:dynamodb:eu-west-1:123456789012:table/*'",
        ),
        (allow("s3:GetObject", "arn:aws:s3:::*"), "wildcard resource 'arn:aws:s3:::*'"),
        (allow("sqs:SendMessage", "*"), "resource '*' for actions that can be scoped: sqs:SendMessage"),
        (
            {"Effect": "Allow", "NotAction": "iam:*", "Resource": QUEUE_ARN},
            "Allow with NotAction: it grants everything",
        ),
        (
            {"Effect": "Allow", "Action": "sqs:SendMessage", "NotResource": QUEUE_ARN},
            "Allow with NotResource: it grants everything not listed",
        ),
        (allow("sqs:SendMessage", Principal="*"), "principal '*' with no condition: anyone may use it"),
        (allow("sqs:SendMessage", Principal={"AWS": ["*"]}), "principal '*' with no condition: anyone may use it"),
    ],
)
def test_each_opening_in_a_policy_is_an_error(statement: dict[str, Any], message: str) -> None:
    # GIVEN a role policy with one statement that opens access WHEN the rules run THEN it is named
    found = iam_findings(role_policy(statement))
    assert [m for m in found if m.startswith(message)], found


@pytest.mark.parametrize(
    "statement",
    [
        allow(["sqs:SendMessage", "sqs:ReceiveMessage"]),
        allow("s3:GetObject", "arn:aws:s3:::orders/*"),
        allow("logs:PutLogEvents", "arn:aws:logs:eu-west-1:123456789012:log-group:/aws/lambda/f:*"),
        allow("sqs:SendMessage", "arn:aws:sqs:eu-west-1:123456789012:orders-*"),
        allow(["xray:PutTraceSegments", "cloudwatch:PutMetricData"], "*"),
        # every action AWS offers no resource-level permission for (rules.NO_RESOURCE_LEVEL)
        allow(
            [
                "xray:PutTraceSegments",
                "xray:PutTelemetryRecords",
                "cloudwatch:PutMetricData",
                "cloudwatch:GetMetricData",
                "xray:GetSamplingRules",
                "xray:GetSamplingTargets",
                "s3:ListAllMyBuckets",
                # a Step Functions task token belongs to no resource ARN
                "states:SendTaskSuccess",
                "states:SendTaskFailure",
                "states:SendTaskHeartbeat",
            ],
            "*",
        ),
        {"Effect": "Deny", "NotAction": "*", "Resource": "*", "Principal": "*"},
        allow("sqs:SendMessage", Principal="*", Condition={"ArnEquals": {"aws:SourceArn": "arn:aws:sns:x:1:t"}}),
        allow("sqs:SendMessage", Principal={"Service": "sns.amazonaws.com"}),
    ],
)
def test_scoped_statements_are_quiet(statement: dict[str, Any]) -> None:
    assert iam_findings(role_policy(statement)) == []


def test_aws_managed_policy_attachments_are_errors_except_the_scoped_service_roles() -> None:
    def program() -> None:
        aws.iam.RolePolicyAttachment("admin", role="r", policy_arn="arn:aws:iam::aws:policy/AdministratorAccess")
        aws.iam.RolePolicyAttachment(
            "basic", role="r", policy_arn="arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"
        )
        aws.iam.RolePolicyAttachment(
            "push",
            role="r",
            policy_arn="arn:aws:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs",
        )
        aws.iam.RolePolicyAttachment("own", role="r", policy_arn="arn:aws:iam::123456789012:policy/orders-read")

    assert iam_findings(program) == [
        "AWS-managed policy AdministratorAccess attached: its actions and resources are not least privilege",
        "AWS-managed policy service-role/AWSLambdaBasicExecutionRole attached: its actions and resources are not "
        "least privilege",
    ]


def test_a_role_with_managed_arns_inline_wildcards_or_an_open_trust_is_an_error() -> None:
    def program() -> None:
        aws.iam.Role(
            "r",
            assume_role_policy=json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [{"Effect": "Allow", "Principal": "*", "Action": "sts:AssumeRole"}],
                }
            ),
            managed_policy_arns=["arn:aws:iam::aws:policy/AmazonSQSFullAccess"],
            inline_policies=[{"name": "i", "policy": json.dumps({"Statement": [allow("sqs:*")]})}],
        )

    assert iam_findings(program) == [
        "AWS-managed policy AmazonSQSFullAccess attached: its actions and resources are not least privilege",
        "principal '*' with no condition: anyone may use it",
        "wildcard action 'sqs:*'",
    ]


def test_resource_policies_open_to_everyone_are_errors() -> None:
    def program() -> None:
        aws.sqs.QueuePolicy(
            "qp",
            queue_url="https://sqs.eu-west-1.amazonaws.com/123456789012/orders",
            policy=json.dumps({"Statement": [allow("sqs:SendMessage", Principal="*")]}),
        )
        aws.lambda_.Permission("open", action="lambda:InvokeFunction", function="f", principal="*")
        aws.lambda_.Permission(
            "scoped", action="lambda:InvokeFunction", function="f", principal="*", source_arn="arn:aws:sns:x:1:t"
        )

    assert iam_findings(program) == [
        "permission for principal '*' with no source ARN: anyone may invoke the function",
        "principal '*' with no condition: anyone may use it",
    ]


def test_a_function_url_with_no_auth_is_an_error() -> None:
    def program() -> None:
        aws.lambda_.FunctionUrl("open", function_name="f", authorization_type="NONE")
        aws.lambda_.FunctionUrl("iam", function_name="g", authorization_type="AWS_IAM")

    graph = run_program(program)
    found = [(f.name, f.message) for f in rules.check(graph, waived={}) if f.rule == "iam-no-wildcards"]
    assert found == [("open", "function URL with authorization NONE: anyone on the internet may invoke it")]


# --- deterministic order ----------------------------------------------------------------------------
def test_finding_order_does_not_depend_on_graph_order() -> None:
    # GIVEN one graph, and the same resources in the reverse order (another completion order)
    def program() -> None:
        for name in ("b", "a", "c"):
            aws.lambda_.Permission(name, action="lambda:InvokeFunction", function="f", principal="*")
        aws.cloudwatch.LogGroup("forever")

    graph = run_program(program)
    reverse = Graph(list(reversed(list(graph))), graph.exports, graph.component_outputs, graph.stack, graph.project)
    # WHEN the rules run over both THEN the findings come in the same order: by URN, then rule
    forward, backward = rules.check(graph, waived={}), rules.check(reverse, waived={})
    assert forward == backward
    assert [f.urn for f in forward] == sorted(f.urn for f in forward)
    assert [f.name for f in forward if f.rule == "iam-no-wildcards"] == ["a", "b", "c"]


@pytest.mark.parametrize(
    "type_",
    [
        "aws:sqs/queuePolicy:QueuePolicy",
        "aws:sns/topicPolicy:TopicPolicy",
        "aws:s3/bucketPolicy:BucketPolicy",
        "aws:apigateway/restApiPolicy:RestApiPolicy",
        "aws:iam/policy:Policy",
        "aws:iam/rolePolicy:RolePolicy",
    ],
)
def test_every_resource_policy_type_is_read(type_: str) -> None:
    document = json.dumps({"Statement": [allow("sqs:SendMessage", Principal="*")]})
    resource = CapturedResource(f"urn:{type_}::p", type_, "p", {"policy": document}, {}, None, (), True)
    assert type_ in rules.RULES["iam-no-wildcards"].types
    found = list(rules.iam_no_wildcards(resource, Graph([resource])))
    assert found == ["principal '*' with no condition: anyone may use it"]


@pytest.mark.parametrize(
    "type_",
    [
        "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
        "aws:iam/policyAttachment:PolicyAttachment",
        "aws:iam/userPolicyAttachment:UserPolicyAttachment",
        "aws:iam/groupPolicyAttachment:GroupPolicyAttachment",
    ],
)
def test_every_attachment_type_is_read(type_: str) -> None:
    inputs = {"policyArn": "arn:aws:iam::aws:policy/PowerUserAccess"}
    resource = CapturedResource(f"urn:{type_}::a", type_, "a", inputs, {}, None, (), True)
    assert type_ in rules.RULES["iam-no-wildcards"].types
    found = list(rules.iam_no_wildcards(resource, Graph([resource])))
    assert found == ["AWS-managed policy PowerUserAccess attached: its actions and resources are not least privilege"]


def test_a_wildcard_right_after_the_resource_type_is_every_resource_of_that_type() -> None:
    found = iam_findings(role_policy(allow("logs:PutLogEvents", "arn:aws:logs:eu-west-1:123456789012:log-group:*")))
    assert found == ["wildcard resource 'arn:aws:logs:eu-west-1:123456789012:log-group:*'"]


@pytest.mark.parametrize("resource", ["orders", "x:y:z:*:1:q", "arn:aws:sqs"])
def test_a_resource_that_is_not_a_full_arn_is_not_read_as_one(resource: str) -> None:
    assert iam_findings(role_policy(allow("sqs:SendMessage", resource))) == []


def test_a_wildcard_partition_is_a_wildcard_resource() -> None:
    assert iam_findings(role_policy(allow("sqs:SendMessage", "arn:*:sqs:eu-west-1:123456789012:orders"))) == [
        "wildcard resource 'arn:*:sqs:eu-west-1:123456789012:orders'"
    ]


def test_every_scopable_action_on_star_is_listed_sorted() -> None:
    statement = allow(["sqs:SendMessage", "xray:PutTraceSegments", "sqs:ReceiveMessage"], "*")
    assert iam_findings(role_policy(statement)) == [
        "resource '*' for actions that can be scoped: sqs:ReceiveMessage, sqs:SendMessage"
    ]


def test_allow_with_not_principal_is_an_error() -> None:
    statement = {"Effect": "Allow", "NotPrincipal": {"AWS": "arn:aws:iam::1:root"}, "Action": "sqs:SendMessage"}
    assert iam_findings(role_policy({**statement, "Resource": QUEUE_ARN})) == [
        "Allow with NotPrincipal: it grants everything not listed"
    ]


@pytest.mark.parametrize("action", sorted(rules.NO_RESOURCE_LEVEL))
def test_actions_without_resource_level_permissions_may_use_star(action: str) -> None:
    policy = res(
        "aws:iam/policy:Policy",
        "p",
        {"policy": {"Statement": [{"Effect": "Allow", "Action": action, "Resource": "*"}]}},
    )
    assert messages("iam-no-wildcards", policy) == []


def test_the_actions_that_need_star_include_these() -> None:
    # A subset: an action AWS gives no resource-level permission may be added, none removed.
    needed = {
        "xray:PutTraceSegments",
        "xray:PutTelemetryRecords",
        "cloudwatch:PutMetricData",
        "xray:GetSamplingRules",
        "xray:GetSamplingTargets",
    }
    assert needed <= rules.NO_RESOURCE_LEVEL


def test_a_managed_policy_document_is_checked_like_an_inline_one() -> None:
    policy = res(
        "aws:iam/policy:Policy",
        "p",
        {"policy": json.dumps({"Statement": {"Effect": "Allow", "Action": "sqs:*", "Resource": "arn:aws:sqs:r:1:q"}})},
    )
    assert messages("iam-no-wildcards", policy) == ["wildcard action 'sqs:*'"]


def test_a_policy_that_is_not_json_has_no_statements() -> None:
    assert messages("iam-no-wildcards", res("aws:iam/rolePolicy:RolePolicy", "p", {"policy": "{not json"})) == []
