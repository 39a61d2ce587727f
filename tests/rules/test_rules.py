"""Each resilience rule fires on the mistake it exists for, and stays quiet on the fix."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pulumi
import pulumi_aws as aws
import pytest
from resilient_serverless.components import rules
from resilient_serverless.components.testing import run_program

CODE = pulumi.AssetArchive({})
FN: dict[str, Any] = {
    "role": "arn:aws:iam::123456789012:role/r",
    "handler": "h.h",
    "runtime": "python3.12",
    "code": CODE,
}
TAGS = {"environment": "t", "component": "c", "managed-by": "m"}


def findings(program: Callable[[], None], rule_id: str) -> list[str]:
    graph = run_program(program)
    return [f.message for f in rules.check(graph, waived={}) if f.rule == rule_id]


def good_function(name: str = "f", **extra: object) -> aws.lambda_.Function:
    aws.cloudwatch.LogGroup(f"{name}-logs", name=f"/aws/lambda/{name}", retention_in_days=7, tags=TAGS)
    args: dict[str, Any] = {
        **FN,
        "name": name,
        "timeout": 5,
        "reserved_concurrent_executions": 5,
        "tags": TAGS,
        "tracing_config": {"mode": "Active"},
        # traced through the ADOT layer: the X-Ray SDKs' and daemon's support ends on 2027-02-25
        "environment": {"variables": {"AWS_LAMBDA_EXEC_WRAPPER": "/opt/otel-instrument"}},
        "logging_config": {"log_format": "JSON"},
        **extra,
    }
    return aws.lambda_.Function(name, **args)


@pytest.mark.parametrize(
    ("rule_id", "bad", "message"),
    [
        (
            "lambda-explicit-timeout",
            lambda: aws.lambda_.Function("f", **FN),
            "no timeout set: work is bounded only by the 3 s AWS default",
        ),
        (
            "lambda-bounded-concurrency",
            lambda: aws.lambda_.Function("f", **FN),
            "unreserved concurrency and no queue mapping bounds it: excess work is not shed",
        ),
        (
            "lambda-bounded-concurrency",
            lambda: good_function(reserved_concurrent_executions=0),
            "reserved concurrency 0: the function is disabled (every invocation is throttled)",
        ),
        (
            "lambda-tracing-active",
            lambda: aws.lambda_.Function("f", **FN),
            "tracing is not Active: no X-Ray trace for this function",
        ),
        (
            "lambda-json-logs-with-retention",
            lambda: aws.lambda_.Function("f", name="f", **FN),
            "log format is not JSON: logs cannot be queried by field",
        ),
        (
            "log-group-retention",
            lambda: aws.cloudwatch.LogGroup("g"),
            "no retention: logs are kept (and billed) forever",
        ),
        (
            "async-invoke-bounded",
            lambda: aws.lambda_.FunctionEventInvokeConfig("c", function_name="f"),
            "no on-failure destination: failed events are lost",
        ),
        (
            "sqs-dead-letter",
            lambda: aws.sqs.Queue("q", sqs_managed_sse_enabled=True),
            "no redrive policy and not a DLQ: a poison message is retried until retention drops it",
        ),
        ("sqs-encrypted", lambda: aws.sqs.Queue("q"), "no server-side encryption"),
        (
            "alarm-has-actions",
            lambda: aws.cloudwatch.MetricAlarm(
                "a",
                comparison_operator="GreaterThanThreshold",
                evaluation_periods=1,
                metric_name="Errors",
                namespace="AWS/Lambda",
                period=60,
                statistic="Sum",
                threshold=0,
            ),
            "no alarm action: the alarm fires unseen",
        ),
        ("tags-required", lambda: aws.sqs.Queue("q", tags={"environment": "t"}), "missing tags: component, managed-by"),
        (
            "iam-no-wildcards",
            lambda: aws.iam.RolePolicy(
                "p",
                role="r",
                policy=json.dumps({"Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "arn:aws:s3:::b"}]}),
            ),
            "wildcard action 's3:*'",
        ),
        (
            "iam-no-wildcards",
            lambda: aws.iam.RolePolicy(
                "p",
                role="r",
                policy=json.dumps(
                    {
                        "Statement": [
                            {"Effect": "Allow", "Action": ["sqs:SendMessage", "xray:PutTraceSegments"], "Resource": "*"}
                        ]
                    }
                ),
            ),
            "resource '*' for actions that can be scoped: sqs:SendMessage",
        ),
    ],
)
def test_rule_fires_on_the_mistake(rule_id: str, bad: Callable[[], None], message: str) -> None:
    assert message in findings(bad, rule_id)


def test_a_well_built_function_passes_every_function_rule() -> None:
    found = [f for f in rules.check(run_program(good_function), waived={})]
    assert found == []


def test_missing_log_group_is_reported_with_its_name() -> None:
    def program() -> None:
        aws.lambda_.Function(
            "f", name="shop-f", timeout=3, reserved_concurrent_executions=1, logging_config={"log_format": "JSON"}, **FN
        )

    assert findings(program, "lambda-json-logs-with-retention") == [
        "log group /aws/lambda/shop-f is not managed by this stack: Lambda creates it with no retention"
    ]


def test_queue_named_as_another_queues_dlq_needs_no_dlq_of_its_own() -> None:
    def program() -> None:
        dlq = aws.sqs.Queue("dlq", sqs_managed_sse_enabled=True, tags=TAGS)
        aws.sqs.Queue(
            "main",
            sqs_managed_sse_enabled=True,
            tags=TAGS,
            redrive_policy=dlq.arn.apply(lambda arn: json.dumps({"deadLetterTargetArn": arn, "maxReceiveCount": 5})),
        )

    assert findings(program, "sqs-dead-letter") == []


def test_granting_send_on_a_queue_does_not_make_it_a_dlq() -> None:
    def program() -> None:
        queue = aws.sqs.Queue("q", sqs_managed_sse_enabled=True)
        aws.iam.RolePolicy(
            "p",
            role="r",
            policy=queue.arn.apply(
                lambda arn: json.dumps(
                    {"Statement": [{"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": arn}]}
                )
            ),
        )

    assert len(findings(program, "sqs-dead-letter")) == 1


def test_unreserved_function_bounded_by_its_mapping_passes() -> None:
    def program() -> None:
        fn = good_function(reserved_concurrent_executions=-1)
        aws.lambda_.EventSourceMapping(
            "m",
            function_name=fn.name,
            event_source_arn="arn:aws:sqs:eu-west-1:1:q",
            scaling_config={"maximum_concurrency": 5},
        )

    assert findings(program, "lambda-bounded-concurrency") == []


def test_provisioned_above_reserved_is_an_error() -> None:
    def program() -> None:
        fn = good_function(reserved_concurrent_executions=2)
        aws.lambda_.ProvisionedConcurrencyConfig(
            "p", function_name=fn.name, qualifier="live", provisioned_concurrent_executions=3
        )

    assert findings(program, "provisioned-within-reserved") == ["provisioned 3 exceeds reserved concurrency 2"]


def test_waived_findings_keep_their_reason() -> None:
    graph = run_program(lambda: aws.sqs.Queue("q", tags=TAGS, sqs_managed_sse_enabled=False))
    found = rules.check(graph, waived={"sqs-encrypted": "test queue"})
    assert [(f.rule, f.waived) for f in found if f.rule == "sqs-encrypted"] == [("sqs-encrypted", "test queue")]


def test_waive_refuses_unknown_rules_and_empty_reasons() -> None:
    with pytest.raises(KeyError, match="unknown rule 'nope'"):
        rules.waive("nope", "x")
    with pytest.raises(ValueError, match="waiving 'sqs-encrypted' needs a reason"):
        rules.waive("sqs-encrypted", " ")


def test_rule_ids_are_unique_and_described() -> None:
    assert all(r.description and r.severity in ("error", "warning") for r in rules.RULES.values())
    with pytest.raises(ValueError, match="rule 'sqs-encrypted' is registered twice"):
        rules.rule("sqs-encrypted", "error", (), "dup")(lambda r, g: [])


# --- API Gateway rules -------------------------------------------------------------------------------
def test_http_route_setting_without_both_throttle_values_is_an_error() -> None:
    def program() -> None:
        aws.apigatewayv2.Stage(
            "s",
            api_id="a",
            name="$default",
            default_route_settings={"throttling_rate_limit": 10, "throttling_burst_limit": 20},
            route_settings=[{"route_key": "GET /x", "throttling_rate_limit": 10}],
            access_log_settings={"destination_arn": "arn:aws:logs:x", "format": "{}"},
        )

    assert findings(program, "api-stage-throttled") == ["route GET /x omits a throttle value: AWS throttles it to 0"]


def test_http_stage_without_default_throttle_is_an_error() -> None:
    def program() -> None:
        aws.apigatewayv2.Stage("s", api_id="a", name="$default")

    assert findings(program, "api-stage-throttled") == [
        "default route settings lack a rate and burst: AWS throttles such a stage to 0"
    ]
    assert findings(program, "api-access-logs") == [
        "no access log settings: rejected and failed requests leave no trace"
    ]


def test_rest_stage_without_stage_wide_throttle_is_an_error() -> None:
    def program() -> None:
        aws.apigateway.Stage("s", rest_api="api1", deployment="d", stage_name="live")

    assert findings(program, "api-stage-throttled") == [
        "stage live has no '*/*' method settings with a throttle: only the account limit applies"
    ]


def test_integration_that_gives_up_before_its_function_is_an_error() -> None:
    def program() -> None:
        fn = good_function(timeout=20)
        aws.apigateway.Integration(
            "i",
            rest_api="api1",
            resource_id="r",
            http_method="GET",
            type="AWS_PROXY",
            integration_http_method="POST",
            uri=fn.invoke_arn,
            timeout_milliseconds=15000,
        )

    assert findings(program, "api-timeout-chain") == [
        "function f may run 20 s, not less than the 15000 ms integration timeout: the gateway gives up while the "
        "function still works"
    ]


def test_permission_open_to_every_api_is_an_error() -> None:
    def program() -> None:
        aws.lambda_.Permission("p", action="lambda:InvokeFunction", function="f", principal="apigateway.amazonaws.com")
        aws.lambda_.Permission(
            "q",
            action="lambda:InvokeFunction",
            function="f",
            principal="apigateway.amazonaws.com",
            source_arn="arn:aws:execute-api:eu-west-1:123456789012:abc123/*",
        )

    # The two permissions register concurrently: their order in the graph is not fixed.
    assert sorted(findings(program, "lambda-permission-scoped")) == [
        "source ARN (none) does not name one API, stage, method and path",
        "source ARN arn:aws:execute-api:eu-west-1:123456789012:abc123/* does not name one API, stage, method and path",
    ]


# --- queue rules -------------------------------------------------------------------------------------
def _queue_with_consumer(visibility: int, **mapping: Any) -> Callable[[], None]:
    def program() -> None:
        dlq = aws.sqs.Queue("dlq", message_retention_seconds=1_209_600, sqs_managed_sse_enabled=True, tags=TAGS)
        queue = aws.sqs.Queue(
            "q",
            visibility_timeout_seconds=visibility,
            sqs_managed_sse_enabled=True,
            tags=TAGS,
            redrive_policy=dlq.arn.apply(lambda a: json.dumps({"deadLetterTargetArn": a, "maxReceiveCount": 5})),
        )
        fn = good_function(timeout=10, reserved_concurrent_executions=-1)
        aws.lambda_.EventSourceMapping("m", event_source_arn=queue.arn, function_name=fn.name, tags=TAGS, **mapping)

    return program


def test_visibility_below_six_times_the_consumer_timeout_is_an_error() -> None:
    program = _queue_with_consumer(
        30,
        maximum_batching_window_in_seconds=2,
        function_response_types=["ReportBatchItemFailures"],
        scaling_config={"maximum_concurrency": 2},
    )
    assert findings(program, "sqs-visibility-covers-consumer") == [
        "queue q hides a received batch for 30 s, below the 62 s its consumer f may need (6 x 10 s + window): "
        "work is delivered twice"
    ]
    assert findings(program, "sqs-mapping-isolated") == []


def test_mapping_without_partial_batches_or_concurrency_is_an_error() -> None:
    assert findings(_queue_with_consumer(60), "sqs-mapping-isolated") == [
        "no ReportBatchItemFailures: one bad message makes the whole batch retry",
        "no maximum concurrency (nor maximum pollers): a flood on this queue can take every execution environment",
    ]


def test_dlq_that_expires_first_or_differs_in_type_is_an_error() -> None:
    def program() -> None:
        dlq = aws.sqs.Queue("dlq", message_retention_seconds=60, fifo_queue=True, tags=TAGS)
        aws.sqs.Queue(
            "q",
            message_retention_seconds=345_600,
            tags=TAGS,
            redrive_policy=dlq.arn.apply(lambda a: json.dumps({"deadLetterTargetArn": a, "maxReceiveCount": 5})),
        )

    assert findings(program, "sqs-dlq-outlives-source") == [
        "its DLQ dlq keeps messages 60 s, not longer than this queue's 345600 s: a redriven message can expire "
        "before anyone looks",
        "its DLQ dlq is not of the same type (standard or FIFO)",
    ]
