"""The job API's submit handler, cold: its module, its two clients (DynamoDB and SQS, created on
first use in a real invocation), and one request that is refused by validation (no network)."""

import os
from typing import Any

# The variables AsyncJobWorkflow gives its submit function (the handlers' contract requires them).
os.environ.update(
    {
        "JOBS_TABLE": "jobs",
        "IDEMPOTENCY_TABLE": "idempotency",
        "RESULTS_BUCKET": "results",
        "STATE_MACHINE_ARN": "arn:aws:states:eu-west-1:123456789012:stateMachine:jobs",
    }
)

from handlers.jobs import common, submit  # after the environment, as in Lambda

common.client("dynamodb")
common.client("sqs")


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return submit.lambda_handler(
        {"httpMethod": "POST", "headers": {"content-type": "application/json"}, "body": "{}"}, context
    )
