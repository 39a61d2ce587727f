"""The test kit: realistic mock outputs and calls, capture of parents and dependencies, queries."""

from __future__ import annotations

import json

import pulumi
import pulumi_aws as aws
import pytest
from resilient_serverless.components.testing import AwsMocks, run_program


def _program() -> None:
    role = aws.iam.Role("role", assume_role_policy="{}")
    fn = aws.lambda_.Function(
        "fn", name="shop-dev-fn", role=role.arn, handler="h.h", runtime="python3.12", code=pulumi.AssetArchive({})
    )
    queue = aws.sqs.Queue("q", name="shop-dev-q")
    fifo = aws.sqs.Queue("f", name="shop-dev-f.fifo", fifo_queue=True)
    api = aws.apigatewayv2.Api("api", protocol_type="HTTP")
    ws = aws.apigatewayv2.Api("ws", protocol_type="WEBSOCKET", route_selection_expression="$request.body.action")
    rest = aws.apigateway.RestApi("rest")
    sm = aws.sfn.StateMachine("sm", name="shop-dev-sm", role_arn=role.arn, definition="{}")
    who = aws.get_caller_identity_output()
    region = aws.get_region_output()
    doc = aws.iam.get_policy_document_output(
        statements=[
            {  # type: ignore[list-item]
                "actions": ["sqs:SendMessage"],
                "resources": [queue.arn],
                "principals": [{"type": "Service", "identifiers": ["sns.amazonaws.com"]}],
            }
        ]
    )
    pulumi.export("fn_arn", fn.arn)
    pulumi.export("fn_invoke_arn", fn.invoke_arn)
    pulumi.export("queue_url", queue.url)
    pulumi.export("fifo_arn", fifo.arn)
    pulumi.export("api_endpoint", api.api_endpoint)
    pulumi.export("ws_endpoint", ws.api_endpoint)
    pulumi.export("rest_execution_arn", rest.execution_arn)
    pulumi.export("sm_arn", sm.arn)
    pulumi.export("role_arn", role.arn)
    pulumi.export("account", who.account_id)
    pulumi.export("region", region.region)
    pulumi.export("doc", doc.json)


@pytest.fixture(scope="module")
def exports() -> dict[str, object]:
    return run_program(_program, project="shop", stack="dev", mocks=AwsMocks(region="eu-central-1")).exports


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("fn_arn", "arn:aws:lambda:eu-central-1:123456789012:function:shop-dev-fn"),
        (
            "fn_invoke_arn",
            "arn:aws:apigateway:eu-central-1:lambda:path/2015-03-31/functions/"
            "arn:aws:lambda:eu-central-1:123456789012:function:shop-dev-fn/invocations",
        ),
        ("queue_url", "https://sqs.eu-central-1.amazonaws.com/123456789012/shop-dev-q"),
        ("fifo_arn", "arn:aws:sqs:eu-central-1:123456789012:shop-dev-f.fifo"),
        ("sm_arn", "arn:aws:states:eu-central-1:123456789012:stateMachine:shop-dev-sm"),
        ("account", "123456789012"),
        ("region", "eu-central-1"),
    ],
)
def test_outputs_have_real_aws_shapes(exports: dict[str, object], key: str, expected: str) -> None:
    assert exports[key] == expected


def test_autonamed_resources_get_a_pulumi_style_suffix(exports: dict[str, object]) -> None:
    assert str(exports["role_arn"]).startswith("arn:aws:iam::123456789012:role/role-")


def test_api_endpoints_and_execution_arns(exports: dict[str, object]) -> None:
    assert str(exports["api_endpoint"]).startswith("https://")
    assert str(exports["api_endpoint"]).endswith(".execute-api.eu-central-1.amazonaws.com")
    assert str(exports["ws_endpoint"]).startswith("wss://")
    assert str(exports["rest_execution_arn"]).startswith("arn:aws:execute-api:eu-central-1:123456789012:")


def test_policy_documents_render_like_aws(exports: dict[str, object]) -> None:
    doc = json.loads(str(exports["doc"]))
    assert doc == {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": "sqs:SendMessage",
                "Resource": "arn:aws:sqs:eu-central-1:123456789012:shop-dev-q",
                "Principal": {"Service": "sns.amazonaws.com"},
            }
        ],
    }


def test_unknown_call_names_the_token() -> None:
    with pytest.raises(Exception, match="AwsMocks has no answer for the call 'aws:ec2/getVpc:getVpc'"):
        run_program(lambda: aws.ec2.get_vpc(default=True))


def test_capture_records_parent_dependencies_and_queries() -> None:
    class Box(pulumi.ComponentResource):
        def __init__(self, name: str) -> None:
            super().__init__("test:index:Box", name)
            self.q = aws.sqs.Queue(f"{name}-q", opts=pulumi.ResourceOptions(parent=self))
            self.d = aws.sqs.Queue(f"{name}-d", opts=pulumi.ResourceOptions(parent=self, depends_on=[self.q]))
            self.register_outputs({"url": self.q.url})

    graph = run_program(lambda: Box("box"))
    box = graph.one("test:index:Box")
    assert [r.name for r in graph.children_of(box)] == ["box-q", "box-d"]
    assert graph.one(name="box-d").dependencies == (graph.one(name="box-q").urn,)
    assert graph.parent_of(graph.one(name="box-q")) == box
    assert graph.outputs_of(box)["url"].startswith("https://sqs.eu-west-1.amazonaws.com/")
    assert graph.of_type("Queue") == graph.of_type("aws:sqs/queue:Queue")
    with pytest.raises(
        AssertionError, match=r"expected one resource \(type='aws:sqs/queue:Queue', name=None\), found 2"
    ):
        graph.one("aws:sqs/queue:Queue")


def test_numbers_come_back_as_ints() -> None:
    graph = run_program(lambda: aws.sqs.Queue("q", visibility_timeout_seconds=60))
    assert graph.one("aws:sqs/queue:Queue").inputs["visibilityTimeoutSeconds"] == 60
    assert isinstance(graph.one("aws:sqs/queue:Queue").inputs["visibilityTimeoutSeconds"], int)
