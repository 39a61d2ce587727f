"""A PriorityQueuePair whose consumer is the user's module built with consumer_from_env
(README: "PriorityQueuePair: what you get by default")."""

import pulumi
import pulumi_aws as aws
from resilient_serverless.components import PriorityQueuePair, package_function

table = aws.dynamodb.Table(
    "orders", billing_mode="PAY_PER_REQUEST", hash_key="order_id", attributes=[{"name": "order_id", "type": "S"}]
)
code = package_function("./src", handlers=["ingest.lambda_handler"])
inbox = PriorityQueuePair(
    "orders-inbox",
    {
        "handler": "ingest.lambda_handler",
        "code": code,
        "consumer": {"timeout": 10, "environment": {"ORDERS_TABLE": table.name}},
        "defer_after_s": 60,
        "ttl_s": None,
        "max_concurrency": {"high": 10, "low": 2},
    },
)
pulumi.export("producer_config", inbox.producer_config)
