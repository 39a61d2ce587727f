"""The reference deployment: an orders service composed from the components, one stack per
environment. Everything that differs between environments is a value in
``environments/Pulumi.<stack>.yaml``; this file has no ``if stack == ...``.

    client --GET /orders/{id}--> ThrottledApi --sync--> orders-api --> orders table
    client --POST /orders------> ThrottledApi --SQS--> orders-inbox --> ingest --> orders table
                                                            '-> inbox DLQ (poison and failed orders)
"""

import json

import pulumi
import pulumi_aws as aws
from resilient_serverless.components import (
    ApiGatewayAccount,
    ResilientFunction,
    ThrottledApi,
    physical_name,
    stack_tags,
)
from resilient_serverless.components.queues import visibility_timeout_for
from resilient_serverless.components.rules import waive

from environments.settings import load_settings

settings = load_settings()  # validates every key before any resource is registered
for rule_id, reason in settings.waived_rules().items():
    waive(rule_id, reason)
project, stack = pulumi.get_project(), pulumi.get_stack()
tags = stack_tags("reference-deployment")
INGEST_BATCH_WINDOW_S = 1
INBOX_MAX_RECEIVES = 5

ops_topic = aws.sns.Topic("ops-alarms", name=physical_name("sns", project, stack, "ops-alarms"), tags=tags)
for email in filter(None, [settings.alarm_email]):
    aws.sns.TopicSubscription("ops-alarms-email", topic=ops_topic.arn, protocol="email", endpoint=email)
for _ in filter(None, [settings.api_gateway_account_role]):
    ApiGatewayAccount("apigateway-account")

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
    "timeout": settings.function_timeout,
    "memory": settings.function_memory,
    "architecture": settings.architecture,
    "log_level": settings.log_level,
    "log_retention_days": settings.log_retention_days,
    "tracing": settings.tracing,
    "powertools": settings.powertools,
    "account_concurrency": settings.account_concurrency,
    "alarm_topic_arn": ops_topic.arn,
}

# Synchronous reads behind the API: bounded by their timeout and their reserved concurrency.
orders_api = ResilientFunction(
    "orders-api",
    {
        **common,
        "handler": "handlers.orders.lambda_handler",
        "invocation": "sync",
        "reserved_concurrency": settings.reserved_concurrency,
        "provisioned_concurrency": settings.provisioned_concurrency,
        "environment": {"ORDERS_TABLE": orders_table.name},
        "description": "GET /orders/{order_id}",
    },
)
orders_api.grants.allow("read-orders", ["dynamodb:GetItem"], [orders_table.arn])

# Writes go straight from the API into a queue: no Lambda on the request path, and a spike
# waits in the inbox instead of failing. ingest drains it at its own, bounded pace.
inbox_dlq = aws.sqs.Queue(
    "orders-inbox-dlq",
    name=physical_name("sqs", project, stack, "orders-inbox-dlq"),
    message_retention_seconds=1_209_600,  # 14 days: longer than the inbox keeps anything
    sqs_managed_sse_enabled=True,
    tags=tags,
)
inbox = aws.sqs.Queue(
    "orders-inbox",
    name=physical_name("sqs", project, stack, "orders-inbox"),
    visibility_timeout_seconds=visibility_timeout_for(settings.function_timeout, INGEST_BATCH_WINDOW_S),
    message_retention_seconds=345_600,  # 4 days
    sqs_managed_sse_enabled=True,
    redrive_policy=inbox_dlq.arn.apply(
        lambda arn: json.dumps({"deadLetterTargetArn": arn, "maxReceiveCount": INBOX_MAX_RECEIVES})
    ),
    tags=tags,
)
ingest = ResilientFunction(
    "ingest",
    {
        **common,
        "handler": "handlers.ingest.lambda_handler",
        "invocation": "queue",
        "environment": {"ORDERS_TABLE": orders_table.name, "RESILIENT_DLQ_URL": inbox_dlq.url},
        "description": "Drains the order inbox (idempotent on order_id; poison orders to the DLQ)",
    },
)
consume = ingest.grants.consume_from(inbox)
ingest.grants.send_to(inbox_dlq)
ingest.grants.allow("write-orders", ["dynamodb:PutItem"], [orders_table.arn])
aws.lambda_.EventSourceMapping(
    "ingest-inbox",
    event_source_arn=inbox.arn,
    function_name=ingest.function.name,
    batch_size=10,
    maximum_batching_window_in_seconds=INGEST_BATCH_WINDOW_S,
    function_response_types=["ReportBatchItemFailures"],
    scaling_config={"maximum_concurrency": settings.ingest_max_concurrency},
    tags=tags,
    opts=pulumi.ResourceOptions(depends_on=[consume]),
)
for queue, metric, threshold, what in [
    (inbox, "ApproximateAgeOfOldestMessage", 300, "orders wait in the inbox for more than 5 minutes"),
    (inbox_dlq, "ApproximateNumberOfMessagesVisible", 0, "orders are in the dead-letter queue"),
]:
    aws.cloudwatch.MetricAlarm(
        f"{queue._name}-alarm",
        name=physical_name("alarm", project, stack, queue._name, metric),
        namespace="AWS/SQS",
        metric_name=metric,
        dimensions={"QueueName": queue.name},
        statistic="Maximum",
        threshold=threshold,
        comparison_operator="GreaterThanThreshold",
        period=60,
        evaluation_periods=1,
        treat_missing_data="notBreaching",
        alarm_description=what,
        alarm_actions=[ops_topic.arn],
        ok_actions=[ops_topic.arn],
        tags=tags,
    )

api = ThrottledApi(
    "orders",
    {
        "flavor": settings.api_flavor,
        "throttle": {"rate": settings.api_rate_limit, "burst": settings.api_burst_limit},
        "log_retention_days": settings.log_retention_days,
        "alarm_topic_arn": ops_topic.arn,
        "routes": [
            # A DynamoDB GetItem answers in tens of milliseconds; 100 ms is the planning figure.
            {"method": "GET", "path": "/orders/{order_id}", "function": orders_api, "expected_latency_ms": 100},
            {"method": "POST", "path": "/orders", "queue": inbox},
        ],
    },
)

pulumi.export("api_url", api.url)
pulumi.export("orders_table", orders_table.name)
pulumi.export("ops_topic_arn", ops_topic.arn)
pulumi.export("orders_api_function", orders_api.function_name)
pulumi.export("orders_api_target_arn", orders_api.target_arn)
pulumi.export("ingest_function", ingest.function_name)
pulumi.export("orders_inbox_url", inbox.url)
pulumi.export("orders_inbox_dlq_url", inbox_dlq.url)
