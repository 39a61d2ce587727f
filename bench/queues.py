"""Bench rows for PriorityQueuePair's consumer (see bench/__main__.py)."""

from __future__ import annotations

import json
import statistics
import time
from collections import Counter
from typing import Any

NOW = 1_800_000_000.0


def _records(count: int, old_every: int) -> list[dict[str, Any]]:
    """``count`` SQS records; every ``old_every``-th is 2 minutes old (to be deferred)."""
    return [
        {
            "messageId": f"m{i}",
            "receiptHandle": f"rh{i}",
            "body": json.dumps({"order_id": f"o{i}", "n": i}),
            "attributes": {
                "SentTimestamp": str(int((NOW - (120 if i % old_every == 0 else 1)) * 1000)),
                "ApproximateReceiveCount": "1",  # as Lambda delivers every SQS record
            },
            "messageAttributes": {},
        }
        for i in range(count)
    ]


def calls_per_1000_deferred() -> int:
    """AWS API calls the high consumer makes to defer 1000 messages (moto, batches of 10)."""
    import boto3
    from moto import mock_aws

    from handlers.resilience.priority import PriorityConsumer

    with mock_aws():
        sqs = boto3.client("sqs", region_name="eu-west-1", aws_access_key_id="bench", aws_secret_access_key="bench")
        low = sqs.create_queue(QueueName="low")["QueueUrl"]
        calls: Counter[str] = Counter()
        sqs.meta.events.register("before-call.sqs.*", lambda model, **_: calls.update([model.name]))
        consumer = PriorityConsumer(
            process=lambda body, message: None, sqs=sqs, low_queue_url=low, defer_after_s=60, clock=lambda: NOW
        )
        records = _records(1000, old_every=1)
        for start in range(0, 1000, 10):
            response = consumer.handle({"Records": records[start : start + 10]})
            assert response == {"batchItemFailures": []}
        return sum(calls.values())


class _FakeSqs:
    """The same in-memory answers for both sides of the comparison."""

    def send_message_batch(self, QueueUrl: str, Entries: list[dict[str, Any]]) -> dict[str, Any]:
        return {"Successful": [{"Id": e["Id"]} for e in Entries], "Failed": []}


def _hand_written(event: dict[str, Any], sqs: _FakeSqs, process: Any) -> dict[str, Any]:
    """What one would write without the library: defer old messages, process the rest."""
    failures, to_defer = [], []
    for record in event["Records"]:
        body = json.loads(record["body"])
        age = NOW - int(record["attributes"]["SentTimestamp"]) / 1000
        if age > 60:
            to_defer.append(record)
            continue
        try:
            process(body, record)
        except Exception:
            failures.append({"itemIdentifier": record["messageId"]})
    for start in range(0, len(to_defer), 10):
        group = to_defer[start : start + 10]
        response = sqs.send_message_batch(
            QueueUrl="low", Entries=[{"Id": str(i), "MessageBody": r["body"]} for i, r in enumerate(group)]
        )
        failures += [{"itemIdentifier": group[int(f["Id"])]["messageId"]} for f in response["Failed"]]
    return {"batchItemFailures": failures}


def _hand_written_carrying(event: dict[str, Any], sqs: _FakeSqs, process: Any) -> dict[str, Any]:
    """The same loop doing the deferral work the library asks of any consumer: the copy carries the first
    enqueue time and the receive count, and the batch is split by bytes (1 MiB) as well as count."""
    failures, to_defer = [], []
    for record in event["Records"]:
        body = json.loads(record["body"])
        first = int(record["attributes"]["SentTimestamp"])
        if NOW - first / 1000 > 60:
            count = record["attributes"].get("ApproximateReceiveCount", "1")
            entry = {
                "MessageBody": record["body"],
                "MessageAttributes": {
                    "first-enqueued-ms": {"DataType": "String", "StringValue": str(first)},
                    "receive-count": {"DataType": "String", "StringValue": count},
                },
            }
            to_defer.append((record["messageId"], entry, len(record["body"].encode()) + 60))
            continue
        try:
            process(body, record)
        except Exception:
            failures.append({"itemIdentifier": record["messageId"]})
    groups: list[list[Any]] = []
    total = 1 << 30
    for item in to_defer:
        if total + item[2] > 1_048_576 or len(groups[-1]) == 10:
            groups.append([])
            total = 0
        groups[-1].append(item)
        total += item[2]
    for group in groups:
        for i, (_, entry, _) in enumerate(group):
            entry["Id"] = str(i)
        response = sqs.send_message_batch(QueueUrl="low", Entries=[entry for _, entry, _ in group])
        failures += [{"itemIdentifier": group[int(f["Id"])][0]} for f in response["Failed"]]
    return {"batchItemFailures": failures}


def per_message_cost(
    rounds: int = 9, batches: int = 2000, old_every: int = 2, carrying: bool = False
) -> tuple[float, float, float]:
    """Warm microseconds per message: (library consumer, hand-written loop, median of the per-round
    ratios), same calls, rounds interleaved so both sides see the same load; every ``old_every``-th
    message is old and deferred (2: half, 10: a tenth, 1: all). ``carrying``: compare with the
    hand-written loop that does the same deferral work (``_hand_written_carrying``)."""
    from handlers.resilience.priority import PriorityConsumer

    sqs = _FakeSqs()
    consumer = PriorityConsumer(
        process=lambda body, message: None, sqs=sqs, low_queue_url="low", defer_after_s=60, clock=lambda: NOW
    )
    event = {"Records": _records(10, old_every=old_every)}
    baseline = _hand_written_carrying if carrying else _hand_written

    def timed(fn: Any) -> float:
        start = time.perf_counter()
        for _ in range(batches):
            fn()
        return (time.perf_counter() - start) / (batches * 10) * 1e6

    timed(lambda: consumer.handle(event))  # warm-up, not counted
    ours, theirs = [], []
    for _ in range(rounds):  # interleaved
        ours.append(timed(lambda: consumer.handle(event)))
        theirs.append(timed(lambda: baseline(event, sqs, lambda body, record: None)))
    ratio = statistics.median(a / b for a, b in zip(ours, theirs, strict=True))
    return statistics.median(ours), statistics.median(theirs), ratio
