"""PriorityConsumer under faults: per-record isolation, poison classification, the
invocation's deadline, idempotent hops, ages carried across hops, batches split by bytes."""

from __future__ import annotations

import json
import time
from collections import Counter
from typing import Any

import boto3
import pytest
from moto import mock_aws
from resilient_serverless.components.testing import FakeLambdaContext

from handlers.resilience.priority import (
    DynamoDBDedupStore,
    PoisonMessage,
    PriorityConsumer,
    SqsMessage,
    age_seconds,
    entry_size,
    poison_reason,
)
from tests.conftest import client_error

NOW = 1_800_000_000.0


def record(message_id: str, body: str, age_s: float = 1.0, **attributes: str) -> dict[str, Any]:
    return {
        "messageId": message_id,
        "receiptHandle": f"rh-{message_id}",
        "body": body,
        "attributes": {"SentTimestamp": str(int((NOW - age_s) * 1000)), "ApproximateReceiveCount": "1", **attributes},
        "messageAttributes": {},
    }


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


def receive_all(client: Any, url: str) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    while got := client.receive_message(
        QueueUrl=url,
        MaxNumberOfMessages=10,
        MessageAttributeNames=["All"],
        AttributeNames=["All"],
        VisibilityTimeout=300,
    ).get("Messages", []):
        out += got
    return out


@pytest.fixture
def sqs() -> Any:
    with mock_aws():
        client = boto3.client("sqs", region_name="eu-west-1")
        client.urls = {  # type: ignore[attr-defined]
            name: client.create_queue(QueueName=name)["QueueUrl"] for name in ("high", "low", "dlq")
        }
        yield client


def consumer(sqs: Any, **kwargs: Any) -> PriorityConsumer:
    args: dict[str, Any] = {
        "process": lambda body, message: None,
        "sqs": sqs,
        "low_queue_url": sqs.urls["low"],
        "dlq_url": sqs.urls["dlq"],
        "defer_after_s": 60,
        "clock": lambda: NOW,
        **kwargs,
    }
    return PriorityConsumer(**args)


# -- one record, one outcome --------------------------------------------------------------------


def test_unreadable_records_are_dead_lettered_alone_and_valid_ones_processed(sqs: Any) -> None:
    # GIVEN a batch mixing valid orders with records that cannot be read or judged
    processed: list[str] = []
    bad_timestamp = record("bad-ts", '{"n": 2}')
    bad_timestamp["attributes"]["SentTimestamp"] = "yesterday"
    null_attributes = record("null-attrs", '{"n": 3}')
    null_attributes["attributes"] = None
    no_body = record("no-body", "")
    del no_body["body"]
    no_id = record("x", '{"n": 4}')
    del no_id["messageId"]
    nested = record("nested", "[" * 100_000 + "]" * 100_000)
    records = [record("ok", '{"n": 1}'), bad_timestamp, null_attributes, no_body, no_id, nested]
    c = consumer(sqs, process=lambda body, message: processed.append(message.message_id))
    # WHEN the consumer handles it
    response = c.handle({"Records": records})
    # THEN nothing fails the batch: readable ones are processed (unknown age: never deferred),
    # unreadable ones are dead-lettered with their reason
    assert response == {"batchItemFailures": []}
    assert processed == ["ok", "bad-ts", "null-attrs"]
    reasons = sorted(m["MessageAttributes"]["reason"]["StringValue"] for m in receive_all(sqs, sqs.urls["dlq"]))
    assert reasons == ["body is nested too deeply to parse", "the record has no body", "the record has no messageId"]


def test_a_validator_that_crashes_dead_letters_only_its_record(sqs: Any) -> None:
    def validate(body: Any) -> str | None:
        return None if body["kind"] == "ok" else "bad kind"

    c = consumer(sqs, validate=validate)
    response = c.handle({"Records": [record("a", '{"kind": "ok"}'), record("b", "[1]")]})
    assert response == {"batchItemFailures": []}
    [dead] = receive_all(sqs, sqs.urls["dlq"])
    assert dead["MessageAttributes"]["reason"]["StringValue"] == (
        "validation raised TypeError: list indices must be integers or slices, not str"
    )


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        (PoisonMessage("order_id missing"), "order_id missing"),
        (client_error("ValidationException", 400, "PutItem"), "ValidationException: ValidationException"),
        (UnicodeEncodeError("utf-8", "\ud800", 0, 1, "surrogates not allowed"), "cannot be encoded: "),
        (RecursionError("deep"), "nested too deeply to handle"),
        (client_error("ThrottlingException", 400), None),
        (client_error("InternalServerError", 500), None),
        (ConnectionError("down"), None),
    ],
)
def test_what_is_poison(error: BaseException, reason: str | None) -> None:
    got = poison_reason(error)
    assert got == reason if reason is None else (got or "").startswith(reason)


def test_errors_that_cannot_succeed_are_dead_lettered_at_once_with_the_reason(sqs: Any) -> None:
    # GIVEN a process that hits DynamoDB's 400 KB limit, an unencodable string and a throttle
    def process(body: Any, message: SqsMessage) -> None:
        if body["kind"] == "big":
            raise client_error("ValidationException", 400, "PutItem")
        if body["kind"] == "surrogate":
            body["text"].encode()
        raise client_error("ThrottlingException", 400, "PutItem")

    c = consumer(sqs, process=process)
    bodies = ['{"kind": "big"}', '{"kind": "surrogate", "text": "\\ud800"}', '{"kind": "throttled"}']
    # WHEN handled once
    response = c.handle({"Records": [record(f"m{i}", b) for i, b in enumerate(bodies)]})
    # THEN only the throttled one is retried; the others are in the DLQ with their reason
    assert response == {"batchItemFailures": [{"itemIdentifier": "m2"}]}
    reasons = sorted(m["MessageAttributes"]["reason"]["StringValue"] for m in receive_all(sqs, sqs.urls["dlq"]))
    assert reasons[0] == "ValidationException: ValidationException"
    assert reasons[1].startswith("cannot be encoded: 'utf-8' codec can't encode character '\\ud800'")


# -- the deadline --------------------------------------------------------------------------------


def test_no_record_is_started_that_cannot_finish_before_the_deadline(sqs: Any) -> None:
    # GIVEN a slow dependency (4 s per record) and 10 s left in the invocation, 1 s kept as margin
    now = [NOW]

    def slow(body: Any, message: SqsMessage) -> None:
        now[0] += 4.0

    logged: list[tuple[str, dict[str, Any]]] = []
    c = consumer(
        sqs, process=slow, clock=lambda: now[0], deadline_margin_s=1.0, log=lambda m, f: logged.append((m, dict(f)))
    )
    records = [record(f"m{i}", "{}") for i in range(5)]
    # WHEN the batch is handled
    response = c.handle({"Records": records}, FakeLambdaContext(remaining_ms=10_000))
    # THEN two records are done by 8 s; the third (8 s + 4 s > 9 s) and later are not started,
    # which one log line says, with how many records it left
    assert response == {"batchItemFailures": [{"itemIdentifier": f"m{i}"} for i in (2, 3, 4)]}
    assert now[0] - NOW == 8.0
    assert logged == [("not started: the invocation's deadline is near", {"message_id": "m2", "remaining": 3})]


# -- idempotent hops -----------------------------------------------------------------------------


def _dedup_table(client: Any) -> None:
    client.create_table(
        TableName="dedup",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )


@pytest.mark.parametrize("with_store", [True, False])
def test_a_timeout_between_write_and_acknowledgement_does_not_write_twice(sqs: Any, with_store: bool) -> None:
    # GIVEN a consumer whose deferral and DLQ writes are recorded in a dedup table
    dynamodb = boto3.client("dynamodb", region_name="eu-west-1")
    _dedup_table(dynamodb)
    store = DynamoDBDedupStore("dedup", dynamodb, clock=lambda: NOW) if with_store else None
    c = consumer(sqs, dedup=store, validate=lambda body: "poison" if body.get("poison") else None)
    batch = [record("old-1", "{}", age_s=120), record("old-2", "{}", age_s=120), record("bad", '{"poison": 1}')]
    # WHEN the writes succeed but the invocation times out before SQS gets the response,
    c.handle({"Records": batch})
    # and SQS delivers the same batch again
    again = [{**r, "attributes": {**r["attributes"], "ApproximateReceiveCount": "2"}} for r in batch]
    assert c.handle({"Records": again}) == {"batchItemFailures": []}
    # THEN with the store each message was written once; without, twice (at least once)
    copies = 1 if with_store else 2
    assert len(receive_all(sqs, sqs.urls["low"])) == 2 * copies
    assert len(receive_all(sqs, sqs.urls["dlq"])) == copies
    if with_store:
        item = dynamodb.get_item(TableName="dedup", Key={"pk": {"S": "high:defer:old-1"}})["Item"]
        assert item["expires_at"] == {"N": str(int(NOW) + 86_400)}  # Default: a day


def test_a_failing_dedup_store_writes_again_rather_than_losing_the_message(sqs: Any) -> None:
    class Down:
        def seen(self, keys: Any) -> set[str]:
            raise ConnectionError("store down")

        def mark(self, keys: Any) -> None:
            raise ConnectionError("store down")

    logged: list[tuple[str, dict[str, Any]]] = []
    c = consumer(sqs, dedup=Down(), log=lambda m, f: logged.append((m, dict(f))))
    assert c.handle({"Records": [record("old", "{}", age_s=120)]}) == {"batchItemFailures": []}
    assert len(receive_all(sqs, sqs.urls["low"])) == 1
    # both the lookup and the record failed, each logged with the error (bounded to 500 characters)
    assert logged == [("dedup store unavailable", {"error": "ConnectionError('store down')"})] * 2


def test_a_fifo_dead_letter_write_carries_the_message_id_for_deduplication() -> None:
    with mock_aws():
        client = boto3.client("sqs", region_name="eu-west-1")
        dlq = client.create_queue(QueueName="dlq.fifo", Attributes={"FifoQueue": "true"})["QueueUrl"]
        c = PriorityConsumer(
            process=lambda b, m: None, sqs=client, role="low", dlq_url=dlq, fifo=True, clock=lambda: NOW
        )
        poison = record("p", "not json", MessageGroupId="g")
        c.handle({"Records": [poison]})
        c.handle({"Records": [poison]})  # redelivered after a lost acknowledgement
        assert len(receive_all(client, dlq)) == 1


# -- ages from the first enqueue -----------------------------------------------------------------


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


# -- batches by bytes ----------------------------------------------------------------------------


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


# -- defaults ------------------------------------------------------------------------------------


def test_consumer_defaults_margin_1_s_batches_of_1_mib_no_dedup_poison_reason() -> None:
    c = PriorityConsumer(process=lambda b, m: None, sqs=None)
    assert (c.deadline_margin_s, c.max_batch_bytes, c.dedup, c.classify) == (1.0, 1_048_576, None, poison_reason)


def test_consumer_from_env_adds_a_dedup_store_where_a_table_is_named() -> None:
    from handlers.resilience.priority import consumer_from_env

    c = consumer_from_env(lambda b, m: None, sqs=object(), environ={"RESILIENT_DEDUP_TABLE": "dedup"})
    assert isinstance(c.dedup, DynamoDBDedupStore) and c.dedup.table_name == "dedup"
    assert consumer_from_env(lambda b, m: None, sqs=object(), environ={}).dedup is None


def test_retry_and_breaker_defaults() -> None:
    from handlers.resilience.backoff import RetryPolicy
    from handlers.resilience.breaker import CONFLICT_RETRIES

    assert RetryPolicy().attempt_timeout_s is None
    assert CONFLICT_RETRIES == 10


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
