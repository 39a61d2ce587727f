"""The read-only view of one SQS record a handler gets: its id, body, producer attributes, age from
its first enqueue and receives over every hop, whatever the record lacks."""

from __future__ import annotations

from typing import Any

import pytest

from handlers.resilience.priority import (
    SqsMessage,
    _first_enqueued_ms,
    age_seconds,
)


def test_a_message_without_attributes_reads_as_sent_at_0_received_once() -> None:
    message = SqsMessage({"messageId": "m1", "body": "{}"})
    assert (message.sent_at_ms, message.first_enqueued_ms, message.receive_count) == (0, 0, 1)
    assert (dict(message.attributes), dict(message.message_attributes)) == ({}, {})


def test_a_message_without_a_body_reads_as_empty() -> None:
    assert SqsMessage({"messageId": "m1"}).body == ""


def test_a_message_counts_receives_over_every_hop() -> None:
    message = SqsMessage(
        {
            "messageId": "m1",
            "attributes": {"SentTimestamp": "5000", "ApproximateReceiveCount": "2"},
            "messageAttributes": {"resilient-receive-count": {"StringValue": "3", "DataType": "Number"}},
        }
    )
    assert (message.sent_at_ms, message.receive_count) == (5000, 5)


def test_a_message_shows_its_id_and_first_enqueue() -> None:
    message = SqsMessage({"messageId": "m1", "attributes": {"SentTimestamp": "1234"}})
    assert repr(message) == "SqsMessage('m1', first_enqueued_ms=1234)"


def test_a_message_from_the_future_is_0_seconds_old() -> None:
    message = SqsMessage({"messageId": "m1", "attributes": {"SentTimestamp": "10000"}})
    assert (age_seconds(message, 5.0), age_seconds(message, 12.5)) == (0.0, 2.5)


@pytest.mark.parametrize(
    ("record", "expected"),
    [
        ({"messageAttributes": {"resilient-first-enqueued-ms": {"stringValue": "0"}}}, 0),
        ({"messageAttributes": {"resilient-first-enqueued-ms": {"stringValue": "-5"}}}, None),
        (
            {
                "messageAttributes": {"resilient-first-enqueued-ms": {"stringValue": "-5"}},
                "attributes": {"SentTimestamp": "0"},
            },
            0,
        ),
        ({"messageAttributes": {"resilient-first-enqueued-ms": "7"}, "attributes": {"SentTimestamp": "9"}}, 9),
        ({"attributes": {"SentTimestamp": "-1"}}, None),
        ({"attributes": {"SentTimestamp": "yesterday"}}, None),
        (
            {
                "messageAttributes": {"resilient-first-enqueued-ms": {"stringValue": "soon"}},
                "attributes": {"SentTimestamp": "9"},
            },
            9,
        ),
        ({"attributes": "SentTimestamp"}, None),
    ],
)
def test_the_first_enqueue_is_a_non_negative_carried_time_else_the_sent_time(
    record: dict[str, Any], expected: int | None
) -> None:
    assert _first_enqueued_ms(record) == expected


def test_a_message_reads_its_body_and_producer_attributes_from_the_record() -> None:
    attributes = {"tenant": {"stringValue": "acme", "dataType": "String"}}
    message = SqsMessage({"messageId": "m1", "body": '{"n": 1}', "messageAttributes": attributes})
    assert (message.body, dict(message.message_attributes)) == ('{"n": 1}', attributes)
