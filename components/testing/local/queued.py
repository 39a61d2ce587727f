"""Queued work ``settle`` delivers: SQS event source mappings (batch size, partial failures,
visibility and redrive), and asynchronous invokes (retries, maximum event age, on-failure
destination), on the run's clock."""

from __future__ import annotations

import time
import uuid
from typing import TYPE_CHECKING, Any

from .common import AsyncConfig, AsyncInvoke, Mapping_, dumps
from .functions import Invocation, TooManyRequests

if TYPE_CHECKING:
    from .host import LocalRunHost as LocalRun

__all__ = [
    "AsyncConfig",
    "AsyncInvoke",
    "Mapping_",
    "async_configs_of",
    "mappings_of",
    "next_wakeup",
    "poll_mappings",
    "run_async",
]


def poll_mappings(run: LocalRun) -> int:
    delivered = 0
    sqs = run.backend.client("sqs")
    for mapping in run.mappings:
        if not run.backend.sqs_queue(mapping.queue_url.rsplit("/", 1)[-1]).messages:
            continue
        answer = sqs.receive_message(
            QueueUrl=mapping.queue_url,
            MaxNumberOfMessages=min(mapping.batch_size, 10),
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        )
        messages = answer.get("Messages") or []
        if not messages:
            continue
        delivered += len(messages)
        event = {"Records": [sqs_record(m, mapping.queue_arn, run.backend.region) for m in messages]}
        try:
            invocation = run.functions.invoke(mapping.function, event, source=f"sqs {mapping.queue_arn}")
        except TooManyRequests:
            continue  # the messages return after their visibility timeout, as with a throttled poller
        failed_ids: set[str] | None
        if invocation.failed:
            failed_ids = None  # the whole batch returns to the queue
        elif mapping.partial_failures and isinstance(invocation.result, dict):
            failed_ids = {f.get("itemIdentifier") for f in invocation.result.get("batchItemFailures") or []}
        else:
            failed_ids = set()
        done = [m for m in messages if failed_ids is not None and m["MessageId"] not in failed_ids]
        for chunk in range(0, len(done), 10):
            sqs.delete_message_batch(
                QueueUrl=mapping.queue_url,
                Entries=[
                    {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(done[chunk : chunk + 10])
                ],
            )
    return delivered


def run_async(run: LocalRun) -> int:
    now = run.clock.now()
    due = [a for a in run.pending_async if a.not_before <= now]
    for item in due:
        run.pending_async.remove(item)
        config = run.async_config.get(item.function, AsyncConfig())
        if now - item.first_at > config.max_age_s:
            async_failed(run, item, config, None, "EventAgeExceeded")
            continue
        item.attempts += 1
        try:
            invocation = run.functions.invoke(item.function, item.event, source="async")
        except TooManyRequests:
            item.attempts -= 1
            item.not_before = now + 1
            run.pending_async.append(item)
            continue
        if not invocation.failed:
            continue
        if item.attempts <= config.retries:
            # Lambda waits about a minute before the first retry and two before the second.
            item.not_before = now + 60 * item.attempts
            run.pending_async.append(item)
        else:
            async_failed(run, item, config, invocation, "RetriesExhausted")
    return len(due)


def async_failed(
    run: LocalRun, item: AsyncInvoke, config: AsyncConfig, invocation: Invocation | None, condition: str
) -> None:
    spec = run.functions.resolve(item.function)
    record = {
        "version": "1.0",
        "timestamp": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(run.clock.now())),
        "requestContext": {
            "requestId": str(uuid.uuid4()),
            "functionArn": f"{spec.arn}:$LATEST",
            "condition": condition,
            "approximateInvokeCount": item.attempts,
        },
        "requestPayload": item.event,
        "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
        "responsePayload": invocation.error if invocation else None,
    }
    run.dead_async.append(record)
    if config.on_failure and ":sqs:" in config.on_failure:
        run._send(config.on_failure, dumps(record), spec.role_arn)


def next_wakeup(run: LocalRun) -> float | None:
    """Seconds until the next queued work is due: an async retry, or the first in-flight or
    delayed message of a mapped queue to become visible again."""
    now = run.clock.now()
    waits = [a.not_before - now for a in run.pending_async]
    for mapping in run.mappings:
        queue = run.backend.sqs_queue(mapping.queue_url.rsplit("/", 1)[-1])
        for message in list(queue._messages):
            due_ms = max(float(message.visible_at or 0), float(getattr(message, "delayed_until", 0) or 0))
            waits.append(due_ms / 1000 - now + 0.001)
    positive = [w for w in waits if w > 0]
    if waits and not positive:
        return 0.0
    return min(positive) if positive else None


def sqs_record(message: dict[str, Any], queue_arn: str, region: str) -> dict[str, Any]:
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": message.get("Attributes", {}),
        "messageAttributes": {
            name: {
                "stringValue": value.get("StringValue"),
                "binaryValue": value.get("BinaryValue"),
                "stringListValues": [],
                "binaryListValues": [],
                "dataType": value["DataType"],
            }
            for name, value in (message.get("MessageAttributes") or {}).items()
        },
        "md5OfBody": message.get("MD5OfBody"),
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": region,
    }


def mappings_of(run: LocalRun) -> list[Mapping_]:
    found = []
    for mapping in run.graph.of_type("aws:lambda/eventSourceMapping:EventSourceMapping"):
        source = str(mapping.inputs.get("eventSourceArn", ""))
        if ":sqs:" not in source:
            continue
        scaling = mapping.inputs.get("scalingConfig") or {}
        found.append(
            Mapping_(
                queue_url=run._local_queue_url(source),
                queue_arn=source,
                function=run.functions.resolve(str(mapping.inputs["functionName"])).name,
                batch_size=int(mapping.inputs.get("batchSize", 10)),
                partial_failures="ReportBatchItemFailures" in (mapping.inputs.get("functionResponseTypes") or []),
                max_concurrency=scaling.get("maximumConcurrency"),
            )
        )
    return found


def async_configs_of(run: LocalRun) -> dict[str, AsyncConfig]:
    found = {}
    for config in run.graph.of_type("aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig"):
        name = run.functions.resolve(str(config.inputs["functionName"])).name
        on_failure = ((config.inputs.get("destinationConfig") or {}).get("onFailure") or {}).get("destination")
        found[name] = AsyncConfig(
            retries=int(config.inputs.get("maximumRetryAttempts", 2)),
            max_age_s=int(config.inputs.get("maximumEventAgeInSeconds", 21600)),
            on_failure=on_failure,
        )
    return found
