"""Consumers for PriorityQueuePair: every message ends processed, deferred, dead-lettered or
dropped by an explicit TTL, and each outcome is counted.

For each record of an SQS batch, in order:

1. a body that fails the schema (or is not JSON) is *dead-lettered* at once, with the reason as a
   message attribute: retrying it could never succeed;
2. a message older than ``ttl_s`` (from ``SentTimestamp``) is *dropped*, where the owner enabled a
   TTL (point-in-time data such as device readings), with a log line and a metric;
3. on the high-priority queue, a message older than ``defer_after_s`` is *deferred* to the
   low-priority queue, so fresh work is not stuck behind a backlog; deferral writes go out with
   ``SendMessageBatch`` in groups of 10, and a message is acknowledged only once its write
   succeeded;
4. anything else is *processed* by the owner's function.

A record whose processing, dead-lettering or deferral failed is reported in ``batchItemFailures``
and retried by SQS; after ``maxReceiveCount`` receives SQS moves it to the DLQ. On a FIFO queue the
first failure also fails every later record of the batch, so a group is never processed out of order.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = ["Outcome", "PriorityConsumer", "SqsMessage", "age_seconds"]

Outcome = Literal["processed", "deferred", "dead-lettered", "dropped", "failed"]
SEND_BATCH_MAX = 10  # SQS SendMessageBatch limit
METRIC_NAMES: dict[str, str] = {
    "processed": "MessagesProcessed",
    "deferred": "MessagesDeferred",
    "dead-lettered": "MessagesDeadLettered",
    "dropped": "MessagesDroppedTTL",
    "failed": "MessagesFailed",
}


@dataclass(frozen=True)
class SqsMessage:
    """The parts of an SQS record the consumer needs."""

    message_id: str
    body: str
    sent_at_ms: int
    attributes: Mapping[str, Any] = field(default_factory=dict)
    message_attributes: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> SqsMessage:
        attributes = record.get("attributes") or {}
        return cls(
            message_id=record["messageId"],
            body=record.get("body", ""),
            sent_at_ms=int(attributes.get("SentTimestamp", 0)),
            attributes=attributes,
            message_attributes=record.get("messageAttributes") or {},
        )


def age_seconds(message: SqsMessage, now_s: float) -> float:
    """How long ago the producer sent the message (``SentTimestamp``, milliseconds since epoch)."""
    return max(0.0, now_s - message.sent_at_ms / 1000)


def _forwarded_attributes(message: SqsMessage, extra: Mapping[str, str]) -> dict[str, Any]:
    """Message attributes in SendMessage's shape (Lambda delivers them in camelCase)."""
    out: dict[str, Any] = {}
    for name, value in message.message_attributes.items():
        data_type = value.get("dataType") or value.get("DataType") or "String"
        if "stringValue" in value or "StringValue" in value:
            out[name] = {"DataType": data_type, "StringValue": value.get("stringValue", value.get("StringValue"))}
    for name, text in extra.items():
        out[name] = {"DataType": "String", "StringValue": text[:256]}
    return dict(list(out.items())[:10])  # SQS allows 10 message attributes


@dataclass
class PriorityConsumer:
    """One consumer. ``process(body, message)`` does the owner's work; raise to fail the record.

    ``role`` is ``high`` (defers), ``low`` or ``surge`` (process only). ``validate(body)`` returns
    None for a good body or the reason it is bad. ``metric(name, count)`` publishes a count
    (EMF through Powertools in Lambda). ``sqs`` is a boto client; ``clock`` returns epoch seconds.
    """

    process: Callable[[Any, SqsMessage], Any]
    sqs: Any
    role: Literal["high", "low", "surge"] = "high"
    low_queue_url: str | None = None
    dlq_url: str | None = None
    defer_after_s: float | None = None
    ttl_s: float | None = None
    fifo: bool = False
    validate: Callable[[Any], str | None] | None = None
    metric: Callable[[str, int], Any] = lambda name, count: None
    log: Callable[[str, Mapping[str, Any]], Any] = lambda message, fields: None
    clock: Callable[[], float] = time.time

    def __post_init__(self) -> None:
        if self.role == "high" and self.defer_after_s is not None and not self.low_queue_url:
            raise ValueError("defer_after_s needs low_queue_url: deferred messages must have somewhere to go")
        if self.defer_after_s is not None and self.ttl_s is not None and self.defer_after_s >= self.ttl_s:
            raise ValueError(f"defer_after_s={self.defer_after_s!r} must be below ttl_s={self.ttl_s!r}")
        if self.fifo and self.defer_after_s is not None:
            raise ValueError("defer_after_s cannot be used on FIFO queues: deferral would reorder a message group")

    # -- the batch ---------------------------------------------------------------------------------
    def handle(self, event: Mapping[str, Any]) -> dict[str, list[dict[str, str]]]:
        """Lambda's SQS event in, a partial batch response out."""
        messages = [SqsMessage.from_record(r) for r in event.get("Records", [])]
        outcomes = self.consume(messages)
        for outcome, metric_name in METRIC_NAMES.items():
            count = sum(1 for o in outcomes.values() if o == outcome)
            if count:
                self.metric(metric_name, count)
        return {"batchItemFailures": [{"itemIdentifier": m} for m, o in outcomes.items() if o == "failed"]}

    def consume(self, messages: Sequence[SqsMessage]) -> dict[str, Outcome]:
        """The outcome of every message, keyed by message id, in batch order."""
        now = self.clock()
        outcomes: dict[str, Outcome] = {}
        to_defer: list[SqsMessage] = []
        poisoned: list[tuple[SqsMessage, str]] = []
        for message in messages:
            if self.fifo and "failed" in outcomes.values():
                outcomes[message.message_id] = "failed"  # keep the group's order: retry the rest
                continue
            outcomes[message.message_id] = self._classify(message, now, to_defer, poisoned)
        for message_id in self._dead_letter(poisoned):
            outcomes[message_id] = "failed"
        for message_id in self._defer(to_defer):
            outcomes[message_id] = "failed"
        return outcomes

    def _classify(
        self, message: SqsMessage, now: float, to_defer: list[SqsMessage], poisoned: list[tuple[SqsMessage, str]]
    ) -> Outcome:
        try:
            body = json.loads(message.body)
        except ValueError as error:
            poisoned.append((message, f"body is not JSON: {error}"))
            return "dead-lettered"
        reason = self.validate(body) if self.validate is not None else None
        if reason is not None:
            poisoned.append((message, reason))
            return "dead-lettered"
        age = age_seconds(message, now)
        if self.ttl_s is not None and age > self.ttl_s:
            self.log(
                "message dropped by TTL",
                {"message_id": message.message_id, "age_s": round(age, 3), "ttl_s": self.ttl_s, "reason": "ttl"},
            )
            return "dropped"
        if self.role == "high" and self.defer_after_s is not None and age > self.defer_after_s:
            to_defer.append(message)
            return "deferred"
        try:
            self.process(body, message)
        except Exception as error:  # reported per item; SQS retries it
            self.log("message failed", {"message_id": message.message_id, "error": repr(error)[:500]})
            return "failed"
        return "processed"

    # -- writes, in batches of 10 ------------------------------------------------------------------
    def _send_batches(self, queue_url: str, entries: list[tuple[SqsMessage, dict[str, Any]]]) -> list[str]:
        """Send entries in groups of 10; return the message ids whose write did not succeed."""
        failed: list[str] = []
        for start in range(0, len(entries), SEND_BATCH_MAX):
            group = entries[start : start + SEND_BATCH_MAX]
            by_id = {f"m{i}": message for i, (message, _) in enumerate(group)}
            try:
                response = self.sqs.send_message_batch(
                    QueueUrl=queue_url,
                    Entries=[{"Id": f"m{i}", **entry} for i, (_, entry) in enumerate(group)],
                )
            except Exception as error:  # throttled, 5xx, timeout: none of this group was acknowledged
                self.log("batch send failed", {"queue_url": queue_url, "error": repr(error)[:500]})
                failed += [m.message_id for m in by_id.values()]
                continue
            failed += [by_id[f["Id"]].message_id for f in response.get("Failed", [])]
        return failed

    def _dead_letter(self, poisoned: Iterable[tuple[SqsMessage, str]]) -> list[str]:
        poisoned = list(poisoned)
        if not poisoned:
            return []
        if not self.dlq_url:
            return [m.message_id for m, _ in poisoned]  # nowhere to put it: let SQS redrive it
        for message, reason in poisoned:
            self.log("message dead-lettered", {"message_id": message.message_id, "reason": reason})
        entries = [(m, self._entry(m, {"reason": reason})) for m, reason in poisoned]
        return self._send_batches(self.dlq_url, entries)

    def _defer(self, messages: Sequence[SqsMessage]) -> list[str]:
        if not messages:
            return []
        assert self.low_queue_url is not None
        entries = [(m, self._entry(m, {"deferred-from": self.role})) for m in messages]
        return self._send_batches(self.low_queue_url, entries)

    def _entry(self, message: SqsMessage, extra: Mapping[str, str]) -> dict[str, Any]:
        entry: dict[str, Any] = {
            "MessageBody": message.body,
            "MessageAttributes": _forwarded_attributes(message, extra),
        }
        if self.fifo:
            entry["MessageGroupId"] = message.attributes.get("MessageGroupId", "default")
            entry["MessageDeduplicationId"] = message.attributes.get("MessageDeduplicationId", message.message_id)
        return entry


def consumer_from_env(
    process: Callable[[Any, SqsMessage], Any],
    *,
    validate: Callable[[Any], str | None] | None = None,
    sqs: Any = None,
    environ: Mapping[str, str] | None = None,
) -> PriorityConsumer:
    """A consumer configured by the variables PriorityQueuePair sets on each consumer function:
    RESILIENT_QUEUE_ROLE, RESILIENT_LOW_QUEUE_URL, RESILIENT_DLQ_URL, RESILIENT_DEFER_AFTER_S,
    RESILIENT_TTL_S, RESILIENT_FIFO. Metrics and logs go through the Powertools objects of
    ``observability``."""
    import os  # noqa: PLC0415

    from aws_lambda_powertools.metrics import MetricUnit  # noqa: PLC0415

    from .clients import aws_client  # noqa: PLC0415
    from .observability import logger, metrics  # noqa: PLC0415

    env = os.environ if environ is None else environ

    def number(name: str) -> float | None:
        value = env.get(name, "")
        return float(value) if value else None

    role = env.get("RESILIENT_QUEUE_ROLE", "high")
    if role not in ("high", "low", "surge"):
        raise ValueError(f"RESILIENT_QUEUE_ROLE={role!r} is not one of 'high', 'low', 'surge'")
    return PriorityConsumer(
        process=process,
        sqs=sqs if sqs is not None else aws_client("sqs"),
        role=role,  # type: ignore[arg-type]
        low_queue_url=env.get("RESILIENT_LOW_QUEUE_URL") or None,
        dlq_url=env.get("RESILIENT_DLQ_URL") or None,
        defer_after_s=number("RESILIENT_DEFER_AFTER_S") if role == "high" else None,
        ttl_s=number("RESILIENT_TTL_S"),
        fifo=env.get("RESILIENT_FIFO", "false") == "true",
        validate=validate,
        metric=lambda name, count: metrics.add_metric(name=name, unit=MetricUnit.Count, value=count),
        log=lambda message, fields: logger.info(message, extra=dict(fields)),
    )
