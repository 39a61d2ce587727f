"""Idempotent hops: with a dedup store, a deferral or dead-letter write is not made twice after a
timeout between the write and its acknowledgement; without one (or when it fails), the message is
written again rather than lost."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from moto import mock_aws

from handlers.resilience.priority import (
    DynamoDBDedupStore,
    PriorityConsumer,
)

from ._support import NOW, ScriptedSqs, _aged, _deferring, _old_batch, consumer, receive_all, record


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


class RecordingDynamoDB:
    """BatchGetItem and BatchWriteItem that hold back the first request's last key/item once."""

    def __init__(self, found: set[str]) -> None:
        self.found = found
        self.requests: list[tuple[str, Any]] = []

    def batch_get_item(self, RequestItems: dict[str, Any]) -> dict[str, Any]:
        self.requests.append(("get", RequestItems))
        keys = [k["pk"]["S"] for k in RequestItems["dedup"]["Keys"]]
        held = keys[-1:] if len(self.requests) == 1 and len(keys) > 1 else []
        answered = [k for k in keys if k in self.found and k not in held]
        response: dict[str, Any] = {"Responses": {"dedup": [{"pk": {"S": k}} for k in answered]}}
        if held:
            response["UnprocessedKeys"] = {"dedup": {**RequestItems["dedup"], "Keys": [{"pk": {"S": held[0]}}]}}
        return response

    def batch_write_item(self, RequestItems: dict[str, Any]) -> dict[str, Any]:
        self.requests.append(("write", RequestItems))
        items = RequestItems["dedup"]
        if len(self.requests) == 1 and len(items) > 1:
            return {"UnprocessedItems": {"dedup": items[-1:]}}
        return {}


class RecordingStore:
    def __init__(self, seen: set[str] = frozenset()) -> None:  # type: ignore[assignment]
        self.already, self.marked = set(seen), []  # type: ignore[var-annotated]

    def seen(self, keys: Any) -> set[str]:
        return self.already & set(keys)

    def mark(self, keys: Any) -> None:
        self.marked.append(list(keys))


def test_the_dedup_store_reads_100_keys_a_request_consistently_until_all_are_answered() -> None:
    keys = [f"k{i}" for i in range(101)]
    client = RecordingDynamoDB(found={"k0", "k99", "k100"})
    assert DynamoDBDedupStore("dedup", client).seen([*keys, "k0"]) == {"k0", "k99", "k100"}
    sizes = [(kind, len(request["dedup"]["Keys"])) for kind, request in client.requests]
    assert sizes == [("get", 100), ("get", 1), ("get", 1)]
    first = client.requests[0][1]["dedup"]
    assert (first["ConsistentRead"], first["ProjectionExpression"]) == (True, "pk")


def test_the_dedup_store_writes_25_items_a_request_expiring_a_day_later() -> None:
    client = RecordingDynamoDB(found=set())
    DynamoDBDedupStore("dedup", client, clock=lambda: 1000.9).mark([f"k{i}" for i in range(26)])
    sizes = [(kind, len(request["dedup"])) for kind, request in client.requests]
    assert sizes == [("write", 25), ("write", 1), ("write", 1)]
    assert client.requests[0][1]["dedup"][0] == {
        "PutRequest": {"Item": {"pk": {"S": "k0"}, "expires_at": {"N": "87400"}}}
    }


def test_the_dedup_store_is_told_every_write_of_every_group_and_nothing_else() -> None:
    # GIVEN 12 old messages, m3 written by an earlier receive, and m4 refused by SQS
    store = RecordingStore(seen={"high:defer:m3"})
    sqs = ScriptedSqs({3}, "ok")
    consumer = _deferring(sqs, dedup=store)
    # WHEN they are handled (in two requests: 10, then 1)
    outcomes = consumer._consume(_old_batch(12))
    # THEN m3 is not written again, m4 fails, and the store records the other ten
    assert [len(entries) for _, entries in sqs.calls] == [10, 1]
    assert [m for m, o in outcomes.items() if o == "failed"] == ["m4"]
    assert store.marked == [[f"high:defer:m{i}" for i in (0, 1, 2, 5, 6, 7, 8, 9, 10, 11)]]


def test_the_dedup_store_is_not_told_of_writes_sqs_refused() -> None:
    store = RecordingStore()
    consumer = _deferring(ScriptedSqs({0}), dedup=store)
    assert consumer._consume(_old_batch(1)) == {"m0": "failed"}
    assert store.marked == []


def test_the_dedup_store_is_not_called_when_nothing_was_written() -> None:
    store = RecordingStore(seen={"high:defer:m0"})
    sqs = ScriptedSqs()
    consumer = _deferring(sqs, dedup=store)
    assert consumer._consume(_old_batch(1)) == {"m0": "deferred"}
    assert (sqs.calls, store.marked) == ([], [])


def test_dead_letter_writes_are_deduplicated_under_their_own_key() -> None:
    store = RecordingStore()
    consumer = _deferring(ScriptedSqs("ok"), dedup=store, validate=lambda body: "bad")
    assert consumer._consume([_aged("m1", 1)]) == {"m1": "dead-lettered"}
    assert store.marked == [["high:dlq:m1"]]
