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
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
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


class SqsMessage:
    """A read-only view of one SQS record, made for every processed message: fields are read from
    the record on access rather than copied."""

    __slots__ = ("record",)

    def __init__(self, record: Mapping[str, Any]) -> None:
        self.record = record

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> SqsMessage:
        return cls(record)

    @property
    def message_id(self) -> str:
        return str(self.record["messageId"])

    @property
    def body(self) -> str:
        return str(self.record.get("body", ""))

    @property
    def sent_at_ms(self) -> int:
        """``SentTimestamp``: when the producer sent it, in milliseconds since the epoch."""
        return int(self.attributes.get("SentTimestamp", 0))

    @property
    def attributes(self) -> Mapping[str, Any]:
        """System attributes (SentTimestamp, MessageGroupId, ApproximateReceiveCount...)."""
        return self.record.get("attributes") or {}

    @property
    def message_attributes(self) -> Mapping[str, Any]:
        """The producer's message attributes, as Lambda delivers them."""
        return self.record.get("messageAttributes") or {}

    def __repr__(self) -> str:
        return f"SqsMessage({self.message_id!r}, sent_at_ms={self.sent_at_ms})"


def age_seconds(message: SqsMessage, now_s: float) -> float:
    """How long ago the producer sent the message (``SentTimestamp``, milliseconds since epoch)."""
    return max(0.0, now_s - message.sent_at_ms / 1000)


def _string_attributes(values: Mapping[str, str]) -> dict[str, Any]:
    return {name: {"DataType": "String", "StringValue": text[:256]} for name, text in values.items()}


def _forwarded_attributes(given: Mapping[str, Any] | None, extra: Mapping[str, Any]) -> Mapping[str, Any]:
    """The producer's message attributes in SendMessage's shape (Lambda delivers them in camelCase),
    plus ``extra`` (already in SendMessage's shape)."""
    if not given:  # the common case, kept cheap: it runs for every deferred message
        return extra
    out: dict[str, Any] = {}
    for name, value in given.items():
        data_type = value.get("dataType") or value.get("DataType") or "String"
        if "stringValue" in value or "StringValue" in value:
            out[name] = {"DataType": data_type, "StringValue": value.get("stringValue", value.get("StringValue"))}
    out.update(extra)
    if len(out) > 10:  # SQS allows 10 message attributes
        out = dict(list(out.items())[:10])
    return out


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
        outcomes = self._consume(event.get("Records", []))
        for outcome, count in Counter(outcomes.values()).items():
            self.metric(METRIC_NAMES[outcome], count)
        return {"batchItemFailures": [{"itemIdentifier": m} for m, o in outcomes.items() if o == "failed"]}

    def consume(self, messages: Sequence[SqsMessage]) -> dict[str, Outcome]:
        """The outcome of every message, keyed by message id, in batch order."""
        return self._consume([m.record for m in messages])

    def _consume(self, records: Sequence[Mapping[str, Any]]) -> dict[str, Outcome]:  # noqa: C901
        # The hot loop of every consumer, kept flat on purpose (bench: warm cost per message):
        # ages are compared as SentTimestamp against cut-offs computed once per batch.
        now_ms = self.clock() * 1000
        ttl_cut = now_ms - self.ttl_s * 1000 if self.ttl_s is not None else None
        defer_cut = (
            now_ms - self.defer_after_s * 1000 if self.defer_after_s is not None and self.role == "high" else None
        )
        validate, process, fifo, loads = self.validate, self.process, self.fifo, json.loads
        outcomes: dict[str, Outcome] = {}
        to_defer: list[Mapping[str, Any]] = []
        poisoned: list[tuple[Mapping[str, Any], str]] = []
        blocked = False  # FIFO: after a failure, the rest of the batch is retried to keep the group's order
        for record in records:
            message_id = record["messageId"]
            if blocked:
                outcomes[message_id] = "failed"
                continue
            try:
                body = loads(record.get("body", ""))
            except ValueError as error:
                poisoned.append((record, f"body is not JSON: {error}"))
                outcomes[message_id] = "dead-lettered"
                continue
            reason = validate(body) if validate is not None else None
            if reason is not None:
                poisoned.append((record, reason))
                outcomes[message_id] = "dead-lettered"
                continue
            try:
                sent_ms: float = int(record["attributes"]["SentTimestamp"])
            except KeyError:
                sent_ms = now_ms  # no timestamp (not from SQS): age unknown, so never dropped or deferred
            if ttl_cut is not None and sent_ms < ttl_cut:
                self.log(
                    "message dropped by TTL",
                    {
                        "message_id": message_id,
                        "age_s": round((now_ms - sent_ms) / 1000, 3),
                        "ttl_s": self.ttl_s,
                        "reason": "ttl",
                    },
                )
                outcomes[message_id] = "dropped"
            elif defer_cut is not None and sent_ms < defer_cut:
                to_defer.append(record)
                outcomes[message_id] = "deferred"
            else:
                try:
                    process(body, SqsMessage(record))
                    outcomes[message_id] = "processed"
                except Exception as error:  # reported per item; SQS retries it
                    self.log("message failed", {"message_id": message_id, "error": repr(error)[:500]})
                    outcomes[message_id] = "failed"
                    blocked = fifo
        for message_id in self._dead_letter(poisoned):
            outcomes[message_id] = "failed"
        for message_id in self._defer(to_defer):
            outcomes[message_id] = "failed"
        return outcomes

    # -- writes, in batches of 10 ------------------------------------------------------------------
    def _send_batches(self, queue_url: str, entries: list[tuple[Mapping[str, Any], dict[str, Any]]]) -> list[str]:
        """Send entries in groups of 10; return the message ids whose write did not succeed."""
        failed: list[str] = []
        for start in range(0, len(entries), SEND_BATCH_MAX):
            group = entries[start : start + SEND_BATCH_MAX]
            by_id: dict[str, str] = {}
            for i, (record, entry) in enumerate(group):
                entry["Id"] = f"m{i}"
                by_id[entry["Id"]] = record["messageId"]
            try:
                response = self.sqs.send_message_batch(QueueUrl=queue_url, Entries=[entry for _, entry in group])
            except Exception as error:  # throttled, 5xx, timeout: none of this group was acknowledged
                self.log("batch send failed", {"queue_url": queue_url, "error": repr(error)[:500]})
                failed += by_id.values()
                continue
            failed += [by_id[f["Id"]] for f in response.get("Failed", [])]
        return failed

    def _dead_letter(self, poisoned: list[tuple[Mapping[str, Any], str]]) -> list[str]:
        if not poisoned:
            return []
        if not self.dlq_url:
            return [r["messageId"] for r, _ in poisoned]  # nowhere to put it: let SQS redrive it
        for record, reason in poisoned:
            self.log("message dead-lettered", {"message_id": record["messageId"], "reason": reason})
        entries = [(r, self._entry(r, _string_attributes({"reason": reason}))) for r, reason in poisoned]
        return self._send_batches(self.dlq_url, entries)

    def _defer(self, records: list[Mapping[str, Any]]) -> list[str]:
        if not records:
            return []
        assert self.low_queue_url is not None
        extra = _string_attributes({"deferred-from": self.role})  # one for the batch: it is only read
        return self._send_batches(self.low_queue_url, [(r, self._entry(r, extra)) for r in records])

    def _entry(self, record: Mapping[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
        entry: dict[str, Any] = {
            "MessageBody": record.get("body", ""),
            "MessageAttributes": _forwarded_attributes(record.get("messageAttributes"), extra),
        }
        if self.fifo:
            attributes = record.get("attributes") or {}
            entry["MessageGroupId"] = attributes.get("MessageGroupId", "default")
            entry["MessageDeduplicationId"] = attributes.get("MessageDeduplicationId", record["messageId"])
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
