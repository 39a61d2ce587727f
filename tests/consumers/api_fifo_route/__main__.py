"""An HTTP API whose only route sends to a raw FIFO queue, grouped by a path parameter and
deduplicated by request id (README: "Async and queue routes forward an envelope")."""

import json

import pulumi
import pulumi_aws as aws
from resilient_serverless.components import ThrottledApi

dead = aws.sqs.Queue(
    "ledger-dlq",
    fifo_queue=True,
    name="ledger-dlq.fifo",
    sqs_managed_sse_enabled=True,
    message_retention_seconds=1_209_600,
)
ledger = aws.sqs.Queue(
    "ledger",
    fifo_queue=True,
    name="ledger.fifo",
    sqs_managed_sse_enabled=True,
    redrive_policy=dead.arn.apply(lambda arn: json.dumps({"deadLetterTargetArn": arn, "maxReceiveCount": 5})),
)
api = ThrottledApi(
    "ledger",
    {
        "flavor": "http",
        "routes": [
            {
                "method": "POST",
                "path": "/accounts/{account_id}/entries",
                "queue": ledger,
                "group_id": "path.account_id",
                "dedup_id": "request_id",
                "auth": {"type": "iam"},
            }
        ],
    },
)
pulumi.export("url", api.url)
