"""The socket function: one Lambda behind the four WebSocket routes, dispatching on the route key.

One function (not four) keeps one warm pool and one reserved-concurrency budget for the socket,
apart from the notify function of the workflow.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit

from ..resilience.observability import logger, metrics
from .connect import connect
from .default import default
from .deps import PushDeps, deps_from_env
from .disconnect import disconnect
from .protocol import FrameError, error_answer
from .subscribe import subscribe

__all__ = ["handle", "lambda_handler"]

NO_CONNECTION = FrameError("bad_request", "the event names no connection")


def handle(event: dict[str, Any], deps: PushDeps) -> dict[str, Any]:
    context = event.get("requestContext")
    if not isinstance(context, dict) or not isinstance(context.get("connectionId"), str):
        # API Gateway always sends one; anything else did not come through the WebSocket API.
        return error_answer(NO_CONNECTION)
    route = context.get("routeKey")
    if route == "$connect":
        return connect(event, deps)
    if route == "$disconnect":
        return disconnect(event, deps)
    if route == "subscribe":
        return subscribe(event, deps)
    return default(event)


@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    response = handle(event, deps_from_env())
    route = str((event.get("requestContext") or {}).get("routeKey", "unknown")).lstrip("$")
    metrics.add_metric(name=f"Socket{route.title()}{response['statusCode'] // 100}xx", unit=MetricUnit.Count, value=1)
    return response
