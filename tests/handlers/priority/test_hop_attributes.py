"""What a copy carries to its next hop (low queue, DLQ): the first enqueue time, the receives so far,
the producer's attributes beside ours, a FIFO copy's group."""

from __future__ import annotations

import json
import time
from collections import Counter
from typing import Any

import boto3
import pytest
from moto import mock_aws

from handlers.resilience.priority import (
    PriorityConsumer,
    SqsMessage,
    _forwarded_attributes,
    age_seconds,
)

from ._support import NOW, ScriptedSqs, _aged, _deferring, consumer, receive_all, record


def lambda_record(message: dict[str, Any]) -> dict[str, Any]:
    """A message from ReceiveMessage as Lambda's SQS event delivers it (camelCase attributes)."""
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": message.get("Attributes", {}),
        "messageAttributes": {
            name: {"stringValue": value["StringValue"], "dataType": value["DataType"]}
            for name, value in message.get("MessageAttributes", {}).items()
        },
    }


def test_a_deferred_message_keeps_its_first_enqueue_time_and_receive_count(sqs: Any) -> None:
    # GIVEN a message first enqueued 50 minutes ago, with a one-hour TTL
    now = [time.time()]
    high = consumer(sqs, ttl_s=3600, clock=lambda: now[0])
    first_ms = int((now[0] - 50 * 60) * 1000)
    original = record("m", '{"n": 1}')
    original["attributes"]["SentTimestamp"] = str(first_ms)
    original["attributes"]["ApproximateReceiveCount"] = "2"
    # WHEN the high consumer defers it and the low queue delivers the copy 50 minutes later
    assert high.handle({"Records": [original]}) == {"batchItemFailures": []}
    [copy] = [lambda_record(m) for m in receive_all(sqs, sqs.urls["low"])]
    now[0] += 50 * 60
    processed: list[str] = []
    low = PriorityConsumer(
        process=lambda b, m: processed.append(m.message_id), sqs=sqs, role="low", ttl_s=3600, clock=lambda: now[0]
    )
    # THEN its age counts from the first enqueue (100 minutes: dropped), not from the copy's send
    message = SqsMessage.from_record(copy)
    assert message.first_enqueued_ms == first_ms
    assert message.receive_count == 3  # 2 on the high queue, 1 on the low queue
    assert age_seconds(message, now[0]) == pytest.approx(100 * 60, abs=1)
    counted: Counter[str] = Counter()
    low.metric = lambda name, n: counted.update({name: n})
    assert low.handle({"Records": [copy]}) == {"batchItemFailures": []}
    assert processed == [] and counted == Counter({"MessagesDroppedTTL": 1})


def test_a_dead_lettered_message_carries_its_age_for_a_later_redrive(sqs: Any) -> None:
    c = consumer(sqs, validate=lambda body: "bad")
    c.handle({"Records": [record("m", "{}", age_s=30)]})
    [dead] = receive_all(sqs, sqs.urls["dlq"])
    assert dead["MessageAttributes"]["resilient-first-enqueued-ms"]["StringValue"] == str(int((NOW - 30) * 1000))
    assert dead["MessageAttributes"]["resilient-receive-count"]["StringValue"] == "1"


def test_our_attributes_are_kept_when_the_producer_used_all_ten(sqs: Any) -> None:
    given = record("m", "{}", age_s=120)
    given["messageAttributes"] = {f"a{i}": {"stringValue": str(i), "dataType": "String"} for i in range(10)}
    consumer(sqs).handle({"Records": [given]})
    [moved] = receive_all(sqs, sqs.urls["low"])
    names = set(moved["MessageAttributes"])
    assert len(names) == 10
    assert {"resilient-first-enqueued-ms", "resilient-receive-count", "deferred-from"} <= names


def test_the_first_enqueue_time_survives_sqs_redrive_to_the_dlq() -> None:
    # GIVEN a low queue that redrives to its DLQ after one receive (as SQS does, moto included)
    with mock_aws():
        client = boto3.client("sqs", region_name="eu-west-1")
        dlq = client.create_queue(QueueName="low-dlq")["QueueUrl"]
        dlq_arn = client.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        low = client.create_queue(
            QueueName="low",
            Attributes={"RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "1"})},
        )["QueueUrl"]
        high = PriorityConsumer(
            process=lambda b, m: None, sqs=client, low_queue_url=low, defer_after_s=60, clock=lambda: NOW
        )
        high.handle({"Records": [record("m", "{}", age_s=600)]})
        # WHEN the low consumer fails it once, and SQS moves it to the DLQ
        client.receive_message(QueueUrl=low, VisibilityTimeout=0)
        client.receive_message(QueueUrl=low, VisibilityTimeout=0)
        [redriven] = receive_all(client, dlq)
        # THEN the copy in the DLQ still carries the first enqueue, ready for a redrive back
        message = SqsMessage.from_record(lambda_record(redriven))
        assert message.first_enqueued_ms == int((NOW - 600) * 1000)


def test_the_producers_attributes_follow_ours_in_sendmessage_shape() -> None:
    ours = {"ours": {"DataType": "String", "StringValue": "1"}}
    given = {
        "ours": {"stringValue": "theirs"},
        "text": {"stringValue": "acme", "dataType": "String.tenant"},
        "count": {"StringValue": "3", "DataType": "Number"},
        "bytes": {"binaryValue": "aGk=", "dataType": "Binary"},
        "raw": {"BinaryValue": b"hi"},
        "untyped": {"StringValue": "x"},
        "empty": {"dataType": "String"},
        "odd": "not a mapping",
    }
    assert _forwarded_attributes(given, ours) == {
        "ours": {"DataType": "String", "StringValue": "1"},
        "text": {"DataType": "String.tenant", "StringValue": "acme"},
        "count": {"DataType": "Number", "StringValue": "3"},
        "bytes": {"DataType": "Binary", "BinaryValue": b"hi"},
        "raw": {"DataType": "String", "BinaryValue": b"hi"},
        "untyped": {"DataType": "String", "StringValue": "x"},
    }


def test_no_more_than_ten_attributes_are_carried() -> None:
    ours = {f"o{i}": {"DataType": "String", "StringValue": "1"} for i in range(3)}
    given = {f"g{i}": {"stringValue": str(i)} for i in range(9)}
    assert list(_forwarded_attributes(given, ours)) == ["o0", "o1", "o2"] + [f"g{i}" for i in range(7)]


@pytest.mark.parametrize(
    ("system", "carried", "count"),
    [
        ({"ApproximateReceiveCount": "3"}, None, "3"),
        ({"ApproximateReceiveCount": "3"}, "2", "5"),
        ({}, "2", "3"),
        ({"ApproximateReceiveCount": "many"}, "2", "3"),
    ],
)
def test_a_copy_counts_the_receives_of_every_hop(system: dict[str, str], carried: str | None, count: str) -> None:
    # GIVEN an old record with producer attributes (the careful path) and this hop's receive count
    attributes: dict[str, Any] = {"tenant": {"dataType": "String", "stringValue": "t1"}}
    if carried is not None:
        attributes["resilient-receive-count"] = {"dataType": "String", "stringValue": carried}
    record = {**_aged("m1", 120_000), "messageAttributes": attributes}
    record["attributes"] = {**record["attributes"], **system}
    sqs = ScriptedSqs("ok")
    # WHEN it is deferred
    _deferring(sqs)._consume([record])
    # THEN its copy carries the receives so far: carried plus this queue's (1 when unknown)
    [(_, [entry])] = sqs.calls
    assert entry["MessageAttributes"]["resilient-receive-count"]["StringValue"] == count


def test_a_fifo_copy_without_a_group_id_goes_to_the_default_group() -> None:
    sqs = ScriptedSqs("ok")
    consumer = PriorityConsumer(
        process=lambda b, m: None, sqs=sqs, dlq_url="dlq.fifo", fifo=True, validate=lambda b: "bad"
    )
    consumer._consume([_aged("m1", 1)])
    [(_, [entry])] = sqs.calls
    assert (entry["MessageGroupId"], entry["MessageDeduplicationId"]) == ("default", "m1")
