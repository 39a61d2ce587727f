"""The same handler on the library: Powertools Logger, Metrics and Tracer (daemon provider)."""

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit

from handlers.resilience.clients import aws_client
from handlers.resilience.observability import logger, metrics, tracer

client = aws_client("dynamodb")


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, bool]:
    metrics.add_metric(name="Hit", unit=MetricUnit.Count, value=1)
    logger.info("hit")
    return {"ok": True}
