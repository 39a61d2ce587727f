"""ThrottledApi with a GET route to a function and a POST route straight into a plain SQS queue
that no Lambda drains (README: "ThrottledApi: what you get by default")."""

import json

import pulumi
import pulumi_aws as aws
from resilient_serverless.components import ResilientFunction, ThrottledApi, package_function

code = package_function("./src", handlers=["orders.lookup"])
orders = ResilientFunction("orders", {"handler": "orders.lookup", "code": code})
dead = aws.sqs.Queue("inbox-dlq", sqs_managed_sse_enabled=True, message_retention_seconds=1_209_600)
inbox = aws.sqs.Queue(
    "inbox",
    sqs_managed_sse_enabled=True,
    redrive_policy=dead.arn.apply(lambda arn: json.dumps({"deadLetterTargetArn": arn, "maxReceiveCount": 5})),
)
api = ThrottledApi(
    "orders",
    {
        "flavor": "rest",
        "throttle": {"rate": 100, "burst": 200},
        "routes": [
            {"method": "GET", "path": "/orders/{order_id}", "function": orders, "expected_latency_ms": 80},
            {
                "method": "POST",
                "path": "/items",
                "queue": inbox,
                "auth": {"type": "iam"},
                "throttle": {"rate": 20, "burst": 40},
            },
        ],
    },
)
pulumi.export("url", api.url)
