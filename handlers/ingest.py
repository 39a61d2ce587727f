"""Drain the order inbox (a PriorityQueuePair): validate each order, write it once.

The queue mechanics live in ``resilience.priority``: every message ends processed, deferred (high
queue, older than a minute), dead-lettered (malformed: at once, with the reason) or failed
(transient: retried by SQS, then redriven to the DLQ). This module only says what a valid order
is and how to store one; storing is idempotent on ``order_id`` (SQS delivers at least once).
"""

from __future__ import annotations

import json
import os
import time
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit

from .resilience.backoff import Deadline, retry
from .resilience.clients import aws_client
from .resilience.envelope import read_envelope
from .resilience.observability import logger, metrics, tracer
from .resilience.priority import SqsMessage, consumer_from_env

TABLE = os.environ.get("ORDERS_TABLE", "orders")
ORDER_TTL_S = 90 * 24 * 3600
dynamodb = aws_client("dynamodb")
_deadline = Deadline.after(0)  # replaced at the start of every invocation


class InvalidOrder(ValueError):
    pass


def validate(event: Any) -> dict[str, Any]:
    """The order fields, or ``InvalidOrder`` naming the first bad field."""
    # The API forwards the request's envelope; a producer other than the API sends the bare order.
    event = read_envelope(event).body if isinstance(event, dict) else event
    if not isinstance(event, dict):
        raise InvalidOrder(f"the order must be a JSON object, got {type(event).__name__}")
    order_id = event.get("order_id")
    if not isinstance(order_id, str) or not 1 <= len(order_id) <= 64:
        raise InvalidOrder(f"order_id={order_id!r} must be a string of 1 to 64 characters")
    items = event.get("items")
    if not isinstance(items, list) or not 1 <= len(items) <= 100:
        raise InvalidOrder(f"items must be a list of 1 to 100 entries, got {type(items).__name__}")
    for i, item in enumerate(items):
        qty = item.get("qty") if isinstance(item, dict) else None
        if (
            not isinstance(item, dict)
            or not isinstance(item.get("sku"), str)
            or isinstance(qty, bool)
            or not isinstance(qty, int)
            or not 1 <= qty <= 1000
        ):
            raise InvalidOrder(f"items[{i}]={item!r} needs sku (string) and qty (1 to 1000)")
    return {"order_id": order_id, "items": items}


def reason_invalid(body: Any) -> str | None:
    """None for a valid order, else why not (the DLQ message carries it)."""
    try:
        validate(body)
    except InvalidOrder as bad:
        return str(bad)
    return None


def store(order: dict[str, Any], deadline: Deadline, now: float) -> bool:
    """Write the order unless it exists; True when written, False for a duplicate."""
    from botocore.exceptions import ClientError  # noqa: PLC0415

    def put() -> Any:
        return dynamodb.put_item(
            TableName=TABLE,
            Item={
                "order_id": {"S": order["order_id"]},
                "status": {"S": "accepted"},
                "items": {"S": json.dumps(order["items"])},
                "expires_at": {"N": str(int(now) + ORDER_TTL_S)},
            },
            ConditionExpression="attribute_not_exists(order_id)",
        )

    try:
        retry(put, deadline=deadline)
    except ClientError as error:
        if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
            return False
        raise
    return True


def process(body: Any, message: SqsMessage) -> None:
    stored = store(validate(body), _deadline, time.time())
    metrics.add_metric(name="OrdersAccepted" if stored else "OrdersDuplicate", unit=MetricUnit.Count, value=1)


consumer = consumer_from_env(process, validate=reason_invalid)


@logger.inject_lambda_context
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    global _deadline  # noqa: PLW0603 (one deadline per invocation, read by process)
    _deadline = Deadline.from_context(context)
    return consumer.handle(event)
