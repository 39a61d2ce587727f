"""A user's function: packaged with package_function, async, allowed to send to a queue and to be
invoked by an EventBridge rule (README: "Using the components", "Packaging a handler")."""

import json

import pulumi
import pulumi_aws as aws
from resilient_serverless.components import ResilientFunction, package_function

code = package_function("./src", architecture="arm64", handlers=["orders.api.handle"])
dead = aws.sqs.Queue("outbox-dlq", sqs_managed_sse_enabled=True, message_retention_seconds=1_209_600)
queue = aws.sqs.Queue(
    "outbox",
    sqs_managed_sse_enabled=True,
    redrive_policy=dead.arn.apply(lambda arn: json.dumps({"deadLetterTargetArn": arn, "maxReceiveCount": 5})),
)
rule = aws.cloudwatch.EventRule("nightly", schedule_expression="rate(1 day)")
orders = ResilientFunction(
    "orders",
    {
        "handler": "orders.api.handle",
        "code": code,
        "invocation": "async",
        "timeout": 20,
        "architecture": "arm64",
        "transform": {"function": {"ephemeral_storage": {"size": 1024}}},
    },
)
orders.grants.send_to(queue)
orders.grant_invoke("events", "events.amazonaws.com", rule.arn)
pulumi.export("function_arn", orders.function_arn)
pulumi.export("queue_url", queue.url)
