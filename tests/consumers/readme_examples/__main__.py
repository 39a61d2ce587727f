"""The README's component examples as written, in one program. The only lines of our own are the
names the snippets take as given (queue, rule, writer, code, table, topic)."""

import json

import pulumi
import pulumi_aws as aws
from resilient_serverless.components import (
    AsyncJobWorkflow,
    Operations,
    PriorityQueuePair,
    ResilientFunction,
    ThrottledApi,
    WebSocketNotifier,
    package_function,
)

# --- what the snippets take as given
dead = aws.sqs.Queue("outbox-dlq", sqs_managed_sse_enabled=True, message_retention_seconds=1_209_600)
queue = aws.sqs.Queue(
    "outbox",
    sqs_managed_sse_enabled=True,
    redrive_policy=dead.arn.apply(lambda arn: json.dumps({"deadLetterTargetArn": arn, "maxReceiveCount": 5})),
)
rule = aws.cloudwatch.EventRule("nightly", schedule_expression="rate(1 day)")
topic = aws.sns.Topic("ops")
table = aws.dynamodb.Table(
    "orders-table", billing_mode="PAY_PER_REQUEST", hash_key="order_id", attributes=[{"name": "order_id", "type": "S"}]
)
orders_table = table

# --- "Using the components from another Pulumi program"
orders = ResilientFunction(
    "orders",
    {
        "handler": "handlers.orders.lambda_handler",
        "code": "./build/orders",  # a directory, any pulumi.Archive, or package_function(...) (below)
        "invocation": "async",  # sync | async | queue: drives the defaults
        "timeout": 20,
        "alarm_topic_arn": topic.arn,  # every alarm reaches a person (or the plan says it does not)
        "transform": {"function": {"ephemeral_storage": {"size": 1024}}},  # escape hatch per child
    },
)
orders.grants.send_to(queue)  # least-privilege inline policy
orders.grant_invoke("events", "events.amazonaws.com", rule.arn)

# --- "Packaging a handler"
code = package_function(
    "./src",  # your code; its contents land at the package root
    architecture="arm64",  # as the function's: arm64 | x86_64
    handlers=["orders.api.handle"],  # checked now: the module exists and defines it
)
api_fn = ResilientFunction(
    "orders-api", {"handler": "orders.api.handle", "code": code, "architecture": "arm64", "alarm_topic_arn": topic.arn}
)
writer = ResilientFunction(
    "orders-writer",
    {"handler": "orders.api.handle", "code": code, "invocation": "async", "alarm_topic_arn": topic.arn},
)

# --- "PriorityQueuePair: what you get by default"
inbox = PriorityQueuePair(
    "orders-inbox",
    {
        "handler": "ingest.lambda_handler",  # built with consumer_from_env (below)
        "code": code,
        "consumer": {"timeout": 10, "environment": {"ORDERS_TABLE": table.name}},
        "defer_after_s": 60,  # older messages step aside to the low queue
        "ttl_s": None,  # set it only for data that goes stale (device readings)
        "max_concurrency": {"high": 10, "low": 2},
        "alarm_topic_arn": topic.arn,
    },
)

# --- "ThrottledApi: what you get by default" (its GET route on the sync function above)
api = ThrottledApi(
    "orders",
    {
        "flavor": "rest",  # or "http"
        "throttle": {"rate": 100, "burst": 200},  # stage default
        "alarm_topic_arn": topic.arn,
        "routes": [
            {"method": "GET", "path": "/orders/{order_id}", "function": api_fn, "expected_latency_ms": 80},
            {
                "method": "POST",
                "path": "/orders",
                "queue": inbox,  # an aws.sqs.Queue, or a PriorityQueuePair (its high queue)
                "auth": {"type": "iam"},  # or jwt (HTTP), cognito / lambda (REST)
                "throttle": {"rate": 20, "burst": 40},
            },
            {
                "method": "PUT",
                "path": "/orders/{order_id}",
                "function": writer,
                "mode": "async",
                "body_schema": {"type": "object", "required": ["items"]},
            },
        ],
        "usage_plans": {"acme": {"rate": 10, "burst": 20, "quota": {"limit": 10000, "period": "DAY"}}},
    },
)

# --- "WebSocketNotifier" and "AsyncJobWorkflow: what you get by default"
push = WebSocketNotifier("job-push", {"alarm_topic_arn": topic.arn})
renderer = ResilientFunction(
    "report-renderer",
    {"handler": "reports.render", "code": code, "invocation": "async", "timeout": 120, "alarm_topic_arn": topic.arn},
)
reports = AsyncJobWorkflow(
    "reports", {"worker": renderer, "path": "/reports", "push": push, "alarm_topic_arn": topic.arn}
)
# one API can front several workflows
front = ThrottledApi("front", {"routes": [*reports.routes], "alarm_topic_arn": topic.arn})

# --- "Operations"
ops = Operations("ops", {"alarm_topic_arn": topic.arn, "tables": [orders_table]})  # collects the rest
pulumi.export("orders_url", api.url)
pulumi.export("jobs_url", front.url)
