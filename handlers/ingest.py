"""Drain the order inbox (SQS): validate each order, then write it once (idempotent on order_id).

Every message ends one of four ways, and each is counted in an EMF metric:
- stored: written to the table;
- duplicate: already there (SQS delivers at least once), deleted;
- dead-lettered: malformed, sent at once to the DLQ with the reason as a message attribute and
  deleted from the inbox (retrying it could never succeed);
- failed: a transient fault; reported in ``batchItemFailures`` so only that message is retried,
  and after ``maxReceiveCount`` receives SQS moves it to the DLQ.
"""

from __future__ import annotations

import json
import os
import time
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from .resilience.backoff import Deadline, retry
from .resilience.clients import aws_client
from .resilience.observability import logger, metrics, tracer

TABLE = os.environ.get("ORDERS_TABLE", "orders")
DLQ_URL = os.environ.get("RESILIENT_DLQ_URL", "")
ORDER_TTL_S = 90 * 24 * 3600
dynamodb = aws_client("dynamodb")
sqs = aws_client("sqs")
processor = BatchProcessor(event_type=EventType.SQS)
_deadline = Deadline.after(0)  # replaced at the start of every invocation


class InvalidOrder(ValueError):
    pass


def validate(event: Any) -> dict[str, Any]:
    """The order fields, or ``InvalidOrder`` naming the first bad field."""
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


def dead_letter(body: str, reason: str) -> None:
    sqs.send_message(
        QueueUrl=DLQ_URL,
        MessageBody=body,
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


def handle(body: str, deadline: Deadline, now: float) -> str:
    """``stored``, ``duplicate`` or ``dead-lettered``; a transient fault raises (the message is retried)."""
    try:
        order = validate(json.loads(body))
    except (InvalidOrder, ValueError) as bad:
        reason = str(bad) if isinstance(bad, InvalidOrder) else f"the body is not JSON: {bad}"
        logger.warning("invalid order dead-lettered", extra={"reason": reason})
        dead_letter(body, reason)
        metrics.add_metric(name="OrdersDeadLettered", unit=MetricUnit.Count, value=1)
        return "dead-lettered"
    try:
        stored = store(order, deadline, now)
    except Exception:
        metrics.add_metric(name="OrdersFailed", unit=MetricUnit.Count, value=1)
        raise  # reported in batchItemFailures: SQS retries it, then redrives it to the DLQ
    metrics.add_metric(name="OrdersAccepted" if stored else "OrdersDuplicate", unit=MetricUnit.Count, value=1)
    return "stored" if stored else "duplicate"


def record_handler(record: SQSRecord) -> str:
    return handle(record.body, _deadline, time.time())


@logger.inject_lambda_context
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: Any) -> PartialItemFailureResponse:
    global _deadline  # noqa: PLW0603 (one deadline per invocation, read by the record handler)
    _deadline = Deadline.from_context(context)
    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
