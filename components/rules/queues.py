"""SQS queues and their consumers: a dead-letter queue that outlives its source, encryption,
retries before dead-lettering, visibility that covers the consumer, isolated mappings.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import TYPE_CHECKING

from .common import (
    FUNCTION,
    INVOKE_CONFIG,
    LAMBDA_DEFAULT_TIMEOUT_S,
    MAPPING,
    QUEUE,
    SQS_DEFAULT_RETENTION_S,
    SQS_DEFAULT_VISIBILITY_S,
)
from .functions import mapping_concurrency_bound
from .registry import rule

if TYPE_CHECKING:
    from ..offline import CapturedResource, Graph


# Where a queue is named as a dead-letter target, by the type that names it.
DLQ_FIELDS = {
    QUEUE: ("redrivePolicy",),
    INVOKE_CONFIG: ("destinationConfig",),
    FUNCTION: ("deadLetterConfig",),
    MAPPING: ("destinationConfig",),
    "aws:sns/topicSubscription:TopicSubscription": ("redrivePolicy",),
    "aws:cloudwatch/eventTarget:EventTarget": ("deadLetterConfig",),
}


def is_dead_letter_target(queue: CapturedResource, graph: Graph) -> bool:
    arn = queue.outputs.get("arn")
    if not arn:
        return False
    for r in graph:
        if r.urn == queue.urn or r.type not in DLQ_FIELDS:
            continue
        if any(arn in json.dumps(r.inputs.get(f), default=str) for f in DLQ_FIELDS[r.type] if r.inputs.get(f)):
            return True
    return False


@rule("sqs-dead-letter", "error", (QUEUE,), "Every queue has a DLQ, or is itself a dead-letter target")
def sqs_dead_letter(queue: CapturedResource, graph: Graph) -> Iterator[str]:
    if not queue.inputs.get("redrivePolicy") and not is_dead_letter_target(queue, graph):
        yield "no redrive policy and not a DLQ: a poison message is retried until retention drops it"


@rule("sqs-encrypted", "warning", (QUEUE,), "Queues are encrypted at rest")
def sqs_encrypted(queue: CapturedResource, graph: Graph) -> Iterator[str]:
    if not (queue.inputs.get("sqsManagedSseEnabled") or queue.inputs.get("kmsMasterKeyId")):
        yield "no server-side encryption"


def _queue_by_arn(graph: Graph, arn: str) -> CapturedResource | None:
    return next((q for q in graph.of_type(QUEUE) if q.outputs.get("arn") == arn), None)


def _function_by_name(graph: Graph, name: str) -> CapturedResource | None:
    return next((f for f in graph.of_type(FUNCTION) if f.outputs.get("name") == name), None)


@rule(
    "sqs-visibility-covers-consumer",
    "error",
    (MAPPING,),
    "A queue's visibility timeout is at least 6x its consumer's timeout plus the batching window",
)
def sqs_visibility_covers_consumer(mapping: CapturedResource, graph: Graph) -> Iterator[str]:
    queue = _queue_by_arn(graph, str(mapping.inputs.get("eventSourceArn", "")))
    fn = _function_by_name(graph, str(mapping.inputs.get("functionName", "")))
    if queue is None or fn is None:
        return
    timeout = fn.inputs.get("timeout", LAMBDA_DEFAULT_TIMEOUT_S)
    needed = 6 * timeout + mapping.inputs.get("maximumBatchingWindowInSeconds", 0)
    visibility = queue.inputs.get("visibilityTimeoutSeconds", SQS_DEFAULT_VISIBILITY_S)
    if visibility < needed:
        yield (
            f"queue {queue.name} hides a received batch for {visibility} s, below the {needed} s its consumer "
            f"{fn.name} may need (6 x {timeout} s + window): work is delivered twice"
        )


@rule(
    "sqs-mapping-isolated",
    "error",
    (MAPPING,),
    "An SQS consumer reports partial batch failures and has its own maximum concurrency (or pollers)",
)
def sqs_mapping_isolated(mapping: CapturedResource, graph: Graph) -> Iterator[str]:
    if ":sqs:" not in str(mapping.inputs.get("eventSourceArn", "")):
        return
    if "ReportBatchItemFailures" not in (mapping.inputs.get("functionResponseTypes") or []):
        yield "no ReportBatchItemFailures: one bad message makes the whole batch retry"
    if mapping_concurrency_bound(mapping) is None:
        yield "no maximum concurrency (nor maximum pollers): a flood on this queue can take every execution environment"


@rule("sqs-dlq-outlives-source", "error", (QUEUE,), "A dead-letter queue keeps messages longer than its source")
def sqs_dlq_outlives_source(queue: CapturedResource, graph: Graph) -> Iterator[str]:
    redrive = queue.inputs.get("redrivePolicy")
    # A deployed queue without one reports "" (what a policy pack's stack policy sees).
    target = json.loads(redrive).get("deadLetterTargetArn") if isinstance(redrive, str) and redrive else None
    dlq = _queue_by_arn(graph, target) if target else None
    if dlq is None:
        return
    source_keeps = queue.inputs.get("messageRetentionSeconds", SQS_DEFAULT_RETENTION_S)
    dlq_keeps = dlq.inputs.get("messageRetentionSeconds", SQS_DEFAULT_RETENTION_S)
    if dlq_keeps <= source_keeps:
        yield (
            f"its DLQ {dlq.name} keeps messages {dlq_keeps} s, not longer than this queue's {source_keeps} s: "
            "a redriven message can expire before anyone looks"
        )
    if bool(dlq.inputs.get("fifoQueue")) != bool(queue.inputs.get("fifoQueue")):
        yield f"its DLQ {dlq.name} is not of the same type (standard or FIFO)"


MIN_RECEIVE_COUNT = 2


@rule(
    "sqs-redrive-retries",
    "error",
    (QUEUE,),
    f"A redrive policy lets a message be received at least {MIN_RECEIVE_COUNT} times before it is dead-lettered",
    needs_graph=False,
)
def sqs_redrive_retries(queue: CapturedResource, graph: Graph) -> Iterator[str]:
    redrive = queue.inputs.get("redrivePolicy")
    try:
        policy = json.loads(redrive) if isinstance(redrive, str) and redrive else redrive or {}
    except ValueError:
        return
    count = policy.get("maxReceiveCount") if isinstance(policy, dict) else None
    if isinstance(count, int | float) and count < MIN_RECEIVE_COUNT:
        yield (
            f"maxReceiveCount={int(count)}: one failed receive (a throttle, a timeout, a deploy) dead-letters the "
            f"message; allow at least {MIN_RECEIVE_COUNT} (the components use 5)"
        )
