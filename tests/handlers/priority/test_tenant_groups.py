"""A standard queue's tenant (its MessageGroupId, what SQS fair queues schedule by) survives every
hop the consumer and the producer make: deferral to the low queue, dead-lettering, surge routing."""

from __future__ import annotations

from typing import Any

import pytest

from handlers.resilience.priority import PriorityConsumer, SqsMessage
from handlers.resilience.routing import Router

from ._support import NOW


class RecordingSqs:
    """Records SendMessageBatch and SendMessage calls and accepts every entry."""

    def __init__(self) -> None:
        self.batches: list[dict[str, Any]] = []
        self.sends: list[dict[str, Any]] = []

    def send_message_batch(self, **kwargs: Any) -> dict[str, Any]:
        self.batches.append(kwargs)
        return {"Successful": [{"Id": e["Id"]} for e in kwargs["Entries"]], "Failed": []}

    def send_message(self, **kwargs: Any) -> dict[str, Any]:
        self.sends.append(kwargs)
        return {"MessageId": "m"}


def tenant_record(
    message_id: str, age_s: float, *, body: str = '{"sku": "mug"}', carried: bool = False
) -> dict[str, Any]:
    attributes = {
        "SentTimestamp": str(int((NOW - age_s) * 1000)),
        "ApproximateReceiveCount": "1",
        "MessageGroupId": "acme",
    }
    given = {"tenant": {"stringValue": "acme", "dataType": "String"}} if carried else {}
    return {"messageId": message_id, "body": body, "attributes": attributes, "messageAttributes": given}


@pytest.mark.parametrize("carried", [False, True], ids=["plain record", "record with producer attributes"])
def test_a_deferred_message_keeps_its_tenant_group(carried: bool) -> None:
    sqs = RecordingSqs()
    consumer = PriorityConsumer(
        lambda body, message: None, sqs, low_queue_url="https://sqs/low", defer_after_s=60, clock=lambda: NOW
    )
    outcomes = consumer.consume([SqsMessage(tenant_record("m-1", 120, carried=carried))])
    assert outcomes == {"m-1": "deferred"}
    (entry,) = sqs.batches[0]["Entries"]
    assert entry["MessageGroupId"] == "acme"
    assert "MessageDeduplicationId" not in entry  # a standard queue refuses one


def test_a_dead_lettered_message_keeps_its_tenant_group() -> None:
    sqs = RecordingSqs()
    consumer = PriorityConsumer(lambda body, message: None, sqs, dlq_url="https://sqs/dlq", clock=lambda: NOW)
    outcomes = consumer.consume([SqsMessage(tenant_record("m-1", 1, body="not json"))])
    assert outcomes == {"m-1": "dead-lettered"}
    (entry,) = sqs.batches[0]["Entries"]
    assert entry["MessageGroupId"] == "acme"


def test_a_message_without_a_group_gets_none_on_deferral() -> None:
    sqs = RecordingSqs()
    consumer = PriorityConsumer(
        lambda body, message: None, sqs, low_queue_url="https://sqs/low", defer_after_s=60, clock=lambda: NOW
    )
    record = tenant_record("m-1", 120)
    del record["attributes"]["MessageGroupId"]
    consumer.consume([SqsMessage(record)])
    assert "MessageGroupId" not in sqs.batches[0]["Entries"][0]


def test_router_sends_the_tenant_as_message_group_on_a_standard_pair() -> None:
    sqs = RecordingSqs()
    router = Router({"high_url": "https://sqs/high"}, sqs, wall_clock=lambda: NOW)
    router.route('{"sku": "mug"}', tenant="acme")
    assert sqs.sends[0]["MessageGroupId"] == "acme"
