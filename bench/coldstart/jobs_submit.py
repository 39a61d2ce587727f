"""The job API's submit handler, cold: its module, its two clients (DynamoDB and SQS, created on
first use in a real invocation), and one request that is refused by validation (no network)."""

from typing import Any

from handlers.jobs import common, submit

common.client("dynamodb")
common.client("sqs")


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return submit.lambda_handler(
        {"httpMethod": "POST", "headers": {"content-type": "application/json"}, "body": "{}"}, context
    )
