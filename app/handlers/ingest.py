"""Drain the order inbox (a PriorityQueuePair): validate each order, write the newest version.

The queue mechanics live in ``resilience.priority``: every message ends processed, deferred (high
queue, older than a minute), dead-lettered (malformed, or an order DynamoDB can never store: at
once, with the reason) or failed (transient: retried by SQS, then redriven to the DLQ). This
module only says what a valid order is and how to store one.

Writes are versioned, because SQS delivers at least once and clients resend corrections: an
order carries ``version`` (an integer the client raises with each change, e.g. a timestamp in
milliseconds; default 0). A write succeeds only where the stored version is older; an exact
replay (same version, same content, e.g. a redelivery or a retry after a lost response) is a
no-op counted as ``OrdersDuplicate``; an older version is counted (``OrdersStale``) and logged,
and so is the same version with other content (``OrdersConflict``).
"""

from __future__ import annotations

import functools
import hashlib
import json
import time
from typing import Any, Literal

from aws_lambda_powertools.metrics import MetricUnit
from resilient_serverless.handlers.resilience.backoff import Deadline, retry
from resilient_serverless.handlers.resilience.clients import aws_client
from resilient_serverless.handlers.resilience.envelope import read_envelope
from resilient_serverless.handlers.resilience.observability import logger, metrics, tracer
from resilient_serverless.handlers.resilience.priority import PoisonMessage, SqsMessage, consumer_from_env

from .contract import read_module


@functools.cache
def orders_table() -> str:
    """The table from the function's environment (the runtime contract), read at the first
    request: importing the module needs no deployment."""
    return str(read_module("app.handlers.ingest")["ORDERS_TABLE"])


ORDER_TTL_S = 90 * 24 * 3600
MAX_VERSION = 2**53  # exact in every JSON reader
StoreResult = Literal["written", "replay", "stale", "conflict"]
dynamodb = aws_client("dynamodb")
_deadline = Deadline(float("inf"))  # no deadline outside an invocation; replaced at the start of each


class InvalidOrder(PoisonMessage):
    """A malformed order: dead-lettered at once with this reason (a ``ValueError``)."""


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
    version = event.get("version", 0)
    if isinstance(version, bool) or not isinstance(version, int) or not 0 <= version <= MAX_VERSION:
        raise InvalidOrder(f"version={version!r} must be an integer from 0 to {MAX_VERSION}")
    return {"order_id": order_id, "items": items, "version": version}


def reason_invalid(body: Any) -> str | None:
    """None for a valid order, else why not (the DLQ message carries it)."""
    try:
        validate(body)
    except InvalidOrder as bad:
        return str(bad)
    return None


def _digest(order: dict[str, Any]) -> str:
    """What makes two writes of one version the same write."""
    canonical = json.dumps({"items": order["items"], "version": order["version"]}, sort_keys=True)
    return hashlib.sha256(canonical.encode("utf-8", "surrogatepass")).hexdigest()


def store(order: dict[str, Any], deadline: Deadline, now: float) -> StoreResult:
    """Write the order where no newer version is stored: ``written``; ``replay`` for the same
    version and content; ``stale`` for an older version; ``conflict`` for the same version with
    other content (the stored one stays)."""
    from botocore.exceptions import ClientError  # noqa: PLC0415

    digest = _digest(order)
    attempts = [0]

    def put() -> Any:
        attempts[0] += 1
        return dynamodb.put_item(
            TableName=orders_table(),
            Item={
                "order_id": {"S": order["order_id"]},
                "status": {"S": "accepted"},
                "items": {"S": json.dumps(order["items"])},
                "version": {"N": str(order["version"])},
                "digest": {"S": digest},
                "expires_at": {"N": str(int(now) + ORDER_TTL_S)},
            },
            ConditionExpression="attribute_not_exists(order_id) OR version < :v",
            ExpressionAttributeValues={":v": {"N": str(order["version"])}},
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
        )

    try:
        retry(put, deadline=deadline)
    except ClientError as error:
        if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
            raise
        stored: dict[str, Any] = dict(error.response.get("Item") or {})  # type: ignore[call-overload]
        stored_version = int(stored.get("version", {}).get("N", "0"))
        if stored.get("digest", {}).get("S") == digest:
            # Our own earlier attempt wrote it when only its response was lost; else a redelivery.
            return "written" if attempts[0] > 1 else "replay"
        result: StoreResult = "stale" if stored_version > order["version"] else "conflict"
        logger.warning(
            f"order write refused: {result}",
            extra={"order_id": order["order_id"], "version": order["version"], "stored_version": stored_version},
        )
        return result
    return "written"


METRIC_NAMES: dict[StoreResult, str] = {
    "written": "OrdersAccepted",
    "replay": "OrdersDuplicate",
    "stale": "OrdersStale",
    "conflict": "OrdersConflict",
}


def process(body: Any, message: SqsMessage) -> None:
    result = store(validate(body), _deadline, time.time())
    metrics.add_metric(name=METRIC_NAMES[result], unit=MetricUnit.Count, value=1)


consumer = consumer_from_env(process, validate=reason_invalid)


@logger.inject_lambda_context
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    global _deadline  # noqa: PLW0603 (one deadline per invocation, read by process)
    _deadline = Deadline.from_context(context)
    return consumer.handle(event, context)
