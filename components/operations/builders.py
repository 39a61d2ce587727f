"""The contributions of the built-in components: ThrottledApi (front door), ResilientFunction
(functions), PriorityQueuePair (queues) and a DynamoDB table (tables).

Each builder reads only public attributes (``flavor``, ``api``, ``stage_name``, ``routes``,
``access_logs``, ``function_name``, ``queues``, ``settings``, ``alarm_resources``, ...), so the
component files stay as they are. Every metric named here is one AWS publishes for the resource
(with the dimensions AWS gives it), one the handlers publish as EMF (namespace and ``service`` of
the function's Powertools settings), or one a metric filter made by ``Operations`` publishes;
``tests/components/operations/test_dashboard.py`` checks each against the captured graph.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from ..async_job_workflow import AsyncJobWorkflow
from ..priority_queue_pair import PriorityQueuePair
from ..resilient_function import ResilientFunction
from ..throttled_api import ThrottledApi
from ..websocket_notifier import WebSocketNotifier
from .fairness import fair_queue_widgets
from .widgets import Context, Contribution, contributes

__all__ = ["CONSUMER_METRICS", "THROTTLED_METRIC", "MetricFilterSpec", "throttle_namespace"]

CONSUMER_METRICS: tuple[str, ...] = (
    "MessagesProcessed",
    "MessagesDeferred",
    "MessagesDeadLettered",
    "MessagesDroppedTTL",
    "MessagesFailed",
)
"""What ``handlers.resilience.priority`` publishes per batch (its ``METRIC_NAMES``)."""

THROTTLED_METRIC = "Http429"
"""Requests the front door answered 429, counted from its access logs by a metric filter (API
Gateway publishes 429s only inside 4XXError)."""


def throttle_namespace(api_name: str) -> str:
    """Namespace of an API's 429 metric: per project, stack and API, so two stacks in one
    account never add up."""
    return f"{pulumi.get_project()}-{pulumi.get_stack()}/{api_name}/access-logs"


@dataclass(frozen=True)
class MetricFilterSpec:
    """A metric filter ``Operations`` creates on ``log_group`` (one per API for its 429s)."""

    label: str
    log_group: pulumi.Input[str]
    pattern: str
    namespace: str
    metric: str
    dimensions: dict[str, str]


@contributes(ThrottledApi)
def _front_door(api: ThrottledApi, ctx: Context) -> Contribution:
    stage = api.stage_name
    if api.flavor == "rest":
        base: list[Any] = ["ApiName", api.api.name, "Stage", stage]
        names = {"4xx": "4XXError", "5xx": "5XXError"}
    else:
        base = ["ApiId", api.api.id, "Stage", stage]
        names = {"4xx": "4xx", "5xx": "5xx"}
    ns = "AWS/ApiGateway"
    widgets = [
        ctx.metric(
            f"{api._name}: requests, 4XX, 5XX",
            [[ns, "Count", *base], [ns, names["4xx"], *base], [ns, names["5xx"], *base]],
        )
    ]
    namespace = throttle_namespace(api._name)
    widgets.append(
        ctx.metric(
            f"{api._name}: 429 by route (throttled at the edge)",
            [[namespace, THROTTLED_METRIC, "route", r.key] for r in api.routes],
        )
    )
    for route in api.routes:
        if api.flavor == "rest":
            dims: list[Any] = [
                "ApiName",
                api.api.name,
                "Method",
                route.method,
                "Resource",
                route.path,
                "Stage",
                stage,
            ]
        else:
            dims = ["ApiId", api.api.id, "Route", route.key, "Stage", stage]
        timeout_ms = route.timeout_ms
        widgets.append(
            ctx.metric(
                f"{route.key}: latency p50 / p99 (ms)",
                [[ns, "Latency", *dims, {"stat": "p50"}], [ns, "Latency", *dims, {"stat": "p99"}]],
                stat="p99",
                lines=[("integration timeout (ms)", timeout_ms)],
            )
        )
    widgets += fair_queue_widgets(api, ctx)
    symptom = [a for a in api.alarm_resources if _suffix(a) in ("5xx-rate", "latency-p99")]
    functions = [r.function for r in api.routes if r.function is not None]
    return Contribution(
        "front door",
        f"Front door: {api._name} ({api.flavor.upper()})",
        widgets=widgets,
        alarms=list(api.alarm_resources),
        symptoms={"front-door": symptom},
        log_groups={"access": [api.access_logs.name]},
        nested=functions,
        filters=[
            MetricFilterSpec(
                label=f"{api._name}-429",
                log_group=api.access_logs.name,
                # The access log writes "$context.status" quoted, hence a string comparison.
                pattern='{ $.status = "429" }',
                namespace=namespace,
                metric=THROTTLED_METRIC,
                dimensions={"route": "$.route"},
            )
        ],
    )


@contributes(ResilientFunction)
def _function(fn: ResilientFunction, ctx: Context) -> Contribution:
    ns, dims = "AWS/Lambda", ["FunctionName", fn.function_name]
    concurrency_lines: list[tuple[str, float]] = []
    if fn.reserved_concurrency is not None:
        concurrency_lines.append(("reserved concurrency", fn.reserved_concurrency))
    if fn.settings.provisioned_concurrency:
        concurrency_lines.append(("provisioned concurrency", fn.settings.provisioned_concurrency))
    widgets = [
        ctx.metric(
            f"{fn._name}: invocations, errors, throttles",
            [[ns, "Invocations", *dims], [ns, "Errors", *dims], [ns, "Throttles", *dims]],
        ),
        ctx.metric(
            f"{fn._name}: concurrency",
            [[ns, "ConcurrentExecutions", *dims]],
            stat="Maximum",
            lines=concurrency_lines,
        ),
        ctx.metric(
            f"{fn._name}: duration p50 / p99 (ms)",
            [[ns, "Duration", *dims, {"stat": "p50"}], [ns, "Duration", *dims, {"stat": "p99"}]],
            stat="p99",
            lines=[("timeout (ms)", fn.timeout * 1000)],
        ),
        # Powertools' Logger marks the first invocation of each execution environment.
        ctx.logs(
            f"{fn._name}: cold starts",
            [fn.log_group_name],
            "filter cold_start = 1 | stats count(*) as cold_starts by bin(5m)",
        ),
    ]
    kind = "consumer" if fn.invocation == "queue" else "function"
    return Contribution(
        "functions",
        f"Function: {fn._name} ({fn.invocation})",
        widgets=widgets,
        alarms=list(fn.alarm_resources),
        log_groups={kind: [fn.log_group_name]},
    )


@contributes(PriorityQueuePair)
def _queues(pair: PriorityQueuePair, ctx: Context) -> Contribution:
    ns = "AWS/SQS"
    s = pair.settings
    queues = list(pair.queues.items())
    dlqs = list(pair.dlqs.items())
    age_lines: list[tuple[str, float]] = []
    if s.defer_after_s is not None:
        age_lines.append(("deferred to low after (s)", s.defer_after_s))
    if s.ttl_s is not None:
        age_lines.append(("TTL drop (s)", s.ttl_s))
    age_lines.append(("high age alarm (s)", s.age_alarm_s.get("high", 0)))
    widgets = [
        ctx.metric(
            f"{pair._name}: depth",
            [[ns, "ApproximateNumberOfMessagesVisible", "QueueName", q.name] for _, q in queues],
            stat="Maximum",
        ),
        ctx.metric(
            f"{pair._name}: age of the oldest message (s)",
            [[ns, "ApproximateAgeOfOldestMessage", "QueueName", q.name] for _, q in queues],
            stat="Maximum",
            lines=age_lines,
        ),
        ctx.metric(
            f"{pair._name}: DLQ depth",
            [[ns, "ApproximateNumberOfMessagesVisible", "QueueName", q.name] for _, q in dlqs],
            stat="Maximum",
            lines=[("any message is news", 0)],
        ),
    ]
    outcome_metrics = [
        [fn.settings.metrics_namespace, metric, "service", fn.settings.service_name]
        for fn in pair.consumers.values()
        for metric in CONSUMER_METRICS
    ]
    widgets.append(ctx.metric(f"{pair._name}: processed, deferred, dead-lettered, TTL drops", outcome_metrics))
    consumers = list(pair.consumers.values())
    return Contribution(
        "queues",
        f"Queues: {pair._name}",
        widgets=widgets,
        alarms=list(pair.alarm_resources),
        # The backlog ageing or a message dead-lettered is what a user sees (an order that never
        # lands); consumer errors and throttles are causes, on the consumers' own alarms.
        symptoms={"processing": list(pair.alarm_resources)},
        nested=consumers,  # each brings its own widgets and log group
    )


@contributes(aws.dynamodb.Table)
def _table(table: aws.dynamodb.Table, ctx: Context) -> Contribution:
    ns, dims = "AWS/DynamoDB", ["TableName", table.name]
    logical = table._name
    return Contribution(
        "tables",
        f"Table: {logical}",
        widgets=[
            ctx.metric(
                f"{logical}: throttled reads and writes",
                [[ns, "ReadThrottleEvents", *dims], [ns, "WriteThrottleEvents", *dims]],
            ),
            ctx.metric(
                f"{logical}: consumed capacity",
                [[ns, "ConsumedReadCapacityUnits", *dims], [ns, "ConsumedWriteCapacityUnits", *dims]],
            ),
        ],
    )


@contributes(AsyncJobWorkflow)
def _workflow(jobs: AsyncJobWorkflow, ctx: Context) -> Contribution:
    # Its functions contribute their own widgets (they are ResilientFunctions): this is the
    # workflow itself, its start buffer and its webhook deliveries.
    ns, dims = "AWS/States", ["StateMachineArn", jobs.state_machine_arn]
    outcomes = ("ExecutionsStarted", "ExecutionsSucceeded", "ExecutionsFailed", "ExecutionsTimedOut")
    widgets = [
        ctx.metric(f"{jobs._name}: executions", [[ns, name, *dims] for name in outcomes]),
        ctx.metric(f"{jobs._name}: throttled transitions", [[ns, "ExecutionThrottled", *dims]]),
    ]
    queues = [q for q in (jobs.start_queue, jobs.webhook_queue) if q is not None]
    dlqs = [q for q in (jobs.start_dlq, jobs.webhook_dlq) if q is not None]
    if queues:
        widgets.append(
            ctx.metric(
                f"{jobs._name}: start and webhook queue age (s)",
                [["AWS/SQS", "ApproximateAgeOfOldestMessage", "QueueName", q.name] for q in queues],
                stat="Maximum",
            )
        )
    if dlqs:
        widgets.append(
            ctx.metric(
                f"{jobs._name}: DLQ depth (failed starts, undeliverable webhooks)",
                [["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", q.name] for q in dlqs],
                stat="Maximum",
                lines=[("any message is news", 0)],
            )
        )
    return Contribution(
        "workflows",
        f"Workflow {jobs._name}",
        widgets=widgets,
        alarms=list(jobs.alarm_resources),
        symptoms={"processing": list(jobs.alarm_resources)},
        nested=list(jobs.functions.values()),
    )


@contributes(WebSocketNotifier)
def _websocket(push: WebSocketNotifier, ctx: Context) -> Contribution:
    # Its functions contribute their own widgets (they are ResilientFunctions); this is the socket.
    ns, dims = "AWS/ApiGateway", ["ApiId", push.api.id, "Stage", push.settings.stage_name]
    connect = next(r for r in push.settings.routes if r.key == "$connect")
    return Contribution(
        "websocket",
        f"WebSocket {push._name}",
        widgets=[
            ctx.metric(
                f"{push._name}: connects and messages",
                [[ns, "ConnectCount", *dims], [ns, "MessageCount", *dims]],
                lines=[("$connect throttle per minute", connect.rate * ctx.period_s)],
            ),
            ctx.metric(
                f"{push._name}: client, integration and execution errors",
                [[ns, "ClientError", *dims], [ns, "IntegrationError", *dims], [ns, "ExecutionError", *dims]],
            ),
        ],
        alarms=list(push.alarm_resources),
        nested=list(push.functions.values()),
    )


def _suffix(alarm: pulumi.Resource) -> str:
    """``orders-alarm-5xx-rate`` -> ``5xx-rate`` (the suffix ``_alarm`` was given)."""
    return alarm._name.split("-alarm-", 1)[-1]
