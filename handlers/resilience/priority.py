"""Consumers for PriorityQueuePair: every message ends processed, deferred, dead-lettered or
dropped by an explicit TTL, and each outcome is counted.

For each record of an SQS batch, in order:

1. a record that cannot be read (no ``messageId``, no body, a body that is not JSON or is nested
   too deeply) or whose body fails the schema is *dead-lettered* at once, with the reason as a
   message attribute: retrying it could never succeed. Anything raised while reading or judging
   one record is that record's outcome, never the batch's;
2. a message older than ``ttl_s`` is *dropped*, where the owner enabled a TTL (point-in-time data
   such as device readings), with a log line and a metric;
3. on the high-priority queue, a message older than ``defer_after_s`` is *deferred* to the
   low-priority queue, so fresh work is not stuck behind a backlog;
4. anything else is *processed* by the owner's function. An error that cannot succeed on a retry
   (``PoisonMessage``, a validation or size error from AWS, a string that cannot be encoded) is
   dead-lettered at once with its reason; any other error fails that record alone.

Ages are always measured from the *first* enqueue: every hop this library writes (deferral,
dead-lettering, and the producer's ``Router`` for surge and shard queues) carries
``resilient-first-enqueued-ms`` and the cumulative ``resilient-receive-count`` as message
attributes, and SQS keeps message attributes when it redrives a message to or from a DLQ. A
message without them (the first hop) is aged from its ``SentTimestamp``.

Deferral and DLQ writes go out with ``SendMessageBatch``, split so that a request holds at most 10
entries and 1 MiB (bodies and attributes); a message is acknowledged only once its write succeeded.
With a Lambda context, the consumer stops starting work ``deadline_margin_s`` before the
invocation's deadline and reports the records it did not reach as failures (SQS delivers them
again), so work already done is never redelivered by a timeout.

A record whose processing, dead-lettering or deferral failed is reported in ``batchItemFailures``
and retried by SQS; after ``maxReceiveCount`` receives SQS moves it to the DLQ. On a FIFO queue the
first failure also fails every later record of the batch, so a group is never processed out of order.

Delivery is at least once, and this is where it is accepted: a write that succeeded whose
acknowledgement was lost (the invocation timed out between the two) is written again on the next
receive. With a ``dedup`` store (``DynamoDBDedupStore``) every deferral and DLQ write is recorded
per message and skipped on a redelivery, which narrows the window to the moment between the write
and its record; on a FIFO target the write carries a deduplication id (the message's own), which
SQS honours for 5 minutes. ``process`` must itself be idempotent on the message (the orders
ingest handler writes versioned items).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from .backoff import Deadline
from .dedup import DedupStore, DynamoDBDedupStore
from .sqs_batches import (
    _ID_INDEX,
    _IDS,
    SEND_BATCH_MAX,
    SEND_BATCH_MAX_BYTES,
    _batches,
    _forwarded_attributes,
    _total,
    entry_size,
)

__all__ = [
    "DedupStore",
    "DynamoDBDedupStore",
    "Outcome",
    "PoisonMessage",
    "PriorityConsumer",
    "SqsMessage",
    "age_seconds",
    "poison_reason",
]

Outcome = Literal["processed", "deferred", "dead-lettered", "dropped", "failed"]
FIRST_ENQUEUED = "resilient-first-enqueued-ms"
RECEIVE_COUNT = "resilient-receive-count"
_OURS_FIXED_BYTES = len(FIRST_ENQUEUED) + len(RECEIVE_COUNT) + 3 * len("String")  # names and types
METRIC_NAMES: dict[str, str] = {
    "processed": "MessagesProcessed",
    "deferred": "MessagesDeferred",
    "dead-lettered": "MessagesDeadLettered",
    "dropped": "MessagesDroppedTTL",
    "failed": "MessagesFailed",
}
# AWS error codes that a retry of the same request can never turn into a success.
POISON_CODES = frozenset({"ValidationException", "SerializationException", "InvalidParameterValue"})


class PoisonMessage(ValueError):
    """Raise from ``process`` for a message that can never succeed: it is dead-lettered at once
    with ``str(error)`` as its reason instead of being received again."""


def poison_reason(error: BaseException) -> str | None:
    """Why ``error`` cannot succeed on a retry, or None when a retry might help.

    Poison: ``PoisonMessage``, ``RecursionError`` (a body nested too deeply), ``UnicodeError`` (a
    string that cannot be encoded), botocore's parameter validation, and AWS validation or size
    errors (``ValidationException``, e.g. a DynamoDB item over 400 KB)."""
    if isinstance(error, PoisonMessage):
        return str(error)
    if isinstance(error, RecursionError):
        return "nested too deeply to handle"
    if isinstance(error, UnicodeError):
        return f"cannot be encoded: {error}"
    if type(error).__name__ == "ParamValidationError":
        return f"refused by request validation: {error}"
    response = getattr(error, "response", None)
    if isinstance(response, dict):
        code = (response.get("Error") or {}).get("Code", "")
        if code in POISON_CODES:
            return f"{code}: {(response.get('Error') or {}).get('Message', '')}"
    return None


def _int_or(value: Any, default: int) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def _attribute_text(record: Mapping[str, Any], name: str) -> Any:
    attributes = record.get("messageAttributes")
    if not attributes or not isinstance(attributes, Mapping):
        return None
    value = attributes.get(name)
    if not isinstance(value, Mapping):
        return None
    return value.get("stringValue", value.get("StringValue"))


def _first_enqueued_ms(record: Mapping[str, Any]) -> int | None:
    """When the message first entered any queue: our attribute, else ``SentTimestamp``; None when
    neither is a number (the age is then unknown, and the message is never dropped or deferred)."""
    carried = _attribute_text(record, FIRST_ENQUEUED)
    if carried is not None:
        first = _int_or(carried, -1)
        if first >= 0:
            return first
    attributes = record.get("attributes")
    if not isinstance(attributes, Mapping):
        return None
    sent = _int_or(attributes.get("SentTimestamp"), -1)
    return sent if sent >= 0 else None


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
        """``SentTimestamp``: when this hop's copy was sent, in milliseconds since the epoch (0 when
        missing or not a number)."""
        return _int_or(self.attributes.get("SentTimestamp"), 0)

    @property
    def first_enqueued_ms(self) -> int:
        """When the message first entered any queue (carried across deferral, surge, shard and DLQ
        hops), in milliseconds since the epoch; this hop's ``SentTimestamp`` on the first hop."""
        first = _first_enqueued_ms(self.record)
        return 0 if first is None else first

    @property
    def receive_count(self) -> int:
        """Receives over every hop: the carried count plus this queue's ``ApproximateReceiveCount``."""
        carried = _int_or(_attribute_text(self.record, RECEIVE_COUNT), 0)
        return carried + _int_or(self.attributes.get("ApproximateReceiveCount"), 1)

    @property
    def attributes(self) -> Mapping[str, Any]:
        """System attributes (SentTimestamp, MessageGroupId, ApproximateReceiveCount...)."""
        attributes = self.record.get("attributes")
        return attributes if isinstance(attributes, Mapping) else {}

    @property
    def message_attributes(self) -> Mapping[str, Any]:
        """The producer's message attributes, as Lambda delivers them."""
        attributes = self.record.get("messageAttributes")
        return attributes if isinstance(attributes, Mapping) else {}

    def __repr__(self) -> str:
        return f"SqsMessage({self.message_id!r}, first_enqueued_ms={self.first_enqueued_ms})"


def age_seconds(message: SqsMessage, now_s: float) -> float:
    """How long ago the message first entered a queue (see ``SqsMessage.first_enqueued_ms``)."""
    return max(0.0, now_s - message.first_enqueued_ms / 1000)


def _first_enqueue(record: Mapping[str, Any], now_ms: float) -> tuple[float, Any]:
    """``(first-enqueue time in ms, the record's system attributes or None)``. Fast path: no
    carried attributes and a numeric SentTimestamp (then the attributes come back for the fast
    deferred copy); else the careful reader. Age unknown (not from SQS, or a garbled timestamp):
    ``now_ms``, so the message is never dropped or deferred."""
    try:
        if record["messageAttributes"]:
            raise LookupError  # attributes present: one may carry the first enqueue
        attributes = record["attributes"]
        return int(attributes["SentTimestamp"]), attributes
    except (LookupError, TypeError, ValueError):
        carried = _first_enqueued_ms(record)
        return (now_ms if carried is None else carried), None


_NOT_REACHED = "not started: the invocation's deadline is near"


@dataclass
class PriorityConsumer:
    """One consumer. ``process(body, message)`` does the owner's work; raise to fail the record
    (``PoisonMessage`` to dead-letter it at once).

    ``role`` is ``high`` (defers), ``low`` or ``surge`` (process only). ``validate(body)`` returns
    None for a good body or the reason it is bad. ``classify(error)`` returns why an error from
    ``process`` cannot succeed (the record is dead-lettered with that reason) or None (the record
    fails and SQS retries it); default ``poison_reason``. ``metric(name, count)`` publishes a count
    (EMF through Powertools in Lambda). ``sqs`` is a boto client; ``clock`` returns epoch seconds
    and also times the deadline. ``deadline_margin_s``: the time kept before the invocation's
    deadline for the batch's writes and the response. Default: 1.0. ``max_batch_bytes``: the
    SendMessageBatch size limit. Default: 1048576 (1 MiB). ``dedup``: a ``DedupStore`` that makes
    deferral and DLQ writes idempotent per message. Default: None (at least once).
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
    classify: Callable[[BaseException], str | None] = poison_reason
    deadline_margin_s: float = 1.0
    max_batch_bytes: int = SEND_BATCH_MAX_BYTES
    dedup: DedupStore | None = None

    def __post_init__(self) -> None:
        if self.role == "high" and self.defer_after_s is not None and not self.low_queue_url:
            raise ValueError("defer_after_s needs low_queue_url: deferred messages must have somewhere to go")
        if self.defer_after_s is not None and self.ttl_s is not None and self.defer_after_s >= self.ttl_s:
            raise ValueError(f"defer_after_s={self.defer_after_s!r} must be below ttl_s={self.ttl_s!r}")
        if self.fifo and self.defer_after_s is not None:
            raise ValueError("defer_after_s cannot be used on FIFO queues: deferral would reorder a message group")

    # -- the batch ---------------------------------------------------------------------------------
    def handle(self, event: Mapping[str, Any], context: Any = None) -> dict[str, list[dict[str, str]]]:
        """Lambda's SQS event in, a partial batch response out. With ``context`` (Lambda's), no
        record is started within ``deadline_margin_s`` of the invocation's deadline."""
        deadline = None
        if context is not None:
            deadline = Deadline.from_context(context, margin_s=self.deadline_margin_s, clock=self.clock)
        records = event.get("Records") if type(event) is dict or isinstance(event, Mapping) else None
        outcomes = self._consume(records if isinstance(records, list) else [], deadline)
        # Counted with list.count, not Counter: this runs for every batch (bench: warm cost).
        values = list(outcomes.values())
        for outcome in dict.fromkeys(values):  # in order of first appearance
            self.metric(METRIC_NAMES[outcome], values.count(outcome))
        if "failed" not in values:
            return {"batchItemFailures": []}
        return {"batchItemFailures": [{"itemIdentifier": m} for m, o in outcomes.items() if o == "failed"]}

    def consume(self, messages: Sequence[SqsMessage], deadline: Deadline | None = None) -> dict[str, Outcome]:
        """The outcome of every message, keyed by message id, in batch order."""
        return self._consume([m.record for m in messages], deadline)

    def _consume(  # noqa: C901, PLR0912, PLR0915 (the hot loop, flat on purpose)
        self, records: Sequence[Any], deadline: Deadline | None = None
    ) -> dict[str, Outcome]:
        # The hot loop of every consumer, kept flat on purpose (bench: warm cost per message):
        # ages are compared as first-enqueue times against cut-offs computed once per batch.
        now_ms = self.clock() * 1000
        ttl_cut = now_ms - self.ttl_s * 1000 if self.ttl_s is not None else None
        defer_cut = (
            now_ms - self.defer_after_s * 1000 if self.defer_after_s is not None and self.role == "high" else None
        )
        process, fifo = self.process, self.fifo
        outcomes: dict[str, Outcome] = {}
        deferred: list[tuple[str, dict[str, Any], int]] = []  # (message id, entry, size) for the low queue
        deferred_bytes = 0
        poisoned: list[tuple[str, Mapping[str, Any], str]] = []
        blocked = False  # FIFO: after a failure, the rest of the batch is retried to keep the group's order
        longest = 0.0  # seconds, the longest process() call of this batch
        clock = self.clock
        for index, record in enumerate(records):
            try:
                message_id = record["messageId"]
            except (LookupError, TypeError):
                message_id = None
            if type(message_id) is not str or not message_id:
                self._without_message_id(index, record, outcomes, poisoned)
                continue
            if blocked:
                outcomes[message_id] = "failed"
                continue
            # A record is started only if it can finish: the longest one so far is the estimate.
            if deadline is not None and deadline.remaining() <= longest:
                outcomes[message_id] = "failed"
                blocked = True  # every later record is past the deadline too
                self.log(_NOT_REACHED, {"message_id": message_id, "remaining": len(records) - index})
                continue
            body, raw, reason = self._read(record)
            if reason is not None:
                poisoned.append((message_id, record, reason))
                outcomes[message_id] = "dead-lettered"
                continue
            first_ms, attributes = _first_enqueue(record, now_ms)
            if ttl_cut is not None and first_ms < ttl_cut:
                age_s = round((now_ms - first_ms) / 1000, 3)
                fields = {"message_id": message_id, "age_s": age_s, "ttl_s": self.ttl_s, "reason": "ttl"}
                self.log("message dropped by TTL", fields)
                outcomes[message_id] = "dropped"
            elif defer_cut is not None and first_ms < defer_cut:
                outcomes[message_id] = "deferred"
                copy = self._fast_copy(raw, attributes, first_ms)
                entry, size = copy or self._entry(message_id, record, first_ms, "deferred-from", self.role)
                deferred.append((message_id, entry, size))
                deferred_bytes += size
            else:
                started = clock() if deadline is not None else 0.0
                try:
                    process(body, SqsMessage(record))
                    outcomes[message_id] = "processed"
                except Exception as error:  # reported per item; SQS retries it, unless it can never succeed
                    poison = self.classify(error)
                    if poison is not None:
                        poisoned.append((message_id, record, poison))
                        outcomes[message_id] = "dead-lettered"
                        continue
                    self.log("message failed", {"message_id": message_id, "error": repr(error)[:500]})
                    outcomes[message_id] = "failed"
                    blocked = fifo
                finally:
                    if deadline is not None:
                        longest = max(longest, clock() - started)
        if poisoned:
            for message_id in self._dead_letter(poisoned):
                outcomes[message_id] = "failed"
        if deferred:
            assert self.low_queue_url is not None  # checked in __post_init__
            for message_id in self._send_batches(self.low_queue_url, "defer", deferred, deferred_bytes):
                outcomes[message_id] = "failed"
        return outcomes

    def _without_message_id(
        self,
        index: int,
        record: Any,
        outcomes: dict[str, Outcome],
        poisoned: list[tuple[str, Mapping[str, Any], str]],
    ) -> None:
        """Settle a record without a usable messageId. It gets a stand-in: it can still be
        dead-lettered, and if even that fails, Lambda treats the unknown identifier as a failure
        of the whole batch, which redelivers it rather than losing it."""
        message_id = f"record-{index}-without-messageId"
        if isinstance(record, Mapping):
            poisoned.append((message_id, record, "the record has no messageId"))
            outcomes[message_id] = "dead-lettered"
        else:
            self.log("record is not an object", {"index": index, "record": repr(record)[:200]})
            outcomes[message_id] = "failed"

    def _read(self, record: Mapping[str, Any]) -> tuple[Any, Any, str | None]:
        """``(body, raw body, reason)``: the parsed body, or why the record can never be processed.
        Anything raised while reading or judging it is this record's outcome, never the batch's."""
        body: Any = None
        raw = None
        try:
            raw = record.get("body")
            if type(raw) is not str:
                raise PoisonMessage("the record has no body")
            try:
                body = json.loads(raw)
            except RecursionError:
                raise PoisonMessage("body is nested too deeply to parse") from None
            except ValueError as error:
                raise PoisonMessage(f"body is not JSON: {error}") from None
            reason = self.validate(body) if self.validate is not None else None
        except PoisonMessage as error:
            reason = str(error)
        except Exception as error:  # a validator that crashed on this body: judged by this body alone
            reason = self.classify(error) or f"validation raised {type(error).__name__}: {error}"[:500]
        return body, raw, reason

    def _fast_copy(self, raw: str, attributes: Any, first_ms: float) -> tuple[dict[str, Any], int] | None:
        """The deferred copy of the common record (fast path: no producer attributes; never FIFO,
        which __post_init__ refuses to defer), its size added up from parts whose size is known;
        None for any other record (``_entry`` then builds it)."""
        received = attributes.get("ApproximateReceiveCount", "1") if type(attributes) is dict else None
        if type(received) is not str or not received.isdigit():
            return None
        first = str(first_ms)
        entry: dict[str, Any] = {
            "MessageBody": raw,
            "MessageAttributes": {
                FIRST_ENQUEUED: {"DataType": "String", "StringValue": first},
                RECEIVE_COUNT: {"DataType": "String", "StringValue": received},
                "deferred-from": {"DataType": "String", "StringValue": self.role},
            },
        }
        size = _OURS_FIXED_BYTES + len("deferred-from") + len(self.role) + len(first) + len(received)
        size += len(raw) if raw.isascii() else len(raw.encode("utf-8", "surrogatepass"))
        tenant = attributes.get("MessageGroupId")
        if tenant is not None:  # a fair queue's tenant: the low queue schedules by it too
            entry["MessageGroupId"] = tenant
        return entry, size

    # -- writes, in batches of at most 10 entries and 1 MiB ----------------------------------------
    def _send_batches(
        self, queue_url: str, kind: str, entries: list[tuple[str, dict[str, Any], int]], total: int | None = None
    ) -> list[str]:
        """Send ``(message id, entry, size)`` in groups under SQS's batch limits; return the message
        ids whose write did not succeed. ``total``: the sum of the sizes, where the caller has it.
        With a dedup store, messages already written by an earlier receive are skipped."""
        if self.dedup is None:
            return self._send_groups(queue_url, entries, total)
        keys = {message_id: f"{self.role}:{kind}:{message_id}" for message_id, _, _ in entries}
        try:
            done = self.dedup.seen(list(keys.values()))
        except Exception as error:  # the store is advisory: write again rather than lose a message
            self.log("dedup store unavailable", {"error": repr(error)[:500]})
            done = set()
        entries = [e for e in entries if keys[e[0]] not in done]
        if not entries:  # all written by an earlier receive (SQS refuses an empty batch)
            return []
        failed = self._send_groups(queue_url, entries, None)
        written = [keys[m] for m, _, _ in entries if m not in failed]
        if written:
            try:
                self.dedup.mark(written)
            except Exception as error:  # the writes stand; a redelivery may write them again
                self.log("dedup store unavailable", {"error": repr(error)[:500]})
        return failed

    def _send_groups(
        self, queue_url: str, entries: list[tuple[str, dict[str, Any], int]], total: int | None
    ) -> list[str]:
        """Send ``entries`` in as few requests as SQS's limits allow; return the message ids whose
        write did not succeed (refused, or in a request that failed)."""
        failed: list[str] = []
        if len(entries) <= SEND_BATCH_MAX and (total if total is not None else _total(entries)) <= self.max_batch_bytes:
            groups = [entries]  # the usual batch: one request, nothing to split
        else:
            groups = _batches([(item[2], item) for item in entries], SEND_BATCH_MAX, self.max_batch_bytes)
        for group in groups:
            batch = [entry for _, entry, _ in group]
            for entry_id, entry in zip(_IDS, batch, strict=False):  # groups hold at most 10
                entry["Id"] = entry_id
            try:
                response = self.sqs.send_message_batch(QueueUrl=queue_url, Entries=batch)
            except Exception as error:  # throttled, 5xx, timeout: none of this group was acknowledged
                self.log("batch send failed", {"queue_url": queue_url, "error": repr(error)[:500]})
                failed += [message_id for message_id, _, _ in group]
                continue
            failed += [group[_ID_INDEX[f["Id"]]][0] for f in response.get("Failed", [])]
        return failed

    def _dead_letter(self, poisoned: list[tuple[str, Mapping[str, Any], str]]) -> list[str]:
        if not self.dlq_url:
            return [message_id for message_id, _, _ in poisoned]  # nowhere to put it: let SQS redrive it
        for message_id, _, reason in poisoned:
            self.log("message dead-lettered", {"message_id": message_id, "reason": reason})
        entries = []
        for message_id, record, reason in poisoned:
            first = _first_enqueued_ms(record)
            now_ms = int(self.clock() * 1000)
            entry, size = self._entry(message_id, record, now_ms if first is None else first, "reason", reason)
            entries.append((message_id, entry, size))
        return self._send_batches(self.dlq_url, "dlq", entries)

    def _entry(
        self, message_id: str, record: Mapping[str, Any], first_ms: float, label: str, text: str
    ) -> tuple[dict[str, Any], int]:
        """The copy of ``record`` for the next hop, and its size as SQS counts it: the same body;
        the first-enqueue time, the receive count so far and ``label: text`` as attributes; then
        the producer's attributes. Runs for every deferred message, so it builds the dicts (and
        adds up our attributes' sizes) directly."""
        given = record.get("messageAttributes")
        system = record.get("attributes") or {}
        try:
            count = int(system.get("ApproximateReceiveCount", 1))
        except (TypeError, ValueError, AttributeError):
            count = 1
        if given:
            count += _int_or(_attribute_text(record, RECEIVE_COUNT), 0)
        first, received, text = str(int(first_ms)), str(count), text[:256]
        ours = {
            FIRST_ENQUEUED: {"DataType": "String", "StringValue": first},
            RECEIVE_COUNT: {"DataType": "String", "StringValue": received},
            label: {"DataType": "String", "StringValue": text},
        }
        raw = record.get("body")
        body = raw if isinstance(raw, str) and raw else "(no body)"  # SQS refuses an empty body
        entry: dict[str, Any] = {"MessageBody": body, "MessageAttributes": ours}
        if given:
            entry["MessageAttributes"] = _forwarded_attributes(given, ours)
            size = entry_size(entry)
        else:
            size = len(body) if body.isascii() else len(body.encode("utf-8", "surrogatepass"))
            size += _OURS_FIXED_BYTES + len(label) + len(first) + len(received)
            size += len(text) if text.isascii() else len(text.encode("utf-8", "surrogatepass"))
        attributes = system if isinstance(system, Mapping) else {}
        if self.fifo:
            entry["MessageGroupId"] = attributes.get("MessageGroupId", "default")
            entry["MessageDeduplicationId"] = attributes.get("MessageDeduplicationId", message_id)
        elif isinstance(attributes.get("MessageGroupId"), str):
            # A standard queue's group is its tenant for SQS fair queues: the next hop (low queue,
            # DLQ) keeps it, so a redriven flood is still one tenant's and not everyone's.
            entry["MessageGroupId"] = attributes["MessageGroupId"]
        return entry, size


def consumer_from_env(
    process: Callable[[Any, SqsMessage], Any],
    *,
    validate: Callable[[Any], str | None] | None = None,
    sqs: Any = None,
    environ: Mapping[str, str] | None = None,
) -> PriorityConsumer:
    """A consumer configured by the variables PriorityQueuePair sets on each consumer function:
    RESILIENT_QUEUE_ROLE, RESILIENT_LOW_QUEUE_URL, RESILIENT_DLQ_URL, RESILIENT_DEFER_AFTER_S,
    RESILIENT_TTL_S, RESILIENT_FIFO; and RESILIENT_DEDUP_TABLE, where the owner adds one (a
    DynamoDB table keyed by ``pk`` with TTL on ``expires_at``) to make deferral and DLQ writes
    idempotent per message. Metrics and logs go through the Powertools objects of
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
    client = sqs if sqs is not None else aws_client("sqs")
    dedup_table = env.get("RESILIENT_DEDUP_TABLE") or None
    if role not in ("high", "low", "surge"):
        raise ValueError(f"RESILIENT_QUEUE_ROLE={role!r} is not one of 'high', 'low', 'surge'")
    return PriorityConsumer(
        process=process,
        sqs=client,
        role=role,  # type: ignore[arg-type]
        low_queue_url=env.get("RESILIENT_LOW_QUEUE_URL") or None,
        dlq_url=env.get("RESILIENT_DLQ_URL") or None,
        defer_after_s=number("RESILIENT_DEFER_AFTER_S") if role == "high" else None,
        ttl_s=number("RESILIENT_TTL_S"),
        fifo=env.get("RESILIENT_FIFO", "false") == "true",
        validate=validate,
        metric=lambda name, count: metrics.add_metric(name=name, unit=MetricUnit.Count, value=count),
        log=lambda message, fields: logger.info(message, extra=dict(fields)),
        dedup=DynamoDBDedupStore(dedup_table, aws_client("dynamodb")) if dedup_table else None,
    )
