"""Lambda functions: explicit timeouts, bounded concurrency, tracing, JSON logs, log retention,
bounded asynchronous retries, provisioned within reserved, supported runtimes, and stream mappings
that bound their retries.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from .. import aws_facts
from .common import CANARY, FUNCTION, INVOKE_CONFIG, LOG_GROUP, MAPPING, PROVISIONED
from .registry import rule

if TYPE_CHECKING:
    from ..offline import CapturedResource, Graph


@rule(
    "lambda-explicit-timeout",
    "error",
    (FUNCTION,),
    "Every function sets its timeout (the 3 s AWS default is never a decision)",
)
def lambda_explicit_timeout(fn: CapturedResource, graph: Graph) -> Iterator[str]:
    if "timeout" not in fn.inputs:
        yield "no timeout set: work is bounded only by the 3 s AWS default"


def mapping_concurrency_bound(mapping: CapturedResource) -> float | None:
    """What bounds the concurrent invocations of an SQS mapping: its maximum concurrency, or in
    provisioned mode its maximum pollers (each about ten invocations in flight; AWS refuses both
    on one mapping). None when nothing does."""
    maximum = (mapping.inputs.get("scalingConfig") or {}).get("maximumConcurrency")
    if maximum:
        return float(maximum)
    pollers = (mapping.inputs.get("provisionedPollerConfig") or {}).get("maximumPollers")
    return float(pollers) * 10 if pollers else None


@rule(
    "lambda-bounded-concurrency",
    "error",
    (FUNCTION,),
    "Every function has reserved concurrency, or is fed by a queue mapping with maximum concurrency or pollers",
)
def lambda_bounded_concurrency(fn: CapturedResource, graph: Graph) -> Iterator[str]:
    reserved = fn.inputs.get("reservedConcurrentExecutions", -1)
    if reserved == 0:
        yield "reserved concurrency 0: the function is disabled (every invocation is throttled)"
        return
    if reserved > 0:
        return
    name = fn.outputs.get("name", fn.name)
    mappings = [
        m
        for m in graph.of_type(MAPPING)
        if str(m.inputs.get("functionName", "")).startswith((name, fn.outputs.get("arn", name)))
    ]
    if not mappings:
        yield "unreserved concurrency and no queue mapping bounds it: excess work is not shed"
    for m in mappings:
        if mapping_concurrency_bound(m) is None:
            yield f"unreserved and its mapping {m.name} sets no maximum concurrency (nor maximum pollers)"


@rule("lambda-tracing-active", "warning", (FUNCTION,), "X-Ray active tracing is on")
def lambda_tracing_active(fn: CapturedResource, graph: Graph) -> Iterator[str]:
    if (fn.inputs.get("tracingConfig") or {}).get("mode") != "Active":
        yield "tracing is not Active: no X-Ray trace for this function"


@rule(
    "lambda-json-logs-with-retention",
    "error",
    (FUNCTION,),
    "Logs are JSON and go to a log group of this stack that has a retention",
)
def lambda_json_logs(fn: CapturedResource, graph: Graph) -> Iterator[str]:
    logging = fn.inputs.get("loggingConfig") or {}
    if logging.get("logFormat") != "JSON":
        yield "log format is not JSON: logs cannot be queried by field"
    group_name = logging.get("logGroup") or f"/aws/lambda/{fn.outputs.get('name', fn.name)}"
    groups = [g for g in graph.of_type(LOG_GROUP) if g.outputs.get("name") == group_name]
    if not groups:
        yield f"log group {group_name} is not managed by this stack: Lambda creates it with no retention"


@rule("log-group-retention", "error", (LOG_GROUP,), "Every log group has a retention period")
def log_group_retention(group: CapturedResource, graph: Graph) -> Iterator[str]:
    if not group.inputs.get("retentionInDays"):
        yield "no retention: logs are kept (and billed) forever"


@rule(
    "async-invoke-bounded",
    "error",
    (INVOKE_CONFIG,),
    "Async invocations have bounded retries and event age and an on-failure destination",
)
def async_invoke_bounded(config: CapturedResource, graph: Graph) -> Iterator[str]:
    retries = config.inputs.get("maximumRetryAttempts")
    age = config.inputs.get("maximumEventAgeInSeconds")
    if retries is None:
        yield "maximumRetryAttempts not set: AWS retries twice by default"
    if age is None:
        yield "maximumEventAgeInSeconds not set: events may wait 6 h (a silent backlog)"
    if not ((config.inputs.get("destinationConfig") or {}).get("onFailure") or {}).get("destination"):
        yield "no on-failure destination: failed events are lost"


@rule(
    "provisioned-within-reserved",
    "error",
    (PROVISIONED,),
    "Provisioned concurrency does not exceed the function's reserved concurrency",
)
def provisioned_within_reserved(config: CapturedResource, graph: Graph) -> Iterator[str]:
    wanted = config.inputs.get("provisionedConcurrentExecutions", 0)
    for fn in graph.of_type(FUNCTION):
        if fn.outputs.get("name") == config.inputs.get("functionName"):
            reserved = fn.inputs.get("reservedConcurrentExecutions", -1)
            if 0 <= reserved < wanted:
                yield f"provisioned {wanted} exceeds reserved concurrency {reserved}"


@rule(
    "runtime-supported",
    "error",
    (FUNCTION, CANARY),
    "A function's or canary's runtime is not past its deprecation date (AWS refuses to create on it)",
    needs_graph=False,
)
def runtime_supported(resource: CapturedResource, graph: Graph) -> Iterator[str]:
    key = "runtimeVersion" if resource.type == CANARY else "runtime"
    fact = aws_facts.deprecated_runtime(resource.inputs.get(key), aws_facts.today())
    if fact is None:
        return
    prefix = "syn-python-selenium-" if fact.kind == "synthetics" else "python"
    alive = aws_facts.supported_runtimes(fact.kind, prefix, aws_facts.today())
    what = "canary" if fact.kind == "synthetics" else "function"
    yield (
        f"runtime {fact.describe()}: AWS refuses to create a {what} on it; use "
        f"{' or '.join(alive[:2]) or 'a supported runtime'}"
    )


STREAM_SOURCES = (":dynamodb:", ":kinesis:")


@rule(
    "stream-mapping-bounded",
    "error",
    (MAPPING,),
    "A DynamoDB or Kinesis stream mapping bounds its retries, splits a failing batch and keeps what fails",
    needs_graph=False,
)
def stream_mapping_bounded(mapping: CapturedResource, graph: Graph) -> Iterator[str]:
    if not any(s in str(mapping.inputs.get("eventSourceArn", "")) for s in STREAM_SOURCES):
        return
    attempts = mapping.inputs.get("maximumRetryAttempts")
    if attempts is None or attempts == -1:
        setting = "maximumRetryAttempts unset" if attempts is None else f"maximumRetryAttempts={attempts}"
        yield (
            f"{setting}: a failing batch is retried until its records expire from the stream, and its shard "
            "makes no progress meanwhile"
        )
    if not mapping.inputs.get("bisectBatchOnFunctionError"):
        yield "no bisectBatchOnFunctionError: one bad record fails its whole batch on every retry"
    on_failure = ((mapping.inputs.get("destinationConfig") or {}).get("onFailure") or {}).get("destinationArn")
    if not on_failure:
        yield "no on-failure destination: records that exhaust their retries are skipped with no trace"
