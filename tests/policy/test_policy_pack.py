"""The policy pack: every rule of the offline plan as a Pulumi policy, agreeing with the plan.

The validations are called with the shapes pulumi-policy passes (built from captured graphs by
``components.testing.policy``), never through ``PolicyPack(...)``, which starts a server and blocks.
Every test that iterates over rules reads ``rules.RULES``: a rule added to ``rules.py`` is covered
here with no edit.
"""

from __future__ import annotations

import dataclasses
import io
import json
import os
import re
import runpy
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_policy
import pytest
from pulumi_policy import ResourceValidationPolicy, StackValidationPolicy
from pulumi_policy.proxy import UNKNOWN_OBJECT_VALUE, UNKNOWN_STRING_VALUE
from resilient_serverless.components import ConfigError, ResilientFunction, ThrottledApi, aws_facts, rules
from resilient_serverless.components.plan import build_plan, render_plan
from resilient_serverless.components.policy import (
    DEFAULT_LEVELS,
    PACK_NAME,
    SETTINGS_ENV,
    PackSettings,
    graph_from_stack_args,
    load_pack_settings,
    parse_pack_settings,
    policies,
    policy_for,
    uses_graph,
    violation_message,
)
from resilient_serverless.components.rules import Rule
from resilient_serverless.components.testing import AwsMocks, CapturedResource, Graph, run_program, run_stack
from resilient_serverless.components.testing.policy import Violation, analyze, stack_args
from rich.console import Console

from tests.conftest import HANDLERS, ROOT

PACK = ROOT / "policy"
STACKS = ["dev", "staging", "prod", "local"]
CODE = pulumi.AssetArchive({"index.py": pulumi.StringAsset("def handler(event, context):\n    return event\n")})


# The rules when the pack was written: each has its mistake in the bad graphs below.
TODAYS_GRAPH_RULES = {
    "lambda-bounded-concurrency",
    "lambda-json-logs-with-retention",
    "provisioned-within-reserved",
    "sqs-dead-letter",
    "api-stage-throttled",
    "api-timeout-chain",
    "api-capacity",
    "sqs-visibility-covers-consumer",
    "sqs-dlq-outlives-source",
    # reads the graph since WebSocket route ARNs (<api>/<stage>/<route>) are told apart by their API
    "lambda-permission-scoped",
    # reads the graph since a silent window of a notifying composite alarm (a burn-rate window) passes
    "alarm-has-actions",
}
TODAYS_SINGLE_RESOURCE_RULES = {
    "lambda-explicit-timeout",
    "lambda-tracing-active",
    "log-group-retention",
    "async-invoke-bounded",
    "iam-no-wildcards",
    "sqs-encrypted",
    "tags-required",
    "api-access-logs",
    "sqs-mapping-isolated",
}


# --- a program that never used our components ---------------------------------------------------
def raw_program() -> None:
    """A billing service written with raw pulumi_aws, in another region, with the mistakes the
    components exist to prevent. Each line says what the components would have done instead."""
    role = aws.iam.Role(
        "billing-role",
        assume_role_policy=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
                ],
            }
        ),
    )
    # A wildcard grant: grants.py scopes every action to its resource.
    aws.iam.RolePolicy(
        "billing-policy",
        role=role.id,
        policy=json.dumps({"Statement": [{"Effect": "Allow", "Action": "sqs:*", "Resource": "*"}]}),
    )
    # No timeout, no reserved concurrency, no tracing, text logs into a group Lambda makes itself.
    invoicer = aws.lambda_.Function(
        "invoicer", name="billing-invoicer", role=role.arn, runtime="python3.12", handler="index.handler", code=CODE
    )
    # A consumer that may run 60 s behind a queue that hides a batch for the 30 s default.
    settler = aws.lambda_.Function(
        "settler",
        name="billing-settler",
        role=role.arn,
        runtime="python3.12",
        handler="index.handler",
        code=CODE,
        timeout=60,
        reserved_concurrent_executions=5,
    )
    # A DLQ that forgets sooner than its source.
    dead = aws.sqs.Queue(
        "payments-dlq", name="billing-payments-dlq.fifo", fifo_queue=True, message_retention_seconds=60
    )
    payments = aws.sqs.Queue(
        "payments",
        name="billing-payments.fifo",
        fifo_queue=True,
        message_retention_seconds=345_600,
        redrive_policy=dead.arn.apply(lambda arn: json.dumps({"deadLetterTargetArn": arn, "maxReceiveCount": 5})),
    )
    # A queue with no DLQ at all, drained with neither partial batch responses nor a ceiling.
    events = aws.sqs.Queue("events", name="billing-events")
    aws.lambda_.EventSourceMapping("events-mapping", event_source_arn=events.arn, function_name=settler.name)
    aws.lambda_.EventSourceMapping(
        "payments-mapping",
        event_source_arn=payments.arn,
        function_name=settler.name,
        function_response_types=["ReportBatchItemFailures"],
        scaling_config={"maximum_concurrency": 2},
    )
    # Async invocations retried by AWS defaults with nowhere to fail to.
    aws.lambda_.FunctionEventInvokeConfig("invoicer-async", function_name=invoicer.name)
    # Warm capacity that the reserved concurrency cannot hold.
    aws.lambda_.ProvisionedConcurrencyConfig(
        "settler-warm", function_name=settler.name, qualifier="live", provisioned_concurrent_executions=10
    )
    # An HTTP API whose stage sets no throttle (AWS throttles it to 0) and writes no access log,
    # in front of a function allowed to outlive the gateway's 30 s, invocable from any route.
    api = aws.apigatewayv2.Api("billing-api", protocol_type="HTTP")
    integration = aws.apigatewayv2.Integration(
        "billing-invoices", api_id=api.id, integration_type="AWS_PROXY", integration_uri=settler.invoke_arn
    )
    aws.apigatewayv2.Route(
        "billing-get-invoices",
        api_id=api.id,
        route_key="GET /invoices",
        target=integration.id.apply(lambda i: f"integrations/{i}"),
    )
    aws.apigatewayv2.Stage("billing-stage", api_id=api.id, name="live", auto_deploy=True)
    aws.lambda_.Permission(
        "billing-invoke",
        action="lambda:InvokeFunction",
        function=settler.name,
        principal="apigateway.amazonaws.com",
        source_arn=api.execution_arn.apply(lambda arn: f"{arn}/*"),
    )
    # Logs kept forever; an alarm nobody hears.
    aws.cloudwatch.LogGroup("billing-audit", name="/billing/audit")
    aws.cloudwatch.MetricAlarm(
        "billing-errors",
        comparison_operator="GreaterThanThreshold",
        evaluation_periods=1,
        metric_name="Errors",
        namespace="AWS/Lambda",
        period=60,
        statistic="Sum",
        threshold=0,
    )


def components_program() -> None:
    """Our own components with their defaults: a route whose rate x latency outgrows the
    function's reserved concurrency (only the graph, through the component's outputs, shows it)."""
    fn = ResilientFunction("report", {"handler": "app.handlers.orders.lambda_handler", "code": HANDLERS})
    ThrottledApi("reports", {"flavor": "rest", "routes": [{"method": "GET", "path": "/reports", "function": fn}]})


@pytest.fixture(scope="module", autouse=True)
def checked_on() -> Iterator[None]:
    """The runtime rule judges against this day, not the machine's: the same answers every day."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(aws_facts.TODAY_ENV, aws_facts.CHECKED_ON.isoformat())
        yield


@pytest.fixture(scope="module")
def raw() -> Graph:
    return run_program(raw_program, project="billing", stack="prod", mocks=AwsMocks(region="us-west-2"))


@pytest.fixture(scope="module")
def ours() -> Graph:
    return run_program(components_program, project="reports", stack="dev")


@pytest.fixture(scope="module")
def stacks() -> dict[str, tuple[Graph, dict[str, str]]]:
    out = {}
    for name in STACKS:
        graph = run_stack(name, ROOT)
        out[name] = (graph, rules.waivers(graph))
    return out


def bare_graph(type_: str) -> Graph:
    """One resource of ``type_`` that sets nothing: the mistake most single-resource rules exist for."""
    resource = CapturedResource(
        urn=f"urn:pulumi:test::bare::{type_}::bare",
        type=type_,
        name="bare",
        inputs={},
        outputs={},
        parent=None,
        dependencies=(),
        custom=True,
    )
    return Graph([resource], stack="test", project="bare")


def bad_graphs(raw: Graph, ours: Graph) -> list[Graph]:
    bare = {t for r in rules.RULES.values() for t in r.types or ("aws:sqs/queue:Queue",)}
    return [raw, ours, *(bare_graph(t) for t in sorted(bare))]


def plan_view(graph: Graph, waived: dict[str, str] | None = None) -> list[tuple[str, str, str]]:
    """The offline plan's findings as (rule, urn, what the pack says)."""
    return sorted((f.rule, f.urn, violation_message(f)) for f in rules.check(graph, waived or {}))


def pack_view(graph: Graph, waived: dict[str, str] | None = None) -> list[tuple[str, str, str]]:
    found = analyze(graph, policies(PackSettings(waivers=waived or {})))
    return sorted((v.policy, v.urn, v.message) for v in found)


def outcome(view: Callable[[Graph], list[tuple[str, str, str]]], graph: Graph) -> Any:
    """A view's findings, or the name of the exception it raised: a rule that cannot judge a bare
    resource must fail the same way in the plan and in the pack."""
    try:
        return view(graph)
    except Exception as error:  # compared below, not hidden
        return type(error).__name__


# --- the pack is made of the rules ----------------------------------------------------------------
def test_every_rule_is_one_policy_of_the_same_name_and_description() -> None:
    # GIVEN every registered rule WHEN the pack's policies are built
    made = policies()
    # THEN one policy per rule, named by its id and described by its description
    assert [p.name for p in made] == sorted(rules.RULES)
    for policy in made:
        assert policy.description == rules.RULES[policy.name].description, policy.name


@pytest.mark.parametrize("rule_id", sorted(rules.RULES))
def test_a_rule_that_reads_the_graph_is_a_stack_policy_the_others_resource_policies(rule_id: str) -> None:
    r = rules.RULES[rule_id]
    expected = StackValidationPolicy if uses_graph(r) else ResourceValidationPolicy
    assert isinstance(policy_for(r), expected), rule_id


def test_which_of_todays_rules_read_the_graph() -> None:
    # The rules present when the pack was written; rules added later are inferred the same way.
    assert {i for i in TODAYS_GRAPH_RULES if uses_graph(rules.RULES[i])} == TODAYS_GRAPH_RULES
    assert {i for i in TODAYS_SINGLE_RESOURCE_RULES if uses_graph(rules.RULES[i])} == set()


def _rule(fn: Callable[..., Any], needs_graph: bool | None = None) -> Rule:
    return Rule("x", "error", (), "x", fn, needs_graph)


def test_graph_use_is_inferred_from_the_code_through_helpers_and_comprehensions() -> None:
    def alone(resource: Any, graph: Any) -> Any:
        yield from ([] if resource.inputs.get("timeout") else ["no timeout"])

    def direct(resource: Any, graph: Any) -> Any:
        yield from (r.name for r in graph.of_type("T"))

    def through_helper(resource: Any, graph: Any) -> Any:
        yield from rules.is_dead_letter_target(resource, graph) and []

    def inside_comprehension(resource: Any, g: Any) -> Any:
        yield from [m for m in resource.inputs if g.named(m)]

    assert [uses_graph(_rule(f)) for f in (alone, direct, through_helper, inside_comprehension)] == [
        False,
        True,
        True,
        True,
    ]


def test_a_rule_can_say_itself_whether_it_needs_the_graph() -> None:
    def alone(resource: Any, graph: Any) -> Any:
        yield from ()

    assert uses_graph(_rule(alone, needs_graph=True)) is True
    assert uses_graph(_rule(lambda resource, graph: graph.resources, needs_graph=False)) is False


def test_rule_registration_keeps_needs_graph_optional() -> None:
    # GIVEN rules registered as before the pack existed, and one that says it needs the graph
    @rules.rule("zz-as-before", "warning", ("aws:sqs/queue:Queue",), "Registered as before")
    def as_before(resource: CapturedResource, graph: Graph) -> Any:
        yield from ()

    @rules.rule("zz-says-so", "warning", ("aws:sqs/queue:Queue",), "Says so", needs_graph=True)
    def says_so(resource: CapturedResource, graph: Graph) -> Any:
        yield from ()

    try:
        # THEN the default is None (inferred), and the stated value is kept
        assert rules.RULES["zz-as-before"].needs_graph is None
        assert isinstance(policy_for(rules.RULES["zz-as-before"]), ResourceValidationPolicy)
        assert rules.RULES["zz-says-so"].needs_graph is True
        assert isinstance(policy_for(rules.RULES["zz-says-so"]), StackValidationPolicy)
    finally:
        del rules.RULES["zz-as-before"], rules.RULES["zz-says-so"]


# --- every rule fires through the pack, and the pack agrees with the plan -------------------------
@pytest.mark.parametrize("rule_id", sorted(rules.RULES))
def test_every_rule_fires_through_the_pack_on_a_bad_graph(rule_id: str, raw: Graph, ours: Graph) -> None:
    # GIVEN the bad graphs: a raw pulumi_aws program, our components at their defaults, and one
    # bare resource of each rule's types
    for graph in bad_graphs(raw, ours):
        planned = outcome(plan_view, graph)
        expected = [f for f in planned if f[0] == rule_id] if isinstance(planned, list) else []
        if expected:
            # THEN the pack reports exactly what the plan finds for this rule
            assert [v for v in pack_view(graph) if v[0] == rule_id] == expected
            return
    # A rule whose mistake needs other resources, added after this corpus: its policy still
    # reports whatever its function finds, on that resource, at the rule's level.
    r = rules.RULES[rule_id]
    stub = dataclasses.replace(
        r, fn=lambda resource, graph: iter([f"found on {resource.name}"]), needs_graph=uses_graph(r)
    )
    graph = bare_graph((r.types or ("aws:sqs/queue:Queue",))[0])
    kind = graph.resources[0].type.split(":")[-1]
    assert analyze(graph, [policy_for(stub)]) == [
        Violation(rule_id, DEFAULT_LEVELS[r.severity], graph.resources[0].urn, f"{kind} bare: found on bare")
    ]


def test_a_later_rule_that_no_bad_graph_here_triggers_is_still_checked_through_the_pack(
    raw: Graph, ours: Graph
) -> None:
    # GIVEN a rule registered after this corpus, whose mistake needs a resource no bad graph has
    @rules.rule("zz-later-rule", "warning", ("aws:sfn/stateMachine:StateMachine",), "A rule added later")
    def later(resource: CapturedResource, graph: Graph) -> Any:
        if graph.of_type("aws:sns/topic:Topic"):
            yield "a topic and a state machine"

    try:
        # THEN the per-rule test checks its policy's wiring instead of failing for want of a mistake
        assert uses_graph(rules.RULES["zz-later-rule"])
        test_every_rule_fires_through_the_pack_on_a_bad_graph("zz-later-rule", raw, ours)
    finally:
        del rules.RULES["zz-later-rule"]


def test_each_of_todays_rules_fires_on_the_bad_graphs_themselves(raw: Graph, ours: Graph) -> None:
    fired = {f[0] for graph in bad_graphs(raw, ours) for f in plan_view(graph)}
    assert fired >= TODAYS_GRAPH_RULES | TODAYS_SINGLE_RESOURCE_RULES


@pytest.mark.parametrize("which", ["raw", "ours"])
def test_the_pack_and_the_plan_agree_on_bad_graphs(which: str, raw: Graph, ours: Graph) -> None:
    graph = {"raw": raw, "ours": ours}[which]
    assert pack_view(graph) == plan_view(graph)


def test_the_pack_and_the_plan_agree_on_every_bare_resource(raw: Graph, ours: Graph) -> None:
    for graph in bad_graphs(raw, ours)[2:]:
        assert outcome(pack_view, graph) == outcome(plan_view, graph), graph.resources[0].type


@pytest.mark.parametrize("name", STACKS)
def test_the_pack_and_the_plan_agree_on_each_stack(name: str, stacks: dict[str, tuple[Graph, dict[str, str]]]) -> None:
    graph, waived = stacks[name]
    assert pack_view(graph, waived) == plan_view(graph, waived)


@pytest.mark.parametrize("name", STACKS)
def test_the_pack_is_quiet_on_each_stack(name: str, stacks: dict[str, tuple[Graph, dict[str, str]]]) -> None:
    # GIVEN a stack of ours with its own waivers WHEN the pack runs over it
    graph, waived = stacks[name]
    found = analyze(graph, policies(PackSettings(waivers=waived)))
    # THEN nothing blocks, and all it says is what the stack waived, marked as such
    assert [v for v in found if not v.message.startswith("[waived: ")] == [], name
    assert {v.policy for v in found} <= set(waived)
    assert {v.level for v in found} <= {"advisory"}


def test_levels_follow_severity_and_messages_name_resource_value_limit_and_fix(raw: Graph) -> None:
    found = analyze(raw, policies())
    for v in found:
        assert v.level == DEFAULT_LEVELS[rules.RULES[v.policy].severity], v
    fn = raw.one("aws:lambda/function:Function", "invoicer")
    assert (
        Violation(
            "lambda-explicit-timeout",
            "mandatory",
            fn.urn,
            "Function invoicer: no timeout set: work is bounded only by the 3 s AWS default",
        )
        in found
    )
    mapping = raw.one("aws:lambda/eventSourceMapping:EventSourceMapping", "events-mapping")
    assert [v.message for v in found if v.policy == "sqs-visibility-covers-consumer" and v.urn == mapping.urn] == [
        "EventSourceMapping events-mapping: queue events hides a received batch for 30 s, below the 360 s its "
        "consumer settler may need (6 x 60 s + window): work is delivered twice"
    ]


def test_each_violation_reads_as_the_rendered_plan_line(raw: Graph) -> None:
    # GIVEN the offline plan of the raw program, rendered as `resilient-serverless plan` prints it
    out = io.StringIO()
    render_plan(build_plan(raw, rules.check(raw, waived={})), Console(file=out, width=400, color_system=None))
    text = out.getvalue()
    # THEN every violation of the pack is a finding of the plan, under the rule's severity and id
    # (one line each, or the rule's heading once with a line per resource)
    found = analyze(raw, policies())
    assert found
    listed = plan_findings(text)
    for v in found:
        assert (rules.RULES[v.policy].severity, v.policy, v.message) in listed, v


def plan_findings(text: str) -> set[tuple[str, str, str]]:
    """(severity, rule, message) of each finding the rendered plan lists."""
    listed: set[tuple[str, str, str]] = set()
    group: tuple[str, str] | None = None
    shared = ""  # a reason every resource of the group shares is printed once, on the heading
    for line in text.splitlines():
        heading = re.fullmatch(r"(error|warning) (\S+) on \d+ resources(?:: (.+))?", line)
        single = re.fullmatch(r"(error|warning) (\S+) (.+)", line)
        if heading:
            group, shared = (heading[1], heading[2]), heading[3] or ""
        elif group and line.startswith("  "):
            listed.add((*group, f"{line.strip()}: {shared}" if shared else line.strip()))
        elif single:
            group = None
            listed.add((single[1], single[2], single[3]))
        else:
            group = None
    return listed


# --- what the pack finds in a program that never used our components ------------------------------
def test_the_pack_finds_in_a_raw_program_what_the_components_prevent(raw: Graph) -> None:
    found = analyze(raw, policies())
    named = sorted({(v.policy, raw.by_urn(v.urn).name) for v in found})
    assert named == [
        ("alarm-has-actions", "billing-errors"),
        ("api-access-logs", "billing-stage"),
        ("api-stage-throttled", "billing-stage"),
        ("api-timeout-chain", "billing-invoices"),
        ("async-invoke-bounded", "invoicer-async"),
        ("iam-no-wildcards", "billing-policy"),
        ("lambda-bounded-concurrency", "invoicer"),
        ("lambda-explicit-timeout", "invoicer"),
        ("lambda-json-logs-with-retention", "invoicer"),
        ("lambda-json-logs-with-retention", "settler"),
        ("lambda-permission-scoped", "billing-invoke"),
        ("lambda-tracing-active", "invoicer"),
        ("lambda-tracing-active", "settler"),
        ("log-group-retention", "billing-audit"),
        ("provisioned-within-reserved", "settler-warm"),
        ("sqs-dead-letter", "events"),
        ("sqs-dlq-outlives-source", "payments"),
        ("sqs-encrypted", "events"),
        ("sqs-encrypted", "payments"),
        ("sqs-encrypted", "payments-dlq"),
        ("sqs-mapping-isolated", "events-mapping"),
        ("sqs-visibility-covers-consumer", "events-mapping"),
        ("sqs-visibility-covers-consumer", "payments-mapping"),
    ] + [
        ("tags-required", name)
        for name in sorted(
            [
                *("billing-role", "billing-api", "billing-stage", "billing-audit", "billing-errors"),
                *("invoicer", "settler", "events", "payments", "payments-dlq", "events-mapping", "payments-mapping"),
            ]
        )
    ]
    blocking = sorted({v.policy for v in found if v.level == "mandatory"})
    assert "api-timeout-chain" in blocking and "sqs-dlq-outlives-source" in blocking


# --- what the pack missed in a raw program: retries, dead letters, a role that can do its job -----
LAMBDA_TRUST = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
        ],
    }
)
SFN_TRUST = LAMBDA_TRUST.replace("lambda.amazonaws.com", "states.amazonaws.com")
BLIND_SPOT_RULES = {
    "sqs-redrive-retries",
    "eventbridge-target-dead-letter",
    "stream-mapping-bounded",
    "sfn-role-can-call-its-tasks",
}


def blind_spots_program(fixed: bool) -> None:
    """A ledger service in raw pulumi_aws with the mistakes the pack used to miss (``fixed=False``),
    or the same service with each of them fixed."""
    role = aws.iam.Role("worker-role", assume_role_policy=LAMBDA_TRUST)
    worker = aws.lambda_.Function(
        "worker", name="ledger-worker", role=role.arn, runtime="python3.12", handler="index.handler", code=CODE
    )
    failures = aws.sqs.Queue("failures", name="ledger-failures", message_retention_seconds=1_209_600)
    # One failed receive dead-letters a message (fixed: 5).
    jobs = aws.sqs.Queue(
        "jobs",
        name="ledger-jobs",
        redrive_policy=failures.arn.apply(
            lambda arn: json.dumps({"deadLetterTargetArn": arn, "maxReceiveCount": 5 if fixed else 1})
        ),
    )
    # An EventBridge target that drops what it cannot deliver, after a retry policy nobody chose.
    rule = aws.cloudwatch.EventRule("nightly", schedule_expression="rate(1 day)")
    delivery: dict[str, Any] = {
        "dead_letter_config": {"arn": failures.arn},
        "retry_policy": {"maximum_event_age_in_seconds": 3600, "maximum_retry_attempts": 3},
    }
    aws.cloudwatch.EventTarget("nightly-target", rule=rule.name, arn=jobs.arn, **(delivery if fixed else {}))
    # Stream mappings that retry a bad batch until its records expire, never split it, keep nothing.
    table = aws.dynamodb.Table(
        "entries",
        name="ledger-entries",
        billing_mode="PAY_PER_REQUEST",
        hash_key="id",
        attributes=[{"name": "id", "type": "S"}],
        stream_enabled=True,
        stream_view_type="NEW_IMAGE",
    )
    stream = aws.kinesis.Stream("clicks", name="ledger-clicks", shard_count=1)
    bounded: dict[str, Any] = {
        "maximum_retry_attempts": 3,
        "bisect_batch_on_function_error": True,
        "destination_config": {"on_failure": {"destination_arn": failures.arn}},
    }
    common: dict[str, Any] = {"function_name": worker.name, "starting_position": "LATEST"}
    aws.lambda_.EventSourceMapping(
        "entries-mapping", event_source_arn=table.stream_arn, **common, **(bounded if fixed else {})
    )
    aws.lambda_.EventSourceMapping(
        "clicks-mapping",
        event_source_arn=stream.arn,
        **common,
        **(bounded if fixed else {"maximum_retry_attempts": -1}),
    )
    # A state machine whose role may invoke another function only (fixed: each task's target).
    topic = aws.sns.Topic("settled", name="ledger-settled")
    other = aws.lambda_.Function(
        "other", name="ledger-other", role=role.arn, runtime="python3.12", handler="index.handler", code=CODE
    )
    machine_role = aws.iam.Role("flow-role", assume_role_policy=SFN_TRUST)
    actions = ["lambda:InvokeFunction", "sqs:SendMessage", "sns:Publish", "dynamodb:PutItem"]
    targets = [worker.arn, jobs.arn, topic.arn, table.arn] if fixed else [other.arn]
    aws.iam.RolePolicy(
        "flow-policy",
        role=machine_role.id,
        policy=pulumi.Output.all(*targets).apply(
            lambda arns: json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {"Effect": "Allow", "Action": a, "Resource": arn} for a, arn in zip(actions, arns, strict=False)
                    ],
                }
            )
        ),
    )

    def task(resource: str, parameters: dict[str, Any], then: str | None) -> dict[str, Any]:
        state: dict[str, Any] = {"Type": "Task", "Resource": f"arn:aws:states:::{resource}", "Parameters": parameters}
        return {**state, "Next": then} if then else {**state, "End": True}

    definition = pulumi.Output.all(worker.arn, jobs.url, topic.arn, table.name).apply(
        lambda v: json.dumps(
            {
                "StartAt": "Work",
                "TimeoutSeconds": 300,
                "States": {
                    "Work": task("lambda:invoke", {"FunctionName": v[0], "Payload.$": "$"}, "Queue"),
                    "Queue": task("sqs:sendMessage", {"QueueUrl": v[1], "MessageBody.$": "$"}, "Notify"),
                    "Notify": task("sns:publish", {"TopicArn": v[2], "Message.$": "$"}, "Record"),
                    "Record": task("dynamodb:putItem", {"TableName": v[3], "Item": {"id": {"S.$": "$.id"}}}, None),
                },
            }
        )
    )
    aws.sfn.StateMachine("flow", name="ledger-flow", role_arn=machine_role.arn, definition=definition)


def blind_spot_findings(fixed: bool) -> list[tuple[str, str, str, str]]:
    graph = run_program(
        lambda: blind_spots_program(fixed), project="ledger", stack="prod", mocks=AwsMocks(region="us-west-2")
    )
    found = [v for v in analyze(graph, policies()) if v.policy in BLIND_SPOT_RULES]
    assert sorted((v.policy, v.urn, v.message) for v in found) == [
        f for f in plan_view(graph) if f[0] in BLIND_SPOT_RULES
    ]
    return [(v.policy, v.level, graph.by_urn(v.urn).name, v.message) for v in found]


def test_the_pack_finds_the_retry_dead_letter_and_role_mistakes_of_a_raw_program() -> None:
    # GIVEN a raw program with the four mistakes WHEN the pack runs over it
    found = blind_spot_findings(fixed=False)
    # THEN each is a mandatory violation, as the plan finds it, naming the value and the fix
    arn = "arn:aws:{}:us-west-2:123456789012:{}"
    unbounded = (
        "a failing batch is retried until its records expire from the stream, and its shard makes no progress meanwhile"
    )
    no_bisect = "no bisectBatchOnFunctionError: one bad record fails its whole batch on every retry"
    no_destination = "no on-failure destination: records that exhaust their retries are skipped with no trace"
    denied = "which the role flow-role does not allow: the execution fails at that state with an access error"
    assert sorted(found) == sorted(
        [
            (
                "eventbridge-target-dead-letter",
                "mandatory",
                "nightly-target",
                "EventTarget nightly-target: no dead-letter queue: an event the target cannot take is dropped after "
                "the retry policy (by default 185 attempts over 24 h), unseen",
            ),
            (
                "eventbridge-target-dead-letter",
                "mandatory",
                "nightly-target",
                "EventTarget nightly-target: no retry policy: the 24 h, 185-attempt default applies silently; bound "
                "it (maximum event age, attempts)",
            ),
            (
                "sqs-redrive-retries",
                "mandatory",
                "jobs",
                "Queue jobs: maxReceiveCount=1: one failed receive (a throttle, a timeout, a deploy) dead-letters the "
                "message; allow at least 2 (the components use 5)",
            ),
            *(
                ("stream-mapping-bounded", "mandatory", name, f"EventSourceMapping {name}: {message}")
                for name, setting in (
                    ("entries-mapping", "maximumRetryAttempts unset"),
                    ("clicks-mapping", "maximumRetryAttempts=-1"),
                )
                for message in (f"{setting}: {unbounded}", no_bisect, no_destination)
            ),
            *(
                (
                    "sfn-role-can-call-its-tasks",
                    "mandatory",
                    "flow",
                    f"StateMachine flow: task {task} calls {action} on {target}, {denied}",
                )
                for task, action, target in (
                    ("Work", "lambda:InvokeFunction", arn.format("lambda", "function:ledger-worker")),
                    ("Queue", "sqs:SendMessage", arn.format("sqs", "ledger-jobs")),
                    ("Notify", "sns:Publish", arn.format("sns", "ledger-settled")),
                    ("Record", "dynamodb:PutItem", arn.format("dynamodb", "table/ledger-entries")),
                )
            ),
        ]
    )


def test_the_pack_is_quiet_on_the_same_program_with_each_mistake_fixed() -> None:
    assert blind_spot_findings(fixed=True) == []


# --- graph shapes ----------------------------------------------------------------------------------
def test_a_stack_validation_sees_the_captured_graph_with_parents_dependencies_and_component_outputs(
    ours: Graph,
) -> None:
    # GIVEN the shapes pulumi-policy hands a stack policy WHEN turned back into a graph
    args = stack_args(ours)
    assert args.resources[0].resource_type == "pulumi:pulumi:Stack"
    back = graph_from_stack_args(args)
    # THEN the same resources, parents, dependencies, kinds and component outputs, minus the root
    # Stack and plus the default provider the engine lists
    assert [r.urn for r in back if not r.type.startswith("pulumi:providers:")] == [r.urn for r in ours]
    for r in ours:
        got = back.by_urn(r.urn)
        assert got.custom == r.custom, r.urn
        assert got.dependencies == r.dependencies, r.urn
        assert got.parent == (r.parent if r.parent in {x.urn for x in ours} else args.resources[0].urn), r.urn
        if not r.custom:
            assert back.outputs_of(got) == ours.outputs_of(r), r.urn
    assert (back.project, back.stack) == ("reports", "dev")


def _with(graph: Graph, name: str, **inputs: Any) -> Graph:
    resources = [
        dataclasses.replace(r, inputs={**r.inputs, **inputs}, outputs={**r.outputs, **inputs}) if r.name == name else r
        for r in graph
    ]
    return dataclasses.replace(graph, resources=resources)


def test_a_value_unknown_during_preview_is_reported_as_the_sdk_does_and_the_rest_still_judged(raw: Graph) -> None:
    # GIVEN a preview where the invoicer's tracing config and the DLQ's ARN are not known yet
    graph = _with(_with(raw, "invoicer", tracingConfig=UNKNOWN_OBJECT_VALUE), "payments-dlq", arn=UNKNOWN_STRING_VALUE)
    found = analyze(graph, policies())
    fn, events = graph.one(name="invoicer"), graph.one(name="events")
    # THEN the resource policy that reads the unknown value cannot run, and says which value
    assert [v for v in found if v.policy == "lambda-tracing-active" and v.urn == fn.urn] == [
        Violation(
            "lambda-tracing-active",
            "advisory",
            fn.urn,
            "can't run during preview: Object value at .tracingConfig can't be known during preview",
        )
    ]
    # AND the stack policy that meets the unknown ARN still reports every queue it could judge
    assert [(v.level, v.urn, v.message) for v in found if v.policy == "sqs-dead-letter"] == [
        (
            "mandatory",
            events.urn,
            "Queue events: no redrive policy and not a DLQ: a poison message is retried until retention drops it",
        ),
        ("advisory", "", "can't run during preview: string value at .arn can't be known during preview"),
    ]


def test_a_resource_policy_judges_what_the_program_set_not_the_providers_defaults(raw: Graph) -> None:
    # GIVEN a function's inputs as the engine hands them to a resource policy: after the AWS
    # provider's Check, which fills the schema's defaults (a 3 s timeout) and lists them in __defaults
    fn = raw.one("aws:lambda/function:Function", "invoicer")
    filled = {**fn.inputs, "timeout": 3, "memorySize": 128, "__defaults": ["memorySize", "timeout"]}
    policy = policy_for(rules.RULES["lambda-explicit-timeout"])
    found = analyze(dataclasses.replace(raw, resources=[dataclasses.replace(fn, inputs=filled)]), [policy])
    # THEN the timeout the program never set is still missing
    assert [v.message for v in found] == [
        "Function invoicer: no timeout set: work is bounded only by the 3 s AWS default"
    ]
    # AND a timeout the program did set is judged as set
    chosen = {**fn.inputs, "timeout": 3, "__defaults": ["memorySize"]}
    assert analyze(dataclasses.replace(raw, resources=[dataclasses.replace(fn, inputs=chosen)]), [policy]) == []


def test_a_deployed_queue_without_a_redrive_policy_reports_it_as_empty_and_the_rules_cope(raw: Graph) -> None:
    # GIVEN the state AWS reports for a queue with no redrive policy: an empty string
    graph = _with(raw, "events", redrivePolicy="")
    # THEN the pack and the plan agree, and the queue still lacks a DLQ
    assert pack_view(graph) == plan_view(graph)
    events = graph.one(name="events")
    assert ("sqs-dead-letter", events.urn) in {(v[0], v[1]) for v in pack_view(graph)}


# --- enforcement levels and waivers ---------------------------------------------------------------
def test_default_levels_are_mandatory_for_errors_and_advisory_for_warnings() -> None:
    assert dict(DEFAULT_LEVELS) == {"error": "mandatory", "warning": "advisory"}
    for r in rules.RULES.values():
        level = policy_for(r).enforcement_level
        assert level is not None and level.value == DEFAULT_LEVELS[r.severity], r.id


def test_settings_set_levels_per_rule_and_for_all() -> None:
    settings = parse_pack_settings({"enforcement": {"all": "advisory", "sqs-encrypted": "mandatory"}})
    assert settings.level_of(rules.RULES["sqs-encrypted"]) == "mandatory"
    assert settings.level_of(rules.RULES["lambda-explicit-timeout"]) == "advisory"


def test_a_disabled_rule_reports_nothing(raw: Graph) -> None:
    found = analyze(raw, policies(parse_pack_settings({"enforcement": {"tags-required": "disabled"}})))
    assert found and not [v for v in found if v.policy == "tags-required"]


def test_pulumi_policy_config_overrides_a_level(raw: Graph) -> None:
    # As `--policy-pack-config '{"sqs-encrypted": "mandatory"}'` would.
    found = analyze(raw, policies(), config={"sqs-encrypted": "mandatory"})
    assert {v.level for v in found if v.policy == "sqs-encrypted"} == {"mandatory"}
    everything = analyze(raw, policies(), config={"all": "advisory"})
    assert {v.level for v in everything} == {"advisory"}


def test_pulumi_policy_config_waives_a_rule_as_the_settings_do(raw: Graph) -> None:
    # GIVEN a policy group's config that waives the tracing rule, and an empty reason elsewhere
    config = {
        "lambda-tracing-active": {"enforcementLevel": "advisory", "waiver": "traced by the vendor's agent"},
        "log-group-retention": {"waiver": "  "},
    }
    found = analyze(raw, policies(), config=config)
    # THEN its findings are marked with that reason, and a blank reason waives nothing
    assert sorted(v.message for v in found if v.policy == "lambda-tracing-active") == [
        "[waived: traced by the vendor's agent] Function invoicer: tracing is not Active: no X-Ray trace for this "
        "function",
        "[waived: traced by the vendor's agent] Function settler: tracing is not Active: no X-Ray trace for this "
        "function",
    ]
    assert [v.message for v in found if v.policy == "log-group-retention"] == [
        "LogGroup billing-audit: no retention: logs are kept (and billed) forever"
    ]
    # AND every policy declares the property, so the CLI accepts such a config
    for policy in policies():
        assert policy.config_schema is not None
        assert policy.config_schema.properties["waiver"]["type"] == "string", policy.name


def test_a_waived_rule_still_reports_marked_and_never_blocks(raw: Graph) -> None:
    # GIVEN the raw program's timeout finding waived with a reason, on top of `all: mandatory`
    settings = parse_pack_settings(
        {"enforcement": {"all": "mandatory"}, "waivers": ["lambda-explicit-timeout: batch job, bounded by its caller"]}
    )
    found = [v for v in analyze(raw, policies(settings)) if v.policy == "lambda-explicit-timeout"]
    assert [(v.level, v.message) for v in found] == [
        (
            "advisory",
            "[waived: batch job, bounded by its caller] Function invoicer: no timeout set: work is bounded only "
            "by the 3 s AWS default",
        )
    ]


@pytest.mark.parametrize(
    ("raw_settings", "problem"),
    [
        ({"levels": {}}, "unknown key 'levels' (valid keys: enforcement, waivers)"),
        ({"enforcement": ["x"]}, "enforcement=['x'] must map rule ids (or 'all') to a level"),
        (
            {"enforcement": {"sqs-encrypted": "strict"}},
            "enforcement.sqs-encrypted='strict' is not one of 'advisory', 'mandatory', 'disabled'",
        ),
        ({"waivers": "sqs-encrypted: x"}, "waivers='sqs-encrypted: x' must be a list of 'rule-id: reason' entries"),
        (
            {"waivers": ["sqs-encrypted:  "]},
            "waivers entry 'sqs-encrypted:  ' needs a reason: 'rule-id: why this is waived'",
        ),
        (
            {"enforcement": {"sqs-encrypted": "mandatory"}, "waivers": ["sqs-encrypted: dev only"]},
            "waivers entry 'sqs-encrypted: dev only' contradicts enforcement.sqs-encrypted='mandatory': a waived "
            "rule never blocks (set it to advisory or disabled, or drop the waiver)",
        ),
    ],
)
def test_bad_settings_are_named_with_the_allowed_values(raw_settings: dict[str, Any], problem: str) -> None:
    with pytest.raises(ConfigError) as raised:
        parse_pack_settings(raw_settings)
    assert raised.value.problems == [problem]


def test_an_unknown_rule_is_named_with_the_known_ones() -> None:
    with pytest.raises(ConfigError) as raised:
        parse_pack_settings({"enforcement": {"sqs-encrypt": "advisory"}, "waivers": ["nope: reason"]})
    known = ", ".join(sorted(rules.RULES))
    assert raised.value.problems == [
        f"enforcement key 'sqs-encrypt' names no rule (known rules: all, {known})",
        f"waivers entry 'nope: reason' names no rule (known rules: {known})",
    ]


def test_the_packs_own_settings_file_keeps_the_defaults() -> None:
    assert load_pack_settings(PACK / "settings.yaml", environ={}) == PackSettings()


def test_another_settings_file_is_chosen_by_environment(tmp_path: Path) -> None:
    chosen = tmp_path / "team.yaml"
    chosen.write_text('waivers: ["lambda-tracing-active: LocalStack has no X-Ray"]\n')
    settings = load_pack_settings(PACK / "settings.yaml", environ={SETTINGS_ENV: str(chosen)})
    assert settings.waivers == {"lambda-tracing-active": "LocalStack has no X-Ray"}
    with pytest.raises(FileNotFoundError, match=f"{SETTINGS_ENV}='/nowhere.yaml': no such file"):
        load_pack_settings(PACK / "settings.yaml", environ={SETTINGS_ENV: "/nowhere.yaml"})


def test_a_missing_default_settings_file_means_the_defaults(tmp_path: Path) -> None:
    assert load_pack_settings(tmp_path / "absent.yaml", environ={}) == PackSettings()


# --- the pack's entry point -----------------------------------------------------------------------
def test_the_entry_point_builds_one_pack_of_every_rule(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # GIVEN PolicyPack replaced by a recorder (the real one starts a server and blocks)
    built: list[dict[str, Any]] = []
    monkeypatch.setattr(pulumi_policy, "PolicyPack", lambda **kwargs: built.append(kwargs))
    chosen = tmp_path / "team.yaml"
    chosen.write_text("enforcement: {all: advisory}\n")
    monkeypatch.setenv(SETTINGS_ENV, str(chosen))
    # WHEN the CLI would run policy/__main__.py
    runpy.run_path(str(PACK / "__main__.py"), run_name="__main__")
    # THEN one pack, named, with a policy per rule at the levels of the chosen settings
    assert len(built) == 1
    assert built[0]["name"] == PACK_NAME
    assert sorted(p.name for p in built[0]["policies"]) == sorted(rules.RULES)
    assert {p.enforcement_level.value for p in built[0]["policies"]} == {"advisory"}


def test_the_entry_point_refuses_bad_settings_before_any_server_starts(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    built: list[dict[str, Any]] = []
    monkeypatch.setattr(pulumi_policy, "PolicyPack", lambda **kwargs: built.append(kwargs))
    chosen = tmp_path / "team.yaml"
    chosen.write_text("enforcement: {sqs-encrypted: strict}\n")
    monkeypatch.setenv(SETTINGS_ENV, str(chosen))
    with pytest.raises(ConfigError) as raised:
        runpy.run_path(str(PACK / "__main__.py"), run_name="__main__")
    assert str(raised.value) == (
        f"policy settings {chosen}: enforcement.sqs-encrypted='strict' is not one of 'advisory', 'mandatory', "
        "'disabled'"
    )
    assert built == []


def test_the_pack_folder_is_a_python_policy_pack() -> None:
    import yaml

    manifest = yaml.safe_load((PACK / "PulumiPolicy.yaml").read_text())
    assert manifest["runtime"]["name"] == "python"
    assert "pulumi-policy>=1.21,<2" in (PACK / "requirements.txt").read_text().splitlines()


@pytest.mark.skipif(shutil.which("pulumi") is None, reason="needs the Pulumi CLI (not installable here)")
def test_pulumi_preview_with_the_pack_blocks_the_raw_program(tmp_path: Path) -> None:  # pragma: no cover
    # Runs the pack for real: a local backend, fake credentials, `preview` only (nothing created).
    program = tmp_path / "billing"
    program.mkdir()
    (program / "Pulumi.yaml").write_text("name: billing\nruntime: python\n")
    (program / "__main__.py").write_text(
        "import pulumi, pulumi_aws as aws\n"
        "aws.lambda_.Function('invoicer', role='arn:aws:iam::123456789012:role/r', runtime='python3.12',\n"
        "    handler='index.handler', code=pulumi.AssetArchive({}))\n"
    )
    env = {
        **os.environ,
        "PULUMI_BACKEND_URL": f"file://{tmp_path}",
        "PULUMI_CONFIG_PASSPHRASE": "",
        "AWS_REGION": "eu-west-1",
    }

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["pulumi", *args], cwd=program, env=env, capture_output=True, text=True, check=False)

    run("stack", "init", "test")
    for key in ("skipCredentialsValidation", "skipRequestingAccountId", "skipMetadataApiCheck"):
        run("config", "set", f"aws:{key}", "true")
    result = run("preview", "--non-interactive", "--policy-pack", str(PACK))
    assert result.returncode != 0
    assert "lambda-explicit-timeout" in result.stdout + result.stderr


def test_the_readme_table_matches_each_rules_policy_kind_and_level() -> None:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## The rules as a policy pack", 1)[1].split("\n## ", 1)[0]
    rows = [line.split("|")[1:4] for line in section.splitlines() if line.startswith("| `")]
    documented = {cells[0].strip(" `"): (cells[1].strip(), cells[2].strip()) for cells in rows}
    assert documented, "README lists no rule"
    for rule_id, (kind, level) in documented.items():
        r = rules.RULES[rule_id]
        assert (kind, level) == ("stack" if uses_graph(r) else "resource", DEFAULT_LEVELS[r.severity]), rule_id
