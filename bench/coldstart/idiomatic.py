"""The same handler written the way Powertools documents it: eager Logger, Tracer, Metrics."""

from typing import Any

import boto3
from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit

logger = Logger()
tracer = Tracer()
metrics = Metrics()
client = boto3.client("dynamodb")


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, bool]:
    metrics.add_metric(name="Hit", unit=MetricUnit.Count, value=1)
    logger.info("hit")
    return {"ok": True}
