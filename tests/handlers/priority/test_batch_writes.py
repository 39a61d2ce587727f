"""Batch writes (deferrals and dead letters): entries sized as SQS counts them, groups within the
entry and byte limits, each group tried, and every entry SQS refuses left unacknowledged."""

from __future__ import annotations

import json
from typing import Any

import pytest

from handlers.resilience.priority import (
    PriorityConsumer,
    _batches,
    entry_size,
)
from tests.conftest import client_error

from ._support import (
    NOW,
    RejectingSqs,
    ScriptedSqs,
    _aged,
    _deferring,
    _old_batch,
    _recording,
    clocked_consumer,
    consumer,
    receive_all,
    record,
    sqs_message,
)


def test_ten_large_orders_are_deferred_in_batches_under_one_mib(sqs: Any) -> None:
    # GIVEN ten old orders of 200 KB each (2 MB: over SendMessageBatch's 1 MiB)
    big = [record(f"m{i}", json.dumps({"pad": "x" * 200_000}), age_s=120) for i in range(10)]
    # WHEN the high consumer defers them
    response = consumer(sqs).handle({"Records": big})
    # THEN every one reaches the low queue instead of failing the whole send on every poll
    assert response == {"batchItemFailures": []}
    assert len(receive_all(sqs, sqs.urls["low"])) == 10


def test_batches_count_attribute_bytes() -> None:
    # GIVEN a strict SQS that counts bodies and attributes (name, type, value) as AWS does
    requests: list[int] = []

    class StrictSqs:
        def send_message_batch(self, QueueUrl: str, Entries: list[dict[str, Any]]) -> dict[str, Any]:
            total = 0
            for e in Entries:
                total += len(e["MessageBody"].encode())
                for name, value in e["MessageAttributes"].items():
                    total += len(name) + len(value["DataType"]) + len(value["StringValue"].encode())
            if total > 1_048_576 or len(Entries) > 10:
                raise client_error("BatchRequestTooLong", 400, "SendMessageBatch")
            requests.append(len(Entries))
            return {"Successful": [{"Id": e["Id"]} for e in Entries], "Failed": []}

    # AND ten bodies whose sum is just under 1 MiB, which the attributes push over
    body = "x" * (1_048_576 // 10 - 20)
    c = PriorityConsumer(
        process=lambda b, m: None, sqs=StrictSqs(), low_queue_url="low", defer_after_s=60, clock=lambda: NOW
    )
    response = c.handle({"Records": [record(f"m{i}", json.dumps(body), age_s=120) for i in range(10)]})
    assert response == {"batchItemFailures": []}
    assert requests == [9, 1]


def test_entry_size_counts_body_and_attributes() -> None:
    entry = {
        "MessageBody": "héllo",
        "MessageAttributes": {
            "ab": {"DataType": "String", "StringValue": "xyz"},
            "b": {"DataType": "Binary", "BinaryValue": b"12"},
        },
    }
    assert entry_size(entry) == 6 + (2 + 6 + 3) + (1 + 6 + 2)


class RecordingSqs:
    def __init__(self) -> None:
        self.requests: list[list[dict[str, Any]]] = []

    def send_message_batch(self, QueueUrl: str, Entries: list[dict[str, Any]]) -> dict[str, Any]:
        self.requests.append([{k: v for k, v in e.items() if k != "Id"} for e in Entries])
        return {"Successful": [{"Id": e["Id"]} for e in Entries], "Failed": []}


def old_record(message_id: str, body: str) -> dict[str, Any]:
    return {
        "messageId": message_id,
        "body": body,
        "attributes": {"SentTimestamp": "1000000", "ApproximateReceiveCount": "2"},
        "messageAttributes": {},
    }


def requests_for(limit: int, **kwargs: Any) -> list[int]:
    sqs = RecordingSqs()
    consumer = PriorityConsumer(
        process=lambda body, message: None, sqs=sqs, clock=lambda: 100_000.0, max_batch_bytes=limit, **kwargs
    )
    consumer.handle({"Records": [old_record("a", '{"n": "é"}'), old_record("b", "[1, 2]")]})
    return [len(entries) for entries in sqs.requests]


def sqs_counted_bytes(**kwargs: Any) -> int:
    sqs = RecordingSqs()
    consumer = PriorityConsumer(process=lambda body, message: None, sqs=sqs, clock=lambda: 100_000.0, **kwargs)
    consumer.handle({"Records": [old_record("a", '{"n": "é"}'), old_record("b", "[1, 2]")]})
    return sum(entry_size(entry) for entries in sqs.requests for entry in entries)


DEFER = {"role": "high", "low_queue_url": "low", "defer_after_s": 60}

DEAD_LETTER = {"role": "low", "dlq_url": "dlq", "validate": lambda body: "bad order"}


def test_entry_size_counts_a_missing_binary_value_as_empty() -> None:
    entry = {"MessageBody": "ab", "MessageAttributes": {"k": {"DataType": "Binary", "BinaryValue": None}}}
    assert entry_size(entry) == 2 + 1 + 6


def test_entry_size_counts_a_non_ascii_attribute_in_utf8_bytes() -> None:
    entry = {"MessageBody": "ab", "MessageAttributes": {"k": {"DataType": "String", "StringValue": "é"}}}
    assert entry_size(entry) == 2 + 1 + 6 + 2


def test_a_batch_may_hold_exactly_the_byte_limit() -> None:
    assert _batches([(4, "a"), (6, "b"), (1, "c")], 10, 10) == [["a", "b"], ["c"]]


def test_a_batch_holds_at_most_the_entry_limit() -> None:
    assert _batches([(1, i) for i in range(5)], 2, 100) == [[0, 1], [2, 3], [4]]


def test_an_item_over_the_byte_limit_goes_alone() -> None:
    assert _batches([(1, "a"), (50, "big"), (1, "c")], 10, 10) == [["a"], ["big"], ["c"]]


@pytest.mark.parametrize("settings", [DEFER, DEAD_LETTER], ids=["deferral", "dead-letter"])
def test_two_writes_that_fill_the_byte_limit_exactly_go_in_one_request(settings: dict[str, Any]) -> None:
    total = sqs_counted_bytes(**settings)
    assert requests_for(total, **settings) == [2]


@pytest.mark.parametrize("settings", [DEFER, DEAD_LETTER], ids=["deferral", "dead-letter"])
def test_two_writes_one_byte_over_the_limit_go_in_two_requests(settings: dict[str, Any]) -> None:
    total = sqs_counted_bytes(**settings)
    assert requests_for(total - 1, **settings) == [1, 1]


def test_each_group_after_the_first_starts_counting_bytes_from_zero() -> None:
    # GIVEN four items of 5 bytes and a 10-byte limit
    groups = _batches([(5, "a"), (5, "b"), (5, "c"), (5, "d")], max_entries=10, max_bytes=10)
    # THEN two groups of exactly 10 bytes each
    assert groups == [["a", "b"], ["c", "d"]]


def test_entry_size_counts_a_lone_surrogate_as_three_bytes() -> None:
    # A Lambda event's JSON may hold an escaped lone surrogate ("\\ud800"), which Python decodes
    # into the body string; SQS counts it as UTF-8 would encode it with surrogatepass.
    entry = {"MessageBody": "a\ud800", "MessageAttributes": {"n": {"DataType": "String", "StringValue": "\udfff"}}}
    assert entry_size(entry) == 1 + 3 + len("n") + len("String") + 3


def test_entry_size_of_an_entry_without_a_body_counts_only_its_attributes() -> None:
    assert entry_size({"MessageAttributes": {"n": {"DataType": "String", "StringValue": "v"}}}) == 1 + 6 + 1


def test_a_deferred_body_with_a_lone_surrogate_is_sized_and_sent() -> None:
    # GIVEN an old message whose body holds a lone surrogate (JSON accepts it inside a string).
    # SQS never delivers one (it refuses the character on send, and botocore cannot encode it), so
    # this pins only that sizing the copy does not fail the batch; the fake client stands for SQS.
    consumer, _, sent = _recording(low_queue_url="low", defer_after_s=60, clock=lambda: 1_800_000_000.0)
    record = {**_aged("old", 120_000), "body": '{"s": "\ud800"}'}
    # WHEN it is handled
    response = consumer.handle({"Records": [record]})
    # THEN it is deferred like any other
    assert response == {"batchItemFailures": []}
    assert sent[0][0]["MessageBody"] == '{"s": "\ud800"}'


def test_a_group_whose_send_raised_fails_alone_and_the_next_group_is_still_sent() -> None:
    logged: list[tuple[str, dict[str, Any]]] = []
    sqs = ScriptedSqs("raise", "ok")
    consumer = _deferring(sqs, log=lambda m, f: logged.append((m, dict(f))))
    outcomes = consumer._consume(_old_batch(11))
    assert [m for m, o in outcomes.items() if o == "failed"] == [f"m{i}" for i in range(10)]
    assert [len(entries) for _, entries in sqs.calls] == [10, 1]
    assert logged == [("batch send failed", {"queue_url": "low", "error": "ConnectionError('sqs down')"})]


def test_groups_that_all_raise_fail_every_message() -> None:
    consumer = _deferring(ScriptedSqs("raise", "raise"))
    assert set(consumer._consume(_old_batch(11)).values()) == {"failed"}


def test_entries_refused_in_each_group_all_fail() -> None:
    consumer = _deferring(ScriptedSqs({0}, {0}))
    outcomes = consumer._consume(_old_batch(11))
    assert [m for m, o in outcomes.items() if o == "failed"] == ["m0", "m10"]


LOW_URL, DLQ_URL = "https://sqs.eu-west-1.amazonaws.com/1/low", "https://sqs.eu-west-1.amazonaws.com/1/dlq"


def test_a_deferral_listed_as_failed_is_not_acknowledged() -> None:
    # GIVEN three old messages on the high queue, and SQS rejecting the middle one's write
    sqs = RejectingSqs()
    high = clocked_consumer(sqs, role="high", low_queue_url=LOW_URL, defer_after_s=60)
    batch = [sqs_message("a", {"n": 1}, 120), sqs_message("b", {"n": "reject"}, 120), sqs_message("c", {"n": 3}, 120)]
    # WHEN the batch is consumed
    outcomes = high.consume(batch)
    # THEN the rejected one is a failure (SQS delivers it again), the others are deferred
    assert outcomes == {"a": "deferred", "b": "failed", "c": "deferred"}
    assert [url for url, _ in sqs.sent] == [LOW_URL, LOW_URL]


def test_a_dead_letter_write_listed_as_failed_is_not_acknowledged() -> None:
    sqs = RejectingSqs()
    low = clocked_consumer(
        sqs, role="low", dlq_url=DLQ_URL, validate=lambda body: "bad order" if "n" not in body else None
    )
    outcomes = low.consume([sqs_message("a", {"x": 1}), sqs_message("b", {"x": "reject"})])
    assert outcomes == {"a": "dead-lettered", "b": "failed"}
    assert sqs.sent == [(DLQ_URL, json.dumps({"x": 1}))]


def test_the_partial_batch_response_names_exactly_the_rejected_writes() -> None:
    sqs = RejectingSqs()
    high = clocked_consumer(sqs, role="high", low_queue_url=LOW_URL, defer_after_s=60)
    event = {"Records": [sqs_message(i, {"n": "reject" if i == "b" else i}, 120).record for i in ("a", "b", "c")]}
    assert high.handle(event) == {"batchItemFailures": [{"itemIdentifier": "b"}]}
