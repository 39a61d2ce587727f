"""PriorityConsumer against records of any shape ("Any exception while reading or judging
one record is that record's outcome, never the batch's"). Lambda's SQS records always have this
shape; a record built by hand, replayed from a log or sent by a test harness may not."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from handlers.resilience.priority import (
    PriorityConsumer,
)

from ._support import NOW, ScriptedSqs, _aged, _deferring, _recording

OLD_MS = str(int((NOW - 120) * 1000))  # past defer_after_s=60
FRESH_MS = str(int((NOW - 1) * 1000))


def refused(entry: dict[str, Any]) -> bool:
    """Whether SQS would refuse this entry's shape (a body that is not a non-empty string, more than
    10 attributes, a name, type or value of the wrong type)."""
    if type(entry.get("MessageBody")) is not str or not entry["MessageBody"]:
        return True
    attributes = entry.get("MessageAttributes", {})
    return len(attributes) > 10 or any(
        type(name) is not str
        or type(value.get("DataType")) is not str
        or (type(value.get("StringValue")) is str) == (type(value.get("BinaryValue")) is bytes)
        for name, value in attributes.items()
    )


class StrictSqs:
    """Refuses, per entry as SQS does, an entry in a shape SQS refuses; keeps the rest."""

    def __init__(self) -> None:
        self.sent: dict[str, list[dict[str, Any]]] = {}
        self.refused: list[dict[str, Any]] = []

    def send_message_batch(self, QueueUrl: str, Entries: list[dict[str, Any]]) -> dict[str, Any]:
        assert 1 <= len(Entries) <= 10
        bad = [e for e in Entries if refused(e)]
        self.refused += bad
        self.sent.setdefault(QueueUrl, []).extend(e for e in Entries if not refused(e))
        return {
            "Successful": [{"Id": e["Id"]} for e in Entries if not refused(e)],
            "Failed": [{"Id": e["Id"], "Code": "InvalidParameterValue", "SenderFault": True} for e in bad],
        }


def consumer(sqs: StrictSqs) -> PriorityConsumer:
    return PriorityConsumer(
        process=lambda body, message: None,
        sqs=sqs,
        low_queue_url="low",
        dlq_url="dlq",
        defer_after_s=60,
        clock=lambda: NOW,
    )


def record(message_id: str, sent_ms: str = OLD_MS, **fields: Any) -> dict[str, Any]:
    return {
        "messageId": message_id,
        "body": '{"n": 1}',
        "attributes": {"SentTimestamp": sent_ms, "ApproximateReceiveCount": "1"},
        "messageAttributes": {},
        **fields,
    }


def test_message_attributes_that_are_not_an_object_fail_no_batch() -> None:
    # GIVEN an old record whose messageAttributes is a list, between two valid old records
    sqs = StrictSqs()
    batch = [record("a"), record("b", messageAttributes=["junk"]), record("c")]
    # WHEN the batch is handled
    response = consumer(sqs).handle({"Records": batch})
    # THEN all three are deferred, the odd one aged from its SentTimestamp like the others
    assert response == {"batchItemFailures": []}
    assert [e["MessageAttributes"]["resilient-first-enqueued-ms"]["StringValue"] for e in sqs.sent["low"]] == [
        OLD_MS,
        OLD_MS,
        OLD_MS,
    ]


def test_attributes_sqs_could_not_have_delivered_are_left_off_the_copy() -> None:
    # GIVEN an old record with one good binary attribute, binary that is not base64, a type that
    # is not a string, text that is not a string, and a name that is not a string
    attributes = {
        "good": {"dataType": "Binary", "binaryValue": base64.b64encode(b"hi").decode()},
        "not-base64": {"dataType": "Binary", "binaryValue": "!!"},
        "bad-type": {"dataType": 5, "stringValue": "v"},
        "bad-text": {"dataType": "String", "stringValue": 5},
        7: {"dataType": "String", "stringValue": "v"},
        "plain": {"dataType": "String", "stringValue": "kept"},
    }
    sqs = StrictSqs()
    # WHEN it is deferred
    response = consumer(sqs).handle({"Records": [record("a", messageAttributes=attributes)]})
    # THEN the copy keeps ours and the two good ones, and SQS accepts it
    assert response == {"batchItemFailures": []}
    (entry,) = sqs.sent["low"]
    assert {k: v for k, v in entry["MessageAttributes"].items() if not k.startswith(("resilient-", "deferred-"))} == {
        "good": {"DataType": "Binary", "BinaryValue": b"hi"},
        "plain": {"DataType": "String", "StringValue": "kept"},
    }


junk = st.one_of(
    st.none(),
    st.integers(),
    st.text(max_size=5),
    st.lists(st.text(max_size=3), max_size=2),
    st.binary(max_size=3),
)
attribute = st.one_of(
    junk,
    st.fixed_dictionaries(
        {},
        optional={
            "dataType": st.one_of(junk, st.sampled_from(["String", "Number", "Binary"])),
            "stringValue": junk,
            "binaryValue": st.one_of(junk, st.just("aGk=")),
        },
    ),
)
message_attributes = st.one_of(
    junk,
    st.dictionaries(
        st.one_of(st.text(max_size=4), st.integers(), st.sampled_from(["resilient-first-enqueued-ms"])),
        attribute,
        max_size=12,
    ),
)
system_attributes = st.one_of(
    junk,
    st.fixed_dictionaries(
        {},
        optional={
            "SentTimestamp": st.one_of(junk, st.sampled_from([OLD_MS, FRESH_MS, "-5", "1e3"])),
            "ApproximateReceiveCount": st.one_of(junk, st.sampled_from(["1", "3", "x", "-1"])),
        },
    ),
)
odd_record = st.fixed_dictionaries(
    {"messageId": st.sampled_from(["m"])},
    optional={
        "body": st.one_of(junk, st.sampled_from(['{"n": 1}', "not json", "", "[" * 5000])),
        "attributes": system_attributes,
        "messageAttributes": message_attributes,
    },
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(odd_record, min_size=1, max_size=10))
def test_a_record_of_any_shape_ends_in_an_outcome_and_every_write_is_one_sqs_accepts(
    records: list[dict[str, Any]],
) -> None:
    # GIVEN up to ten records of any shape (unique ids), the last followed by a valid old record
    batch = [{**r, "messageId": f"m{i}"} for i, r in enumerate(records)] + [record("valid")]
    sqs = StrictSqs()
    # WHEN the batch is handled
    response = consumer(sqs).handle({"Records": batch})
    # THEN nothing fails: each record was processed, deferred or dead-lettered with a write SQS
    # accepts, and the valid record's copy carries its age
    assert (response, sqs.refused) == ({"batchItemFailures": []}, [])
    assert sqs.sent["low"][-1]["MessageAttributes"]["resilient-first-enqueued-ms"]["StringValue"] == OLD_MS


@pytest.mark.parametrize("value", [None, 5, "text", ["a"]])
def test_system_attributes_of_any_type_are_aged_as_unknown_and_processed(value: Any) -> None:
    # GIVEN a record whose attributes are not an object
    processed: list[str] = []
    sqs = StrictSqs()
    worker = consumer(sqs)
    worker.process = lambda body, message: processed.append(message.message_id)
    # WHEN it is handled
    response = worker.handle({"Records": [record("a", attributes=value)]})
    # THEN its age is unknown, so it is processed, never deferred
    assert (response, processed, sqs.sent) == ({"batchItemFailures": []}, ["a"], {})


def test_an_event_that_is_not_an_object_is_an_empty_batch() -> None:
    consumer = PriorityConsumer(process=lambda body, message: None, sqs=None)
    assert consumer.handle("not an event") == {"batchItemFailures": []}  # type: ignore[arg-type]


def test_an_event_that_is_a_read_only_mapping_is_read() -> None:
    from types import MappingProxyType

    processed: list[str] = []
    consumer = PriorityConsumer(process=lambda body, message: processed.append(message.message_id), sqs=None)
    event = MappingProxyType({"Records": [{"messageId": "m1", "body": "{}", "attributes": {}}]})
    assert consumer.handle(event) == {"batchItemFailures": []}
    assert processed == ["m1"]


@pytest.mark.parametrize("message_id", [5, "", None])
def test_a_record_whose_messageid_is_not_a_non_empty_string_is_dead_lettered_under_a_stand_in(message_id: Any) -> None:
    consumer, processed, sent = _recording(dlq_url="dlq", clock=lambda: 1_800_000_000.0)
    record = {**_aged("x", 1), "messageId": message_id}
    assert consumer._consume([_aged("ok", 1), record]) == {
        "ok": "processed",
        "record-1-without-messageId": "dead-lettered",
    }
    assert processed == ["ok"]
    assert sent[0][0]["MessageAttributes"]["reason"]["StringValue"] == "the record has no messageId"


def test_a_record_that_is_not_an_object_fails_under_a_stand_in_id_and_is_logged() -> None:
    # GIVEN a record that is a long string, not an object
    logged: list[tuple[str, dict[str, Any]]] = []
    consumer, processed, sent = _recording(log=lambda m, f: logged.append((m, dict(f))))
    junk = "x" * 300
    # WHEN the batch is handled
    response = consumer.handle({"Records": [_aged("ok", 1), junk]})
    # THEN it fails under its stand-in id (Lambda takes an unknown id as a failure of the whole
    # batch, so SQS delivers it again rather than losing it), and the log shows its first 200 chars
    assert response == {"batchItemFailures": [{"itemIdentifier": "record-1-without-messageId"}]}
    assert logged == [("record is not an object", {"index": 1, "record": repr(junk)[:200]})]
    assert (processed, sent) == (["ok"], [])


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (5, "the record has no body"),
        (None, "the record has no body"),
        ("", "body is not JSON: Expecting value: line 1 column 1 (char 0)"),
    ],
)
def test_a_record_whose_body_is_not_a_non_empty_string_is_dead_lettered_with_a_stand_in_body(
    body: Any, reason: str
) -> None:
    # SQS refuses an empty body, and a body must be a string
    sqs = ScriptedSqs("ok")
    consumer = _deferring(sqs)
    assert consumer._consume([{**_aged("m1", 1), "body": body}]) == {"m1": "dead-lettered"}
    [(_, [entry])] = sqs.calls
    assert (entry["MessageBody"], entry["MessageAttributes"]["reason"]["StringValue"]) == ("(no body)", reason)
