"""PriorityConsumer: every message ends processed, deferred, dead-lettered or dropped by TTL,
and is counted. The conservation property runs through moto with injected send failures."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import boto3
import pytest
from botocore.exceptions import EndpointConnectionError, ReadTimeoutError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from moto import mock_aws

from handlers.resilience.priority import (
    PriorityConsumer,
    SqsMessage,
    age_seconds,
    consumer_from_env,
)
from tests.conftest import client_error

from ._support import NOW, _aged, _recording

MAX_RECEIVES = 3


def record(message_id: str, body: str, age_s: float, **attributes: str) -> dict[str, Any]:
    return {
        "messageId": message_id,
        "receiptHandle": f"rh-{message_id}",
        "body": body,
        "attributes": {"SentTimestamp": str(int((NOW - age_s) * 1000)), "ApproximateReceiveCount": "1", **attributes},
        "messageAttributes": {"tenant": {"stringValue": "acme", "dataType": "String"}},
        "eventSource": "aws:sqs",
    }


class FlakySqs:
    """A real (moto) SQS client whose batch sends fail as the test decides."""

    def __init__(self, client: Any, faults: list[str]) -> None:
        self.client, self.faults, self.calls = client, list(faults), Counter[str]()

    def send_message_batch(self, **kwargs: Any) -> Any:
        self.calls["send_message_batch"] += 1
        fault = self.faults.pop(0) if self.faults else "ok"
        if fault == "throttle":
            raise client_error("ThrottlingException", 400, "SendMessageBatch")
        if fault == "5xx":
            raise client_error("InternalError", 500, "SendMessageBatch")
        if fault == "timeout":
            raise ReadTimeoutError(endpoint_url="https://sqs")
        if fault == "connection":
            raise EndpointConnectionError(endpoint_url="https://sqs")
        response = self.client.send_message_batch(**kwargs)
        if fault == "partial" and response.get("Successful"):
            # SQS accepted the first entry and refused the rest: only the first may be acknowledged.
            first, *rest = response["Successful"]
            self._undo(kwargs["QueueUrl"], len(rest))  # take the refused ones back out of the queue
            return {
                "Successful": [first],
                "Failed": [{"Id": e["Id"], "Code": "InternalError", "SenderFault": False} for e in rest],
            }
        return response

    def _undo(self, url: str, count: int) -> None:
        """Remove ``count`` just-sent messages so the queue holds only the acknowledged ones."""
        removed = 0
        while removed < count:
            got = self.client.receive_message(
                QueueUrl=url, MaxNumberOfMessages=min(10, count - removed), VisibilityTimeout=0
            ).get("Messages", [])
            for m in got:
                self.client.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
            removed += len(got)
            if not got:
                break

    def send_message(self, **kwargs: Any) -> Any:
        return self.client.send_message(**kwargs)


def drain(client: Any, url: str) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    while True:
        got = client.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"], VisibilityTimeout=60
        ).get("Messages", [])
        if not got:
            return out
        out += got


def deliver_until_settled(
    consumer: PriorityConsumer, pending: list[dict[str, Any]], batch_sizes: list[int], client: Any, dlq: str
) -> dict[str, str]:
    """Play SQS: deliver in batches, give failed messages back, redrive them after MAX_RECEIVES.

    Returns each message id's end: ``done`` (acknowledged) or ``redriven`` (moved to the DLQ by SQS)."""
    receives: Counter[str] = Counter()
    final: dict[str, str] = {}
    sizes = iter(batch_sizes * 100)
    while pending:
        size = next(sizes)
        batch, pending = pending[:size], pending[size:]
        receives.update(r["messageId"] for r in batch)
        failed = {f["itemIdentifier"] for f in consumer.handle({"Records": batch})["batchItemFailures"]}
        for r in batch:
            if r["messageId"] not in failed:
                final[r["messageId"]] = "done"
            elif receives[r["messageId"]] >= MAX_RECEIVES:  # SQS redrive: maxReceiveCount reached
                client.send_message(QueueUrl=dlq, MessageBody=r["body"])
                final[r["messageId"]] = "redriven"
            else:
                pending.append(r)
    return final


messages_strategy = st.lists(
    st.tuples(
        st.floats(min_value=0, max_value=7200),  # age in seconds
        st.sampled_from(["valid", "valid", "valid", "poison", "not-json", "fails-once", "always-fails"]),
        st.integers(min_value=0, max_value=2000),  # padding: body size
    ),
    min_size=1,
    max_size=40,
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    messages=messages_strategy,
    batch_sizes=st.lists(st.integers(min_value=1, max_value=10), min_size=1, max_size=20),
    faults=st.lists(st.sampled_from(["ok", "ok", "throttle", "5xx", "timeout", "connection", "partial"]), max_size=30),
    ttl=st.sampled_from([None, 3600.0]),
)
def test_nothing_is_lost(
    messages: list[tuple[float, str, int]], batch_sizes: list[int], faults: list[str], ttl: float | None
) -> None:
    with mock_aws():
        client = boto3.client("sqs", region_name="eu-west-1")
        low = client.create_queue(QueueName="low")["QueueUrl"]
        dlq = client.create_queue(QueueName="dlq")["QueueUrl"]
        sqs = FlakySqs(client, faults)
        attempts: Counter[str] = Counter()
        counted: Counter[str] = Counter()

        def process(body: Any, message: SqsMessage) -> None:
            attempts[message.message_id] += 1
            if body["kind"] == "always-fails" or (body["kind"] == "fails-once" and attempts[message.message_id] == 1):
                raise ConnectionError("downstream unavailable")

        def validate(body: Any) -> str | None:
            return "kind must not be poison" if body.get("kind") == "poison" else None

        consumer = PriorityConsumer(
            process=process,
            sqs=sqs,
            role="high",
            low_queue_url=low,
            dlq_url=dlq,
            defer_after_s=60,
            ttl_s=ttl,
            validate=validate,
            clock=lambda: NOW,
            metric=lambda name, n: counted.update({name: n}),
        )
        pending = [
            record(f"m{i}", "{not json" if kind == "not-json" else json.dumps({"kind": kind, "pad": "x" * size}), age)
            for i, (age, kind, size) in enumerate(messages)
        ]
        final = deliver_until_settled(consumer, pending, batch_sizes, client, dlq)

        in_low, in_dlq = drain(client, low), drain(client, dlq)
        done = [m for m, state in final.items() if state == "done"]
        redriven = [m for m, state in final.items() if state == "redriven"]
        # Conservation: every input message is in exactly one terminal place.
        assert len(final) == len(messages)
        accounted = (
            counted["MessagesProcessed"]
            + counted["MessagesDeferred"]
            + counted["MessagesDeadLettered"]
            + counted["MessagesDroppedTTL"]
        )
        assert accounted == len(done)
        assert len(in_low) == counted["MessagesDeferred"]  # a deferral is acknowledged only once written
        assert len(in_dlq) == counted["MessagesDeadLettered"] + len(redriven)
        expected_drops = sum(
            1 for age, kind, _ in messages if ttl is not None and age > ttl and kind not in ("poison", "not-json")
        )
        assert counted["MessagesDroppedTTL"] == expected_drops  # every drop is counted in a metric
        reasons = [m["MessageAttributes"]["reason"]["StringValue"] for m in in_dlq if "MessageAttributes" in m]
        assert all(r.startswith(("kind must not be poison", "body is not JSON")) for r in reasons)


def test_deferral_writes_go_out_ten_at_a_time() -> None:
    calls: list[int] = []

    class Sqs:
        def send_message_batch(self, QueueUrl: str, Entries: list[dict[str, Any]]) -> dict[str, Any]:
            calls.append(len(Entries))
            return {"Successful": [{"Id": e["Id"]} for e in Entries], "Failed": []}

    consumer = PriorityConsumer(
        process=lambda b, m: None, sqs=Sqs(), low_queue_url="low", defer_after_s=60, clock=lambda: NOW
    )
    outcomes = consumer.consume([SqsMessage.from_record(record(f"m{i}", "{}", 120)) for i in range(25)])
    assert calls == [10, 10, 5]
    assert set(outcomes.values()) == {"deferred"}


def test_fresh_messages_are_processed_and_old_ones_deferred_with_attributes() -> None:
    sent: list[dict[str, Any]] = []

    class Sqs:
        def send_message_batch(self, QueueUrl: str, Entries: list[dict[str, Any]]) -> dict[str, Any]:
            sent.extend(Entries)
            return {"Successful": [{"Id": e["Id"]} for e in Entries]}

    processed: list[str] = []
    consumer = PriorityConsumer(
        process=lambda b, m: processed.append(m.message_id),
        sqs=Sqs(),
        low_queue_url="low",
        defer_after_s=60,
        clock=lambda: NOW,
    )
    outcomes = consumer.consume(
        [SqsMessage.from_record(record("fresh", "{}", 5)), SqsMessage.from_record(record("old", '{"a": 1}', 61))]
    )
    assert outcomes == {"fresh": "processed", "old": "deferred"}
    assert processed == ["fresh"]
    assert sent == [
        {
            "Id": "m0",
            "MessageBody": '{"a": 1}',
            "MessageAttributes": {
                "resilient-first-enqueued-ms": {"DataType": "String", "StringValue": str(int((NOW - 61) * 1000))},
                "resilient-receive-count": {"DataType": "String", "StringValue": "1"},
                "deferred-from": {"DataType": "String", "StringValue": "high"},
                "tenant": {"DataType": "String", "StringValue": "acme"},
            },
        }
    ]


def test_fifo_fails_the_rest_of_the_batch_after_a_failure() -> None:
    def process(body: Any, message: SqsMessage) -> None:
        if message.message_id == "b":
            raise RuntimeError("boom")

    consumer = PriorityConsumer(process=process, sqs=None, role="low", fifo=True, clock=lambda: NOW)
    event = {"Records": [record(m, "{}", 1, MessageGroupId="g") for m in ("a", "b", "c")]}
    assert consumer.handle(event) == {"batchItemFailures": [{"itemIdentifier": "b"}, {"itemIdentifier": "c"}]}


def test_ttl_drops_are_logged_and_counted() -> None:
    logged: list[tuple[str, dict[str, Any]]] = []
    counted: Counter[str] = Counter()
    consumer = PriorityConsumer(
        process=lambda b, m: None,
        sqs=None,
        role="low",
        ttl_s=300,
        clock=lambda: NOW,
        metric=lambda name, n: counted.update({name: n}),
        log=lambda message, fields: logged.append((message, dict(fields))),
    )
    assert consumer.handle({"Records": [record("stale", "{}", 301), record("ok", "{}", 10)]}) == {
        "batchItemFailures": []
    }
    assert counted == Counter({"MessagesDroppedTTL": 1, "MessagesProcessed": 1})
    assert logged == [
        ("message dropped by TTL", {"message_id": "stale", "age_s": 301.0, "ttl_s": 300, "reason": "ttl"})
    ]


def test_fifo_deferral_keeps_group_and_deduplication_ids() -> None:
    consumer = PriorityConsumer(process=lambda b, m: None, sqs=None, role="low", fifo=True, clock=lambda: NOW)
    entry, _ = consumer._entry(
        "x", record("x", "{}", 1, MessageGroupId="g1", MessageDeduplicationId="d1"), NOW * 1000, "reason", "bad"
    )
    assert (entry["MessageGroupId"], entry["MessageDeduplicationId"]) == ("g1", "d1")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"defer_after_s": 60}, "defer_after_s needs low_queue_url: deferred messages must have somewhere to go"),
        ({"defer_after_s": 60, "low_queue_url": "low", "ttl_s": 60}, "defer_after_s=60 must be below ttl_s=60"),
        (
            {"defer_after_s": 60, "low_queue_url": "low", "fifo": True},
            "defer_after_s cannot be used on FIFO queues: deferral would reorder a message group",
        ),
    ],
)
def test_bad_consumer_settings(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError) as raised:
        PriorityConsumer(process=lambda b, m: None, sqs=None, **kwargs)
    assert str(raised.value) == message


def test_age_comes_from_sent_timestamp() -> None:
    assert age_seconds(SqsMessage.from_record(record("m", "{}", 42.5)), NOW) == pytest.approx(42.5, abs=0.001)


def test_consumer_from_env_reads_what_the_component_sets() -> None:
    consumer = consumer_from_env(
        lambda b, m: None,
        sqs=object(),
        environ={
            "RESILIENT_QUEUE_ROLE": "high",
            "RESILIENT_LOW_QUEUE_URL": "https://low",
            "RESILIENT_DLQ_URL": "https://dlq",
            "RESILIENT_DEFER_AFTER_S": "60",
            "RESILIENT_TTL_S": "3600",
            "RESILIENT_FIFO": "false",
        },
    )
    assert (consumer.role, consumer.low_queue_url, consumer.dlq_url) == ("high", "https://low", "https://dlq")
    assert (consumer.defer_after_s, consumer.ttl_s, consumer.fifo) == (60.0, 3600.0, False)
    with pytest.raises(ValueError, match="RESILIENT_QUEUE_ROLE='mid' is not one of 'high', 'low', 'surge'"):
        consumer_from_env(lambda b, m: None, sqs=object(), environ={"RESILIENT_QUEUE_ROLE": "mid"})


def test_a_message_without_a_timestamp_is_never_dropped_or_deferred() -> None:
    processed: list[str] = []
    consumer = PriorityConsumer(
        process=lambda b, m: processed.append(m.message_id),
        sqs=None,
        low_queue_url="low",
        defer_after_s=60,
        ttl_s=120,
        clock=lambda: NOW,
    )
    untimed = {"messageId": "u", "body": "{}", "attributes": {}}
    assert consumer.handle({"Records": [untimed]}) == {"batchItemFailures": []}
    assert processed == ["u"]


class RecordingSqs:
    def __init__(self) -> None:
        self.requests: list[list[dict[str, Any]]] = []

    def send_message_batch(self, QueueUrl: str, Entries: list[dict[str, Any]]) -> dict[str, Any]:
        self.requests.append([{k: v for k, v in e.items() if k != "Id"} for e in Entries])
        return {"Successful": [{"Id": e["Id"]} for e in Entries], "Failed": []}


def test_each_outcome_of_a_batch_is_counted_under_its_own_metric() -> None:
    # GIVEN a batch with one message for each outcome
    def aged(message_id: str, body: str, age_s: float) -> dict[str, Any]:
        sent = str(int((100_000.0 - age_s) * 1000))
        return {"messageId": message_id, "body": body, "attributes": {"SentTimestamp": sent}, "messageAttributes": {}}

    def process(body: Any, message: SqsMessage) -> None:
        if body == "fail":
            raise ConnectionError("down")

    counted: dict[str, int] = {}
    consumer = PriorityConsumer(
        process=process,
        sqs=RecordingSqs(),
        low_queue_url="low",
        dlq_url="dlq",
        defer_after_s=60,
        ttl_s=3600,
        validate=lambda body: "bad order" if body == "bad" else None,
        metric=lambda name, count: counted.update({name: count}),
        clock=lambda: 100_000.0,
    )
    records = [aged("p", '"ok"', 1), aged("d", '"ok"', 120), aged("x", '"bad"', 1), aged("t", '"ok"', 7200)]
    # WHEN it is handled
    response = consumer.handle({"Records": [*records, aged("f", '"fail"', 1)]})
    # THEN each outcome is counted once under its metric, and only the failure is retried
    assert counted == {
        "MessagesProcessed": 1,
        "MessagesDeferred": 1,
        "MessagesDeadLettered": 1,
        "MessagesDroppedTTL": 1,
        "MessagesFailed": 1,
    }
    assert response == {"batchItemFailures": [{"itemIdentifier": "f"}]}


def test_ttl_and_deferral_cut_offs_are_exact_to_the_millisecond() -> None:
    # GIVEN TTL 60 s and deferral after 30 s, and messages at and 1 ms past each
    now = 1_800_000_000.0
    consumer, processed, sent = _recording(low_queue_url="low", defer_after_s=30, ttl_s=60, clock=lambda: now)
    ages = {"at-defer": 30_000, "past-defer": 30_001, "at-ttl": 60_000, "past-ttl": 60_001}
    # WHEN they are handled
    outcomes = consumer._consume([_aged(m, age) for m, age in ages.items()])
    # THEN a message is deferred or dropped only once it is strictly older than the setting
    assert outcomes == {"at-defer": "processed", "past-defer": "deferred", "at-ttl": "deferred", "past-ttl": "dropped"}
    assert processed == ["at-defer"]
    assert [e["MessageAttributes"]["resilient-first-enqueued-ms"]["StringValue"] for e in sent[0]] == [
        str(int(now * 1000) - 30_001),
        str(int(now * 1000) - 60_000),
    ]


def test_a_high_consumer_without_deferral_processes_old_messages() -> None:
    consumer, processed, sent = _recording(role="high", clock=lambda: 1_800_000_000.0)
    assert consumer.handle({"Records": [_aged("old", 3_600_000)]}) == {"batchItemFailures": []}
    assert (processed, sent) == (["old"], [])


def test_a_ttl_drop_logs_the_age_to_the_millisecond() -> None:
    logged: list[tuple[str, dict[str, Any]]] = []
    consumer, _, _ = _recording(
        ttl_s=60, clock=lambda: 1_800_000_000.00025, log=lambda m, f: logged.append((m, dict(f)))
    )
    consumer.handle({"Records": [_aged("old", 61_000)]})
    assert logged == [("message dropped by TTL", {"message_id": "old", "age_s": 61.0, "ttl_s": 60, "reason": "ttl"})]
