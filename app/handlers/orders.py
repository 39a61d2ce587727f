"""GET /orders/{order_id}: a synchronous read behind API Gateway (REST or HTTP API events).

Bounded: the DynamoDB client times out in seconds, retries stop at the invocation's deadline,
and a circuit breaker answers 503 with Retry-After at once while the table is failing, instead
of holding a concurrency slot for a call that will not succeed.
"""

from __future__ import annotations

import functools
import json
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from resilient_serverless.handlers.resilience.backoff import Deadline, retry
from resilient_serverless.handlers.resilience.breaker import CircuitBreaker, CircuitOpenError
from resilient_serverless.handlers.resilience.clients import aws_client
from resilient_serverless.handlers.resilience.observability import logger, metrics, tracer

from .contract import read_module


@functools.cache
def orders_table() -> str:
    """The table from the function's environment (the runtime contract), read at the first
    request: importing the module needs no deployment."""
    return str(read_module("app.handlers.orders")["ORDERS_TABLE"])


dynamodb = aws_client("dynamodb")
breaker = CircuitBreaker("orders-table", failure_threshold=5, reset_timeout_s=30)


def _response(status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> dict[str, Any]:
    return {
        "statusCode": status,
        "headers": {"Content-Type": "application/json", **(headers or {})},
        "body": json.dumps(body),
    }


def get_order(order_id: str, deadline: Deadline) -> dict[str, Any]:
    """The API response for one order id."""
    if not order_id or len(order_id) > 64:
        return _response(400, {"message": "order_id must be 1 to 64 characters"})
    try:
        item = breaker.call(
            lambda: retry(
                lambda: dynamodb.get_item(TableName=orders_table(), Key={"order_id": {"S": order_id}}),
                deadline=deadline,
            ).get("Item")
        )
    except CircuitOpenError as open_circuit:
        metrics.add_metric(name="CircuitOpen", unit=MetricUnit.Count, value=1)
        return _response(
            503,
            {"message": "orders are temporarily unavailable"},
            {"Retry-After": str(max(1, round(open_circuit.retry_after)))},
        )
    if item is None:
        return _response(404, {"message": f"order {order_id!r} not found"})
    return _response(200, {"order_id": order_id, "status": item.get("status", {}).get("S", "unknown")})


@logger.inject_lambda_context
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    order_id = (event.get("pathParameters") or {}).get("order_id", "")
    response = get_order(order_id, Deadline.from_context(context))
    metrics.add_metric(name=f"Responses{response['statusCode'] // 100}xx", unit=MetricUnit.Count, value=1)
    return response
