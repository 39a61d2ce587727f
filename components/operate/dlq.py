"""``resilient-serverless dlq list|show|redrive``: a stack's dead-letter queues.

- ``list``: depth, oldest message age (CloudWatch ``ApproximateAgeOfOldestMessage``; SQS has no
  attribute for it) and owning component of every DLQ;
- ``show``: messages with the reason the library's consumers wrote (message attribute
  ``reason``), received under a short visibility timeout and made visible again at once, so
  nothing is consumed (SQS does count the receive);
- ``redrive``: an SQS message move task back to the source queue (or one of its sources) at a
  bounded rate, followed until it ends; ``--status`` lists the queue's move tasks, ``--cancel``
  stops the running one (messages already moved stay moved).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from .. import defaults
from .stack import DeadLetterQueue, OperateError, StackInventory, source_kind, sources_named

__all__ = ["cancel", "list_dlqs", "parse_rate", "redrive", "show", "status"]

Write = Callable[[str], None]
REASON_ATTRIBUTE = "reason"  # written by handlers.resilience.priority on a poisoned message
FINAL_STATES = ("COMPLETED", "CANCELLED", "FAILED")
# Long enough to read a batch and make it visible again; short enough that a crash of this command
# delays those messages by seconds, not by the queue's own visibility timeout.
PEEK_VISIBILITY_S = 20


def parse_rate(text: str | None) -> int:
    """``--rate`` as messages per second within SQS's range (default ``DLQ_REDRIVE_RATE_PER_S``)."""
    if text is None:
        return defaults.DLQ_REDRIVE_RATE_PER_S
    low, high = defaults.DLQ_REDRIVE_RATE_RANGE
    if not text.strip().isdigit() or not low <= int(text) <= high:
        raise OperateError(
            f"--rate={text!r} must be a whole number of messages per second from {low} to {high} "
            "(SQS StartMessageMoveTask MaxNumberOfMessagesPerSecond)"
        )
    return int(text)


def _depth(sqs: Any, dlq: DeadLetterQueue) -> tuple[int, int]:
    attrs = sqs.get_queue_attributes(
        QueueUrl=dlq.url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    )["Attributes"]
    return int(attrs.get("ApproximateNumberOfMessages", 0)), int(attrs.get("ApproximateNumberOfMessagesNotVisible", 0))


def _oldest_age_s(cloudwatch: Any, dlq: DeadLetterQueue, now: datetime) -> float | None:
    # SQS publishes per minute: the window ends with the minute in progress, which holds the newest point.
    end = now.replace(second=0, microsecond=0) + timedelta(minutes=1)
    points = cloudwatch.get_metric_statistics(
        Namespace="AWS/SQS",
        MetricName="ApproximateAgeOfOldestMessage",
        Dimensions=[{"Name": "QueueName", "Value": dlq.name}],
        StartTime=end - timedelta(minutes=15),
        EndTime=end,
        Period=300,
        Statistics=["Maximum"],
    ).get("Datapoints", [])
    if not points:
        return None
    return float(max(points, key=lambda p: p["Timestamp"])["Maximum"])


def _age(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    s = int(seconds)
    return f"{s // 86400}d{s % 86400 // 3600}h" if s >= 86400 else f"{s // 3600}h{s % 3600 // 60:02d}m{s % 60:02d}s"


def list_dlqs(inventory: StackInventory, sqs: Any, cloudwatch: Any, write: Write, now: datetime | None = None) -> int:
    when = now or datetime.now(UTC)
    rows = [("DLQ", "DEPTH", "IN FLIGHT", "OLDEST", "COMPONENT", "SOURCES")]
    for dlq in inventory.dlqs:
        visible, in_flight = _depth(sqs, dlq)
        rows.append(
            (
                dlq.name,
                str(visible),
                str(in_flight),
                _age(_oldest_age_s(cloudwatch, dlq, when)),
                dlq.component,
                sources_named(inventory, dlq.sources),
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for row in rows:
        write("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
    write(f"{len(inventory.dlqs)} DLQs in stack {inventory.stack}")
    return 0


def _attribute(message: dict[str, Any], name: str) -> str | None:
    value = (message.get("MessageAttributes") or {}).get(name)
    return str(value.get("StringValue")) if isinstance(value, dict) and "StringValue" in value else None


def show(inventory: StackInventory, sqs: Any, queue: str, limit: int, write: Write) -> int:
    dlq = inventory.dlq(queue)
    if limit < 1:
        raise OperateError(f"--limit={limit} must be a whole number above 0")
    seen: list[dict[str, Any]] = []
    try:
        while len(seen) < limit:
            batch = sqs.receive_message(
                QueueUrl=dlq.url,
                MaxNumberOfMessages=min(10, limit - len(seen)),
                VisibilityTimeout=PEEK_VISIBILITY_S,
                WaitTimeSeconds=0,
                AttributeNames=["All"],
                MessageAttributeNames=["All"],
            ).get("Messages", [])
            if not batch:
                break
            seen += batch
    finally:
        for start in range(0, len(seen), 10):
            sqs.change_message_visibility_batch(
                QueueUrl=dlq.url,
                Entries=[
                    {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"], "VisibilityTimeout": 0}
                    for i, m in enumerate(seen[start : start + 10])
                ],
            )
    for m in seen:
        attrs = m.get("Attributes", {})
        sent = datetime.fromtimestamp(int(attrs.get("SentTimestamp", 0)) / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        reason = _attribute(m, REASON_ATTRIBUTE) or "(none written: failed on every receive, moved by SQS)"
        body = m.get("Body", "")
        write(f"{m['MessageId']}  sent {sent}  receives {attrs.get('ApproximateReceiveCount', '?')}")
        write(f"  reason: {reason}")
        write(f"  body:   {body[:200]}{'...' if len(body) > 200 else ''}")
    write(f"{len(seen)} message(s) shown from {dlq.name}, none consumed (visibility restored)")
    return 0


def _destination(inventory: StackInventory, dlq: DeadLetterQueue, to: str | None) -> str | None:
    if not dlq.source_queues:
        # SQS moves messages back only to the queues a DLQ serves (StartMessageMoveTask).
        raise OperateError(
            f"{dlq.name} holds {source_kind(dlq.sources[0])}, not messages of a queue: there is no "
            "source queue to move them back to (read them with `dlq show`)"
        )
    if to is None:
        return None  # SQS returns each message to the queue it came from
    for arn in dlq.source_queues:
        name = inventory.queue_names.get(arn, "")
        if to in (arn, name) or to.endswith("/" + name):
            return arn
    raise OperateError(
        f"--to={to!r} is not a source of {dlq.name} (its sources: {sources_named(inventory, dlq.sources)})"
    )


def redrive(
    inventory: StackInventory,
    sqs: Any,
    queue: str,
    write: Write,
    *,
    to: str | None = None,
    rate: int = defaults.DLQ_REDRIVE_RATE_PER_S,
    dry_run: bool = False,
    poll_s: float = defaults.DLQ_REDRIVE_POLL_S,
    sleep: Callable[[float], None] = time.sleep,
) -> int:
    dlq = inventory.dlq(queue)
    destination = _destination(inventory, dlq, to)
    where = sources_named(inventory, [destination] if destination else dlq.source_queues)
    visible, _ = _depth(sqs, dlq)
    if dry_run:
        write(
            f"dry run: would move about {visible} message(s) from {dlq.name} to {where} at {rate}/s "
            f"(about {-(-visible // rate)} s); nothing moved"
        )
        return 0
    started = sqs.start_message_move_task(
        SourceArn=dlq.arn, MaxNumberOfMessagesPerSecond=rate, **({"DestinationArn": destination} if destination else {})
    )
    write(f"moving about {visible} message(s) from {dlq.name} to {where} at {rate}/s (task {started['TaskHandle']})")
    last: tuple[Any, ...] = ()
    try:
        while True:
            tasks = sqs.list_message_move_tasks(SourceArn=dlq.arn, MaxResults=1).get("Results", [])
            task = tasks[0] if tasks else {"Status": "COMPLETED"}
            state = (task["Status"], task.get("ApproximateNumberOfMessagesMoved", 0))
            if state != last:
                total = task.get("ApproximateNumberOfMessagesToMove", visible)
                write(f"  {task['Status'].lower()}: {state[1]} of {total} moved")
                last = state
            if task["Status"] in FINAL_STATES:
                if task.get("FailureReason"):
                    write(f"  failure: {task['FailureReason']}")
                return 0 if task["Status"] == "COMPLETED" else 1
            sleep(poll_s)
    except KeyboardInterrupt:
        write(f"  stopped watching; the move goes on in SQS (stop it: dlq redrive {dlq.name} --cancel)")
        return 130


def status(inventory: StackInventory, sqs: Any, queue: str, write: Write) -> int:
    dlq = inventory.dlq(queue)
    tasks = sqs.list_message_move_tasks(SourceArn=dlq.arn, MaxResults=10).get("Results", [])
    for t in tasks:
        started = datetime.fromtimestamp(int(t.get("StartedTimestamp", 0)) / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        moved = f"{t.get('ApproximateNumberOfMessagesMoved', 0)} of {t.get('ApproximateNumberOfMessagesToMove', '?')}"
        rate = t.get("MaxNumberOfMessagesPerSecond", "max")
        write(f"{t['Status']:10} started {started}  moved {moved} at {rate}/s  {t.get('FailureReason', '')}".rstrip())
    if not tasks:
        write(f"no move task on {dlq.name}")
    return 0


def cancel(inventory: StackInventory, sqs: Any, queue: str, write: Write) -> int:
    dlq = inventory.dlq(queue)
    tasks = sqs.list_message_move_tasks(SourceArn=dlq.arn, MaxResults=1).get("Results", [])
    if not tasks or tasks[0]["Status"] != "RUNNING":
        write(f"no running move task on {dlq.name}: nothing to cancel")
        return 1
    moved = sqs.cancel_message_move_task(TaskHandle=tasks[0]["TaskHandle"]).get("ApproximateNumberOfMessagesMoved", 0)
    write(f"cancelled the move from {dlq.name}: {moved} message(s) had moved and stay where they went")
    return 0
