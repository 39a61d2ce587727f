"""The reference deployment: an orders service composed from the components, one stack per
environment. Everything that differs between environments is a value in
``environments/Pulumi.<stack>.yaml``; this file has no ``if stack == ...``.
"""

import pulumi
import pulumi_aws as aws
from resilient_serverless.components import ResilientFunction, physical_name, stack_tags
from resilient_serverless.components.rules import waive

from environments.settings import load_settings

settings = load_settings()  # validates every key before any resource is registered
for rule_id, reason in settings.waived_rules().items():
    waive(rule_id, reason)
project, stack = pulumi.get_project(), pulumi.get_stack()
tags = stack_tags("reference-deployment")

ops_topic = aws.sns.Topic("ops-alarms", name=physical_name("sns", project, stack, "ops-alarms"), tags=tags)
for email in filter(None, [settings.alarm_email]):
    aws.sns.TopicSubscription("ops-alarms-email", topic=ops_topic.arn, protocol="email", endpoint=email)

orders_table = aws.dynamodb.Table(
    "orders",
    name=physical_name("dynamodb", project, stack, "orders"),
    billing_mode="PAY_PER_REQUEST",
    hash_key="order_id",
    attributes=[{"name": "order_id", "type": "S"}],
    point_in_time_recovery={"enabled": True},
    server_side_encryption={"enabled": True},
    ttl={"attribute_name": "expires_at", "enabled": True},
    tags=tags,
)

# The package holds the handlers directory as the importable package "handlers".
code = pulumi.AssetArchive({"handlers": pulumi.FileArchive("./handlers")})
common = {
    "code": code,
    "memory": settings.function_memory,
    "architecture": settings.architecture,
    "log_level": settings.log_level,
    "log_retention_days": settings.log_retention_days,
    "tracing": settings.tracing,
    "powertools": settings.powertools,
    "account_concurrency": settings.account_concurrency,
    "alarm_topic_arn": ops_topic.arn,
    "environment": {"ORDERS_TABLE": orders_table.name},
}

# Synchronous reads behind the API: bounded by its timeout and its reserved concurrency.
orders_api = ResilientFunction(
    "orders-api",
    {
        **common,
        "handler": "handlers.orders.lambda_handler",
        "invocation": "sync",
        "timeout": settings.function_timeout,
        "reserved_concurrency": settings.reserved_concurrency,
        "provisioned_concurrency": settings.provisioned_concurrency,
        "description": "GET /orders/{order_id}",
    },
)
orders_api.grants.allow("read-orders", ["dynamodb:GetItem"], [orders_table.arn])

# Writes are accepted asynchronously: no caller waits on them, failures land in the DLQ.
ingest = ResilientFunction(
    "ingest",
    {
        **common,
        "handler": "handlers.ingest.lambda_handler",
        "invocation": "async",
        "reserved_concurrency": settings.reserved_concurrency,
        "async_max_retries": settings.async_max_retries,
        "async_max_event_age": settings.async_max_event_age,
        "description": "Accepts orders asynchronously (idempotent on order_id)",
    },
)
ingest.grants.allow("write-orders", ["dynamodb:PutItem"], [orders_table.arn])

pulumi.export("orders_table", orders_table.name)
pulumi.export("ops_topic_arn", ops_topic.arn)
pulumi.export("orders_api_function", orders_api.function_name)
pulumi.export("orders_api_target_arn", orders_api.target_arn)
pulumi.export("ingest_function", ingest.function_name)
pulumi.export("ingest_dlq_arn", ingest.dlq_arn)
