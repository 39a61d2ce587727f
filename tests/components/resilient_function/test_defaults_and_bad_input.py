"""ResilientFunction: each documented default reaches the resource inputs; bad input is refused
with exact messages before anything is registered."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pulumi
import pytest
from resilient_serverless.components import ConfigError, ResilientFunction
from resilient_serverless.components.testing import Graph, run_program

from tests.conftest import HANDLERS

FUNCTION = "aws:lambda/function:Function"


def build(name: str = "orders", **args: Any) -> Graph:
    def program() -> None:
        fn = ResilientFunction(name, {"handler": "app.handlers.orders.lambda_handler", "code": HANDLERS, **args})
        pulumi.export("target", fn.target_arn)
        pulumi.export("invoke", fn.invoke_arn)

    return run_program(program, project="shop", stack="dev")


def error_of(**args: Any) -> ConfigError:
    with pytest.raises(ConfigError) as raised:
        build(**args)
    return raised.value


@pytest.fixture(scope="module")
def sync_graph() -> Graph:
    return build()


@pytest.fixture(scope="module")
def async_graph() -> Graph:
    return build("ingest", invocation="async")


def _dig(inputs: dict[str, Any], path: str) -> Any:
    value: Any = inputs
    for key in path.split("."):
        value = value[int(key)] if isinstance(value, list) else value[key]
    return value


# --- documented defaults, one test each --------------------------------------------------------
@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("timeout", 10),
        ("memorySize", 512),
        ("runtime", "python3.13"),  # AWS supports it longest (aws_facts: 2029-06-30)
        ("architectures.0", "arm64"),
        ("reservedConcurrentExecutions", 10),
        ("tracingConfig.mode", "Active"),
        ("loggingConfig.logFormat", "JSON"),
        ("loggingConfig.applicationLogLevel", "INFO"),
        ("loggingConfig.systemLogLevel", "WARN"),
        ("loggingConfig.logGroup", "/aws/lambda/shop-dev-orders"),
        ("environment.variables.POWERTOOLS_SERVICE_NAME", "orders"),
        ("environment.variables.POWERTOOLS_METRICS_NAMESPACE", "shop"),
        ("environment.variables.POWERTOOLS_LOG_LEVEL", "INFO"),
        ("layers.0", "arn:aws:lambda:eu-west-1:017000801446:layer:AWSLambdaPowertoolsPythonV3-python313-arm64:27"),
        ("name", "shop-dev-orders"),
        ("publish", False),
    ],
)
def test_function_default(sync_graph: Graph, path: str, expected: Any) -> None:
    fn = sync_graph.one(FUNCTION)
    assert _dig(fn.inputs, path) == expected, fn.urn


def test_log_group_default_retention_is_30_days(sync_graph: Graph) -> None:
    group = sync_graph.one("aws:cloudwatch/logGroup:LogGroup")
    assert (group.inputs["name"], group.inputs["retentionInDays"]) == ("/aws/lambda/shop-dev-orders", 30), group.urn


def test_function_waits_for_its_log_group_and_policy(sync_graph: Graph) -> None:
    fn = sync_graph.one(FUNCTION)
    assert sync_graph.one("aws:cloudwatch/logGroup:LogGroup").urn in fn.dependencies
    assert sync_graph.one(name="orders-basic").urn in fn.dependencies


def test_role_writes_only_its_own_log_group_and_traces(sync_graph: Graph) -> None:
    policy = json.loads(sync_graph.one(name="orders-basic").inputs["policy"])
    assert policy["Statement"] == [
        {
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
            "Effect": "Allow",
            "Resource": ["arn:aws:logs:eu-west-1:123456789012:log-group:/aws/lambda/shop-dev-orders:*"],
        },
        {"Action": ["xray:PutTelemetryRecords", "xray:PutTraceSegments"], "Effect": "Allow", "Resource": ["*"]},
    ]
    role = sync_graph.one("aws:iam/role:Role")
    assert json.loads(role.inputs["assumeRolePolicy"])["Statement"][0]["Principal"] == {
        "Service": "lambda.amazonaws.com"
    }


def test_sync_alarms_errors_throttles_and_duration_at_80_percent(sync_graph: Graph) -> None:
    alarms = {a.inputs["metricName"]: a.inputs for a in sync_graph.of_type("aws:cloudwatch/metricAlarm:MetricAlarm")}
    assert set(alarms) == {"Errors", "Throttles", "Duration"}
    assert alarms["Duration"]["threshold"] == 8000
    assert alarms["Duration"]["extendedStatistic"] == "p99"
    assert all(a["dimensions"] == {"FunctionName": "shop-dev-orders"} for a in alarms.values())
    assert all(a["alarmActions"] == [] for a in alarms.values())


def test_every_child_is_parented_and_tagged(sync_graph: Graph) -> None:
    component = sync_graph.one("ResilientFunction")
    for child in sync_graph.descendants_of(component):
        assert child.parent == component.urn, child.urn
    for taggable in ("aws:lambda/function:Function", "aws:iam/role:Role", "aws:cloudwatch/logGroup:LogGroup"):
        tags = sync_graph.one(taggable).inputs["tags"]
        assert tags == {
            "environment": "dev",
            "component": "ResilientFunction/orders",
            "managed-by": "resilient-serverless",
        }, taggable


def test_async_default_retries_1_and_event_age_1_hour_to_a_dlq(async_graph: Graph) -> None:
    config = async_graph.one("aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig")
    dlq = async_graph.one("aws:sqs/queue:Queue")
    assert config.inputs["maximumRetryAttempts"] == 1, config.urn
    assert config.inputs["maximumEventAgeInSeconds"] == 3600, config.urn
    assert config.inputs["destinationConfig"]["onFailure"]["destination"] == dlq.outputs["arn"]


def test_async_dlq_keeps_14_days_encrypted_and_is_sendable(async_graph: Graph) -> None:
    dlq = async_graph.one("aws:sqs/queue:Queue")
    assert dlq.inputs["messageRetentionSeconds"] == 1_209_600
    assert dlq.inputs["sqsManagedSseEnabled"] is True
    grant = json.loads(async_graph.one(name="ingest-grant-send-ingest-dlq").inputs["policy"])
    assert grant["Statement"] == [{"Action": ["sqs:SendMessage"], "Effect": "Allow", "Resource": [dlq.outputs["arn"]]}]
    env = async_graph.one(FUNCTION).inputs["environment"]["variables"]
    assert env["RESILIENT_DLQ_URL"] == dlq.outputs["url"]


def test_async_alarms_add_dropped_events_and_dlq_depth(async_graph: Graph) -> None:
    metrics = sorted(a.inputs["metricName"] for a in async_graph.of_type("MetricAlarm"))
    assert metrics == ["ApproximateNumberOfMessagesVisible", "AsyncEventsDropped", "Duration", "Errors", "Throttles"]


def test_user_destination_replaces_the_dlq() -> None:
    arn = "arn:aws:sqs:eu-west-1:123456789012:shared-dlq"
    graph = build("ingest", invocation="async", on_failure_destination_arn=arn)
    assert graph.of_type("aws:sqs/queue:Queue") == []
    config = graph.one("FunctionEventInvokeConfig")
    assert config.inputs["destinationConfig"]["onFailure"]["destination"] == arn
    env = graph.one(FUNCTION).inputs["environment"]["variables"]
    assert env["RESILIENT_DLQ_URL"] == "https://sqs.eu-west-1.amazonaws.com/123456789012/shared-dlq"


def test_queue_functions_are_unreserved_by_default() -> None:
    fn = build("worker", invocation="queue").one(FUNCTION)
    assert fn.inputs["reservedConcurrentExecutions"] == -1, fn.urn


def test_provisioned_concurrency_goes_on_a_live_alias_that_callers_use() -> None:
    graph = build(provisioned_concurrency=3)
    alias = graph.one("aws:lambda/alias:Alias")
    config = graph.one("ProvisionedConcurrencyConfig")
    assert graph.one(FUNCTION).inputs["publish"] is True
    assert (alias.inputs["name"], alias.inputs["functionVersion"]) == ("live", "1")
    assert (config.inputs["qualifier"], config.inputs["provisionedConcurrentExecutions"]) == ("live", 3)
    assert graph.exports["target"] == "arn:aws:lambda:eu-west-1:123456789012:function:shop-dev-orders:live"
    outputs = graph.outputs_of(graph.one("ResilientFunction"))
    assert outputs["alias_arn"] == graph.exports["target"]
    assert outputs["function_arn"] == "arn:aws:lambda:eu-west-1:123456789012:function:shop-dev-orders"
    assert graph.exports["invoke"].endswith("function:shop-dev-orders:live/invocations")


def test_snap_start_publishes_versions_behind_the_alias() -> None:
    graph = build(snap_start=True)
    assert graph.one(FUNCTION).inputs["snapStart"] == {"applyOn": "PublishedVersions"}
    assert graph.one("aws:lambda/alias:Alias").inputs["name"] == "live"
    assert graph.of_type("ProvisionedConcurrencyConfig") == []


def test_bundle_mode_ships_powertools_without_a_layer() -> None:
    fn = build(powertools="bundle").one(FUNCTION)
    assert fn.inputs["layers"] == []


def test_alarm_topic_is_the_alarm_and_ok_action() -> None:
    topic = "arn:aws:sns:eu-west-1:123456789012:ops"
    for alarm in build(alarm_topic_arn=topic).of_type("MetricAlarm"):
        assert (alarm.inputs["alarmActions"], alarm.inputs["okActions"]) == ([topic], [topic]), alarm.urn


# --- escape hatches and helpers ----------------------------------------------------------------
def test_transform_dict_is_merged_into_the_child() -> None:
    fn = build(transform={"function": {"ephemeral_storage": {"size": 1024}, "timeout": 5}}).one(FUNCTION)
    assert (fn.inputs["ephemeralStorage"], fn.inputs["timeout"]) == ({"size": 1024}, 5)


def test_transform_callable_edits_args_and_options() -> None:
    seen: list[str] = []

    def edit(args: dict[str, Any], opts: pulumi.ResourceOptions) -> None:
        seen.append(args["name"])
        args["retention_in_days"] = 90

    group = build(transform={"log_group": edit}).one("aws:cloudwatch/logGroup:LogGroup")
    assert seen == ["/aws/lambda/shop-dev-orders"]
    assert group.inputs["retentionInDays"] == 90


def test_grant_invoke_is_scoped_to_the_source_arn() -> None:
    source = "arn:aws:execute-api:eu-west-1:123456789012:abc123/*/GET/orders/*"

    def program() -> None:
        fn = ResilientFunction(
            "orders", {"handler": "app.handlers.orders.lambda_handler", "code": HANDLERS, "provisioned_concurrency": 1}
        )
        fn.grant_invoke("api", "apigateway.amazonaws.com", source)

    permission = run_program(program, project="shop", stack="dev").one("aws:lambda/permission:Permission")
    assert permission.inputs == {
        "action": "lambda:InvokeFunction",
        "function": "shop-dev-orders",
        "principal": "apigateway.amazonaws.com",
        "sourceArn": source,
        "qualifier": "live",
    }


def test_grants_refuse_wildcards() -> None:
    def program() -> None:
        fn = ResilientFunction("orders", {"handler": "app.handlers.orders.lambda_handler", "code": HANDLERS})
        fn.grants.allow("everything", ["dynamodb:*"], ["*"])

    with pytest.raises(
        ConfigError,
        match=r"grant 'everything' on 'orders': action 'dynamodb:\*' is a wildcard; "
        r"resource '\*' is a wildcard",
    ):
        run_program(program)


# --- bad input: exact messages, nothing registered -------------------------------------------
PREFIX = "ResilientFunction 'orders': "


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"timeout": 901, "invocation": "async"}, "timeout=901 is outside 1 to 900 seconds (Lambda timeout)"),
        ({"timeout": 0}, "timeout=0 is outside 1 to 900 seconds (Lambda timeout)"),
        ({"memory": 64}, "memory=64 is outside 128 to 10240 MB (Lambda memory)"),
        ({"memory": 10241}, "memory=10241 is outside 128 to 10240 MB (Lambda memory)"),
        (
            {"invocation": "async", "async_max_retries": 3},
            "async_max_retries=3 is outside 0 to 2 (Lambda async invocation retries)",
        ),
        (
            {"invocation": "async", "async_max_event_age": 59},
            "async_max_event_age=59 is outside 60 to 21600 seconds (Lambda maximum event age)",
        ),
        (
            {"invocation": "async", "async_max_event_age": 21601},
            "async_max_event_age=21601 is outside 60 to 21600 seconds (Lambda maximum event age)",
        ),
        (
            {"reserved_concurrency": 5, "provisioned_concurrency": 6},
            "provisioned_concurrency=6 exceeds reserved_concurrency=5: warm environments beyond the reservation "
            "could never serve a request",
        ),
        (
            {"reserved_concurrency": 0},
            "reserved_concurrency=0 disables the function (every invocation is throttled): set "
            "allow_zero_concurrency=True if that is the intent",
        ),
        (
            {"reserved_concurrency": 901},
            "reserved_concurrency=901 is outside 0 to 900 "
            "(account concurrency 1000 minus the 100 AWS keeps unreserved)",
        ),
        (
            {"reserved_concurrency": None},
            "reserved_concurrency=None is only allowed for queue functions (their mapping's maximum concurrency "
            "bounds them): a sync function needs a limit to shed excess work",
        ),
        (
            {"timeout": 30},
            "timeout=30 is too long for a sync function: it must be below 30 s so it gives up before API Gateway "
            "(29 s REST, 30 s HTTP): use invocation='async' for longer work",
        ),
        (
            {"snap_start": True, "provisioned_concurrency": 2},
            "snap_start=True cannot be combined with provisioned_concurrency=2 (AWS)",
        ),
        ({"async_max_retries": 1}, "async_max_retries applies only to invocation='async', not 'sync'"),
        ({"invocation": "stream"}, "invocation='stream' is not one of 'sync', 'async', 'queue'"),
        ({"runtime": "python3.9"}, "runtime='python3.9' is not one of 'python3.12', 'python3.13'"),
        ({"log_retention_days": 10}, "log_retention_days=10 is not one of 1, 3, 5, 7, 14, 30"),
        ({"handler": "main"}, "handler='main' must be 'module.function', e.g. 'handlers.orders.lambda_handler'"),
        ({"code": "/no/such/dir"}, "code='/no/such/dir' is not an existing path"),
        ({"timeuot": 5}, "unknown argument 'timeuot': did you mean 'timeout'? (valid arguments: "),
        ({"transform": {"fn": {}}}, "unknown transform key 'fn' (valid transform keys: alarm, alias, basic_policy"),
    ],
)
def test_bad_input_is_named_with_its_range(args: dict[str, Any], message: str) -> None:
    error = error_of(**args)
    assert str(error).startswith(PREFIX), error
    assert any(p.startswith(message) for p in error.problems), error.problems


def test_every_problem_is_reported_at_once() -> None:
    text = str(error_of(timeout=0, memory=1))
    assert text == (
        PREFIX + "timeout=0 is outside 1 to 900 seconds (Lambda timeout); "
        "memory=1 is outside 128 to 10240 MB (Lambda memory)"
    )


def test_required_arguments() -> None:
    def program() -> None:
        ResilientFunction("orders", {})

    with pytest.raises(ConfigError, match=r"^ResilientFunction 'orders': handler is required; code is required$"):
        run_program(program)


def test_bad_input_registers_nothing() -> None:
    registered: list[Any] = []

    def program() -> None:
        try:
            ResilientFunction("orders", {"handler": "h.h", "code": HANDLERS, "memory": 1})
        except ConfigError:
            registered.append("refused")

    graph = run_program(program)
    assert registered == ["refused"]
    assert len(graph) == 0


def test_zero_concurrency_with_opt_in_is_a_kill_switch() -> None:
    fn = build(reserved_concurrency=0, allow_zero_concurrency=True).one(FUNCTION)
    assert fn.inputs["reservedConcurrentExecutions"] == 0


def test_layer_for_other_partitions_is_refused() -> None:
    from resilient_serverless.components.resilient_function import powertools_layer_arn

    with pytest.raises(ValueError, match="no official Powertools layer is published in partition 'aws-us-gov'"):
        powertools_layer_arn("us-gov-west-1", "aws-us-gov", "python3.12", "arm64", 27)
    assert powertools_layer_arn("cn-north-1", "aws-cn", "python3.13", "x86_64", 27) == (
        "arn:aws-cn:lambda:cn-north-1:498634801083:layer:AWSLambdaPowertoolsPythonV3-python313-x86_64:27"
    )


def test_alarms_use_one_minute_periods_two_of_three_and_ignore_missing_data(sync_graph: Graph) -> None:
    for alarm in sync_graph.of_type("aws:cloudwatch/metricAlarm:MetricAlarm"):
        assert (alarm.inputs["period"], alarm.inputs["evaluationPeriods"], alarm.inputs["datapointsToAlarm"]) == (
            60,
            3,
            2,
        ), alarm.urn
        assert alarm.inputs["treatMissingData"] == "notBreaching"
        assert alarm.inputs["comparisonOperator"] == "GreaterThanThreshold"


def test_bundle_mode_packages_powertools_and_its_missing_dependency() -> None:
    fn = build(powertools="bundle").one(FUNCTION)
    assets = fn.inputs["code"].assets
    assert set(assets) == {".", "aws_lambda_powertools", "typing_extensions.py"}
    assert Path(assets["aws_lambda_powertools"].path, "logging").is_dir()
    assert Path(assets["typing_extensions.py"].path).is_file()


def test_transform_values_must_be_dicts_or_callables() -> None:
    error = error_of(transform={"function": 42})
    assert error.problems == ["transform['function'] must be a dict or a callable, got 42"]


def test_a_grant_label_is_used_once_per_role() -> None:
    def program() -> None:
        fn = ResilientFunction("orders", {"handler": "app.handlers.orders.lambda_handler", "code": HANDLERS})
        fn.grants.allow("read", ["dynamodb:GetItem"], ["arn:aws:dynamodb:eu-west-1:123456789012:table/t"])
        fn.grants.allow("read", ["dynamodb:Query"], ["arn:aws:dynamodb:eu-west-1:123456789012:table/t"])

    with pytest.raises(ConfigError, match=r"^grant 'read' on 'orders': grant label 'read' is used twice on this role$"):
        run_program(program)


def test_queue_url_of_arn() -> None:
    from resilient_serverless.components.resilient_function import queue_url_of_arn

    assert queue_url_of_arn("arn:aws-cn:sqs:cn-north-1:123456789012:q") == (
        "https://sqs.cn-north-1.amazonaws.com.cn/123456789012/q"
    )
    with pytest.raises(
        ValueError, match="on_failure_destination_arn='arn:aws:sns:eu-west-1:1:t' is not an SQS queue ARN"
    ):
        queue_url_of_arn("arn:aws:sns:eu-west-1:1:t")
