"""Accept an order asynchronously: validate it, then write it once (idempotent on order_id).

Invoked with ``InvocationType=Event``: nobody waits, so failures are handled by the function's
async config. A malformed order is never retried: it goes straight to the DLQ with the reason as
a message attribute. A transient fault raises, so Lambda retries and then dead-letters it.
"""

from __future__ import annotations

import json
import os
import time
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit

from .resilience.backoff import Deadline, retry
from .resilience.clients import aws_client
from .resilience.observability import logger, metrics, tracer

TABLE = os.environ.get("ORDERS_TABLE", "orders")
DLQ_URL = os.environ.get("RESILIENT_DLQ_URL", "")
ORDER_TTL_S = 90 * 24 * 3600
dynamodb = aws_client("dynamodb")
sqs = aws_client("sqs")


class InvalidOrder(ValueError):
    pass


def validate(event: dict[str, Any]) -> dict[str, Any]:
    """The order fields, or ``InvalidOrder`` naming the first bad field."""
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


def dead_letter(event: dict[str, Any], reason: str) -> None:
    sqs.send_message(
        QueueUrl=DLQ_URL,
        MessageBody=json.dumps(event, default=str),
        MessageAttributes={"reason": {"DataType": "String", "StringValue": reason[:256]}},
    )


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


def handle(event: dict[str, Any], deadline: Deadline, now: float) -> str:
    """``stored``, ``duplicate`` or ``dead-lettered``; transient faults raise for Lambda to retry."""
    try:
        order = validate(event)
    except InvalidOrder as bad:
        logger.warning("invalid order dead-lettered", extra={"reason": str(bad)})
        dead_letter(event, str(bad))
        metrics.add_metric(name="OrdersRejected", unit=MetricUnit.Count, value=1)
        return "dead-lettered"
    try:
        stored = store(order, deadline, now)
    except Exception:
        metrics.add_metric(name="OrdersFailed", unit=MetricUnit.Count, value=1)
        raise  # transient: Lambda retries, then the on-failure destination keeps the event
    if stored:
        metrics.add_metric(name="OrdersAccepted", unit=MetricUnit.Count, value=1)
        return "stored"
    metrics.add_metric(name="OrdersDuplicate", unit=MetricUnit.Count, value=1)
    return "duplicate"


@logger.inject_lambda_context
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, str]:
    return {"outcome": handle(event, Deadline.from_context(context), time.time())}
