"""Helpers shared by the PriorityConsumer tests: SQS Lambda records, fake SQS clients that record
or script their answers, and consumers wired to them."""

from __future__ import annotations

import json
from typing import Any

from handlers.resilience.priority import PriorityConsumer, SqsMessage

NOW = 1_800_000_000.0


def record(message_id: str, body: str, age_s: float = 1.0, **attributes: str) -> dict[str, Any]:
    return {
        "messageId": message_id,
        "receiptHandle": f"rh-{message_id}",
        "body": body,
        "attributes": {"SentTimestamp": str(int((NOW - age_s) * 1000)), "ApproximateReceiveCount": "1", **attributes},
        "messageAttributes": {},
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


def _recording(**kwargs: Any) -> tuple[PriorityConsumer, list[str], list[list[dict[str, Any]]]]:
    processed: list[str] = []
    sent: list[list[dict[str, Any]]] = []

    class Sqs:
        def send_message_batch(self, QueueUrl: str, Entries: list[dict[str, Any]]) -> dict[str, Any]:
            sent.append(Entries)
            return {"Successful": [{"Id": e["Id"]} for e in Entries], "Failed": []}

    args = {"process": lambda body, message: processed.append(message.message_id), "sqs": Sqs(), **kwargs}
    return PriorityConsumer(**args), processed, sent


def _aged(message_id: str, age_ms: int, now_s: float = 1_800_000_000.0) -> dict[str, Any]:
    sent = int(now_s * 1000) - age_ms
    return {"messageId": message_id, "body": "{}", "attributes": {"SentTimestamp": str(sent)}, "messageAttributes": {}}


class ScriptedSqs:
    """Answers each send_message_batch call in turn: "ok", "raise", or a set of entry positions
    to refuse; keeps every call's entries."""

    def __init__(self, *answers: Any) -> None:
        self.answers = list(answers)
        self.calls: list[tuple[str, list[dict[str, Any]]]] = []

    def send_message_batch(self, QueueUrl: str, Entries: list[dict[str, Any]]) -> dict[str, Any]:
        self.calls.append((QueueUrl, Entries))
        answer = self.answers.pop(0)
        if answer == "raise":
            raise ConnectionError("sqs down")
        refused = set() if answer == "ok" else answer
        return {
            "Successful": [{"Id": e["Id"]} for i, e in enumerate(Entries) if i not in refused],
            "Failed": [{"Id": e["Id"], "Code": "InternalError"} for i, e in enumerate(Entries) if i in refused],
        }


def _deferring(sqs: ScriptedSqs, **kwargs: Any) -> PriorityConsumer:
    return PriorityConsumer(
        process=lambda body, message: None,
        sqs=sqs,
        low_queue_url="low",
        dlq_url="dlq",
        defer_after_s=60,
        clock=lambda: 1_800_000_000.0,
        **kwargs,
    )


def _old_batch(count: int) -> list[dict[str, Any]]:
    return [_aged(f"m{i}", 120_000) for i in range(count)]


CLOCK_NOW = 1_700_000_000.0


def sqs_message(message_id: str, body: Any, age_s: float = 0.0) -> SqsMessage:
    return SqsMessage(
        {
            "messageId": message_id,
            "body": body if isinstance(body, str) else json.dumps(body),
            "attributes": {"SentTimestamp": str(int((CLOCK_NOW - age_s) * 1000))},
            "messageAttributes": {},
        }
    )


class RejectingSqs:
    """SendMessageBatch that accepts the call but lists as ``Failed`` every entry whose body holds
    ``reject``: the partial failure SQS reports per entry with HTTP 200."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []

    def send_message_batch(self, QueueUrl: str, Entries: list[dict[str, Any]]) -> dict[str, Any]:
        ok = [e for e in Entries if "reject" not in e["MessageBody"]]
        bad = [e for e in Entries if "reject" in e["MessageBody"]]
        self.sent += [(QueueUrl, e["MessageBody"]) for e in ok]
        return {
            "Successful": [{"Id": e["Id"], "MessageId": f"new-{e['Id']}"} for e in ok],
            "Failed": [{"Id": e["Id"], "SenderFault": False, "Code": "InternalError"} for e in bad],
        }


def clocked_consumer(sqs: Any, **kwargs: Any) -> PriorityConsumer:
    return PriorityConsumer(process=lambda body, message: None, sqs=sqs, clock=lambda: CLOCK_NOW, **kwargs)
