"""The rule catalogue as ``resilient-serverless rules`` prints it (every rule's id, severity and
description, so a rule cannot change unnoticed), the engine around it (registration, waivers,
findings as values) and the rule every taggable resource meets (tags)."""

from __future__ import annotations

import pytest
from resilient_serverless.components import rules
from resilient_serverless.components.testing import Graph, run_program

from .hand_built import TAGS, function, messages, queue, res

CATALOGUE = {
    "lambda-explicit-timeout": ("error", "Every function sets its timeout (the 3 s AWS default is never a decision)"),
    "lambda-bounded-concurrency": (
        "error",
        "Every function has reserved concurrency, or is fed by a queue mapping with maximum concurrency or pollers",
    ),
    "lambda-tracing-active": ("warning", "X-Ray active tracing is on"),
    "lambda-json-logs-with-retention": (
        "error",
        "Logs are JSON and go to a log group of this stack that has a retention",
    ),
    "log-group-retention": ("error", "Every log group has a retention period"),
    "async-invoke-bounded": (
        "error",
        "Async invocations have bounded retries and event age and an on-failure destination",
    ),
    "provisioned-within-reserved": (
        "error",
        "Provisioned concurrency does not exceed the function's reserved concurrency",
    ),
    "iam-no-wildcards": (
        "error",
        "No wildcard action, resource or principal, no NotAction, no broad managed policy, no open Function URL",
    ),
    "sqs-dead-letter": ("error", "Every queue has a DLQ, or is itself a dead-letter target"),
    "sqs-encrypted": ("warning", "Queues are encrypted at rest"),
    "alarm-has-actions": ("warning", "Alarms notify someone"),
    "tags-required": ("warning", "Taggable resources carry environment, component, managed-by"),
    "api-stage-throttled": ("error", "Every API stage and route has a non-zero throttle (rate and burst)"),
    "api-access-logs": ("error", "Every API stage writes access logs"),
    "api-timeout-chain": (
        "error",
        "A synchronous Lambda integration outlasts its function and stays within the gateway's limit",
    ),
    "lambda-permission-scoped": (
        "error",
        "API Gateway may invoke a function only from one API, stage, method and path",
    ),
    "api-capacity": ("warning", "A route admits no more than its function can serve (Little's law: rate x latency)"),
    "sqs-visibility-covers-consumer": (
        "error",
        "A queue's visibility timeout is at least 6x its consumer's timeout plus the batching window",
    ),
    "sqs-mapping-isolated": (
        "error",
        "An SQS consumer reports partial batch failures and has its own maximum concurrency (or pollers)",
    ),
    "sqs-dlq-outlives-source": ("error", "A dead-letter queue keeps messages longer than its source"),
    "websocket-throttled": (
        "error",
        "A WebSocket stage throttles every route by name, and $connect within the account's 500 connections/s",
    ),
    "manage-connections-scoped": (
        "error",
        "execute-api:ManageConnections names one API, stage and method on @connections",
    ),
    "api-account-role": (
        "warning",
        "A logging REST API's stack manages the region's API Gateway role, or says another stack does",
    ),
    "api-method-path-escaped": (
        "error",
        "A REST method setting names its method with every / of the resource path written ~1",
    ),
    "api-fifo-target-grouped": (
        "error",
        "An API sending to a FIFO queue sends a message group id (and a dedup id unless content-based)",
    ),
    "api-write-route-guarded": (
        "warning",
        "A write route has authorization or a per-client limit (API key usage plan, WAF rate per IP)",
    ),
    "alarm-to-ops-topic": ("error", "Where the stack has an ops topic, every alarm (metric or composite) notifies it"),
    "canary-retention": (
        "error",
        "A canary keeps run data for a bounded time, and its artifacts bucket expires them and blocks public access",
    ),
    "canary-role-scoped": ("error", "A canary's role is this stack's, with inline scoped permissions"),
    "insight-rule-retention": (
        "error",
        "A Contributor Insights rule reads only this stack's log groups, each with a retention period",
    ),
    "sfn-execution-timeout": ("error", "A state machine bounds each execution (TimeoutSeconds)"),
    "sfn-task-timeout": ("error", "Every Task state has TimeoutSeconds"),
    "sfn-task-retry": ("error", "Every Task state retries with backoff, full jitter and a maximum delay"),
    "sfn-task-catch": ("error", "Every Task state catches its errors into a state that records them"),
    "sfn-callback-heartbeat": (
        "error",
        "A task that waits for a task token has HeartbeatSeconds below its TimeoutSeconds",
    ),
    "jobs-start-within-quota": (
        "warning",
        "A job workflow's starter issues no more StartExecution calls than the account's quota refills",
    ),
    "jobs-webhook-delivery-bounded": (
        "error",
        "Webhook deliveries retry a bounded number of times, then land in a DLQ that raises an alarm",
    ),
    "runtime-supported": (
        "error",
        "A function's or canary's runtime is not past its deprecation date (AWS refuses to create on it)",
    ),
    "sfn-express-request-response": (
        "error",
        "An Express state machine uses only Request Response integrations (no .sync, no .waitForTaskToken)",
    ),
    "sqs-redrive-retries": (
        "error",
        "A redrive policy lets a message be received at least 2 times before it is dead-lettered",
    ),
    "eventbridge-target-dead-letter": (
        "error",
        "An EventBridge target has a retry policy and a dead-letter queue",
    ),
    "stream-mapping-bounded": (
        "error",
        "A DynamoDB or Kinesis stream mapping bounds its retries, splits a failing batch and keeps what fails",
    ),
    "sfn-role-can-call-its-tasks": (
        "error",
        "A state machine's role may call every Lambda function, queue, topic and table its tasks name",
    ),
    "tracing-path-supported": (
        "warning",
        "A traced function's tracing path is not past or near its end of support (X-Ray SDKs and daemon: 2027-02-25)",
    ),
    "api-queue-route-tenant": (
        "warning",
        "A queue route whose API tells callers apart (auth or usage plans) sends a tenant on standard queues",
    ),
}


def test_the_catalogue_names_every_rule() -> None:
    assert sorted(CATALOGUE) == sorted(rules.RULES)


@pytest.mark.parametrize("rule_id", sorted(CATALOGUE))
def test_each_rule_keeps_its_severity_and_description(rule_id: str) -> None:
    # The plan's exit code follows the severity, and ``resilient-serverless rules`` prints both.
    r = rules.RULES[rule_id]
    assert (r.severity, r.description) == CATALOGUE[rule_id]


def test_a_waiver_is_recorded_in_the_graph_of_the_program_that_declared_it() -> None:
    graph = run_program(lambda: rules.waive("sqs-encrypted", "  test queue  "))
    assert rules.waivers(graph) == {"sqs-encrypted": "test queue"}
    bare = Graph([queue("q")], waivers=rules.waivers(graph))
    assert [(f.rule, f.waived) for f in rules.check(bare) if f.rule == "sqs-encrypted"] == [
        ("sqs-encrypted", "test queue")
    ]
    assert rules.waivers(run_program(lambda: None)) == {}


def test_a_finding_serialises_every_field() -> None:
    finding = rules.Finding("r", "error", "urn", "t", "n", "m")
    assert finding.to_dict() == {
        "rule": "r",
        "severity": "error",
        "urn": "urn",
        "type": "t",
        "name": "n",
        "message": "m",
        "waived": None,
    }


def test_registering_a_rule_id_twice_is_refused_with_the_id() -> None:
    with pytest.raises(ValueError) as raised:
        rules.rule("sqs-encrypted", "error", (), "dup")(lambda r, g: [])
    assert str(raised.value) == "rule 'sqs-encrypted' is registered twice"
    assert rules.RULES["sqs-encrypted"].description == "Queues are encrypted at rest"


def test_waiving_an_unknown_rule_lists_the_known_ones() -> None:
    with pytest.raises(KeyError) as raised:
        run_program(lambda: rules.waive("nope", "x"))
    assert raised.value.args[0] == f"unknown rule 'nope'; known rules: {', '.join(sorted(rules.RULES))}"


def test_waiving_without_a_reason_is_refused() -> None:
    with pytest.raises(ValueError) as raised:
        rules.waive("sqs-encrypted", " \t")
    assert str(raised.value) == "waiving 'sqs-encrypted' needs a reason"


def test_findings_and_rules_are_values_that_cannot_be_changed() -> None:
    finding = rules.Finding("r", "error", "urn", "t", "n", "m")
    with pytest.raises(AttributeError):
        finding.message = "other"
    with pytest.raises(AttributeError):
        rules.RULES["sqs-encrypted"].severity = "error"
    assert finding.waived is None


def test_tags_are_required_on_resources_of_modules_named_with_an_underscore() -> None:
    # pulumi_aws.lambda_ (``lambda`` is a keyword): the rule must find the class there too
    assert messages("tags-required", function()) == ["missing tags: environment, component, managed-by"]
    assert messages("tags-required", function(tags=TAGS)) == []


def test_provider_resources_need_no_tags() -> None:
    provider = res("pulumi:providers:aws", "default")
    assert provider.custom
    assert messages("tags-required", provider) == []


def test_the_type_tokens_the_rules_read_are_pulumi_aws_tokens() -> None:
    assert (rules.FUNCTION, rules.LOG_GROUP, rules.QUEUE, rules.MAPPING, rules.ALARM) == (
        "aws:lambda/function:Function",
        "aws:cloudwatch/logGroup:LogGroup",
        "aws:sqs/queue:Queue",
        "aws:lambda/eventSourceMapping:EventSourceMapping",
        "aws:cloudwatch/metricAlarm:MetricAlarm",
    )
    assert (rules.REST_STAGE, rules.HTTP_STAGE, rules.METHOD_SETTINGS) == (
        "aws:apigateway/stage:Stage",
        "aws:apigatewayv2/stage:Stage",
        "aws:apigateway/methodSettings:MethodSettings",
    )
    assert (rules.REST_INTEGRATION, rules.HTTP_INTEGRATION, rules.PERMISSION, rules.THROTTLED_API) == (
        "aws:apigateway/integration:Integration",
        "aws:apigatewayv2/integration:Integration",
        "aws:lambda/permission:Permission",
        "resilient-serverless:index:ThrottledApi",
    )
