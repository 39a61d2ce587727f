"""The reference deployment: an orders service composed from the components, one stack per
environment. Everything that differs between environments is a value in
``environments/Pulumi.<stack>.yaml``; this file has no ``if stack == ...``.

    client --GET /orders/{id}--> ThrottledApi --sync--> orders-api --> orders table
    client --POST /orders------> ThrottledApi --SQS--> inbox high --> ingest (high) --> orders table
                                                        | older than 60 s: deferred
                                                        v
                                                       inbox low --> ingest (low) --> orders table
    each queue has its DLQ: poison orders at once (with the reason), failures after 5 receives
"""

import pulumi
import pulumi_aws as aws
from resilient_serverless.components import (
    ApiGatewayAccount,
    AsyncJobWorkflow,
    Operations,
    PriorityQueuePair,
    ResilientFunction,
    ThrottledApi,
    WebSocketNotifier,
    defaults,
    package_function,
    physical_name,
    stack_tags,
)
from resilient_serverless.components.operations.alarm_delivery import AlarmDeliveryDLQ
from resilient_serverless.components.packaging import library_handlers_for
from resilient_serverless.components.rules import waive

from environments.settings import load_settings

settings = load_settings()  # validates every key before any resource is registered
for rule_id, reason in settings.waived_rules().items():
    waive(rule_id, reason)
project, stack = pulumi.get_project(), pulumi.get_stack()
tags = stack_tags("reference-deployment")

ops_topic = aws.sns.Topic("ops-alarms", name=physical_name("sns", project, stack, "ops-alarms"), tags=tags)
# An alarm SNS cannot deliver (a bouncing address, an endpoint down) is kept, not dropped: every
# subscription of the ops topic dead-letters into one queue, which the dashboard shows and alarms.
# A stack with no subscriber has nothing to deliver, and no such queue.
subscribers = [("email", email) for email in filter(None, [settings.alarm_email])]
if subscribers:
    alarm_delivery = AlarmDeliveryDLQ("ops-alarms", {"topic_arn": ops_topic.arn, "alarm_topic_arn": ops_topic.arn})
    for protocol, endpoint in subscribers:
        aws.sns.TopicSubscription(
            f"ops-alarms-{protocol}",
            topic=ops_topic.arn,
            protocol=protocol,
            endpoint=endpoint,
            redrive_policy=alarm_delivery.redrive_policy,
            # SNS may write to the queue only once its policy allows it
            opts=pulumi.ResourceOptions(depends_on=[alarm_delivery.queue_policy]),
        )
# One setting per account and region: the stack files turn it on in exactly one stack per account
# and region (see environments/). The API's REST stage and method settings wait for it.
account = ApiGatewayAccount("apigateway-account") if settings.api_gateway_account_role else None

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

# The reference application (app/: the orders API and the inbox consumers) is packaged as any
# user's code is: its package "app" beside the handler library (resilient_serverless.handlers).
# Built deterministically and cached: a test run's __pycache__ never changes the code hash (which
# would make prod publish a version for nothing).
code = package_function(
    "./app",
    package_name="app",
    architecture=settings.architecture,
    runtime=defaults.FUNCTION_RUNTIME,  # the functions below take the default runtime
    powertools=settings.powertools,
    handlers=["app.handlers.orders.lambda_handler", "app.handlers.ingest.lambda_handler"],
)
# The library's own handlers (the job worker, the workflow's functions), packaged as the
# components package theirs: a top-level "handlers" package.
library_code = library_handlers_for(
    {"architecture": settings.architecture, "runtime": defaults.FUNCTION_RUNTIME, "powertools": settings.powertools}
)
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
        "handler": "app.handlers.orders.lambda_handler",
        "invocation": "sync",
        "reserved_concurrency": settings.reserved_concurrency,
        "provisioned_concurrency": settings.provisioned_concurrency,
        "environment": {"ORDERS_TABLE": orders_table.name},
        "description": "GET /orders/{order_id}",
    },
)
orders_api.grants.allow("read-orders", ["dynamodb:GetItem"], [orders_table.arn])

# Deferral and dead-letter writes are at least once: a consumer that times out between a write and
# its acknowledgement writes again on the next receive. Where the stack file turns the dedup store
# on (each says why), every such write is recorded per message for a day and skipped on a redelivery.
dedup_table = (
    aws.dynamodb.Table(
        "ingest-dedup",
        name=physical_name("dynamodb", project, stack, "ingest-dedup"),
        billing_mode="PAY_PER_REQUEST",
        hash_key="pk",
        attributes=[{"name": "pk", "type": "S"}],
        ttl={"attribute_name": "expires_at", "enabled": True},
        server_side_encryption={"enabled": True},
        tags=tags,
    )
    if settings.ingest_dedup_store
    else None
)

# Writes go straight from the API into a queue: no Lambda on the request path, and a spike
# waits in the inbox instead of failing. Fresh orders go first: an order that waited a minute on
# the high queue steps aside to the low one; malformed ones go to the DLQ with the reason.
inbox = PriorityQueuePair(
    "orders-inbox",
    {
        "handler": "app.handlers.ingest.lambda_handler",
        "code": code,
        "consumer": {
            **{k: v for k, v in common.items() if k != "code"},
            "environment": {"ORDERS_TABLE": orders_table.name},
            "description": "Drains the order inbox (idempotent on order_id)",
        },
        "max_concurrency": {"high": settings.ingest_max_concurrency, "low": 2},
        "alarm_topic_arn": ops_topic.arn,
        "dedup_table": dedup_table,
    },
)
for consumer in inbox.consumers.values():
    consumer.grants.allow("write-orders", ["dynamodb:PutItem"], [orders_table.arn])

# Every route is signed (SigV4) by a caller whose IAM policy allows execute-api:Invoke on it
# (README: "Calling the API"); `apiAuth: none` makes the API public.
auth = {"type": "iam"} if settings.api_auth == "iam" else None

# Push of job results over a WebSocket (off where the platform lacks WebSocket APIs: clients poll).
# The reports workflow takes it as its push channel: submit answers with a subscribe token, and the
# workflow records each job's end, then tells its subscribers (a failed push leaves the job as recorded).
push = (
    WebSocketNotifier(
        "job-push",
        {
            "code": library_code,
            "function": {k: v for k, v in common.items() if k not in ("code", "alarm_topic_arn")},
            "log_retention_days": settings.log_retention_days,
            "gateway_account": account,
            "alarm_topic_arn": ops_topic.arn,
        },
    )
    if settings.push_notifications
    else None
)

# Reports: long work behind the same front door. POST /reports answers 202 with a job id at once;
# Step Functions runs the renderer; GET /reports/{job_id}[/result] polls and fetches. The workflow
# type is a stack setting: Express in dev (cheap, 5-minute bound), Standard in staging and prod
# (exactly-once starts, hour-long reports); see the stack files for each reason.
renderer = ResilientFunction(
    "report-renderer",
    {
        **common,
        "code": library_code,
        "handler": "handlers.jobs.worker.lambda_handler",
        # Invoked by Step Functions, not by the API: its own timeout, below the workflow's bound.
        "invocation": "async",
        "timeout": 120,
        "description": "Renders one report (honours cancellation and its deadline)",
    },
)
reports = AsyncJobWorkflow(
    "reports",
    {
        "worker": renderer,
        "code": library_code,
        "path": "/reports",
        "api_flavor": settings.api_flavor,
        "functions": {k: v for k, v in common.items() if k != "code"},
        "workflow_type": settings.job_workflow_type,
        "execution_timeout_s": settings.job_execution_timeout,
        "starter_max_concurrency": settings.job_starter_max_concurrency,
        "result_url_ttl_s": settings.job_result_url_ttl,
        "alarm_topic_arn": ops_topic.arn,
        **({"push": push} if push is not None else {}),
        **({"auth": auth} if auth else {}),
    },
)

api = ThrottledApi(
    "orders",
    {
        "flavor": settings.api_flavor,
        "throttle": {"rate": settings.api_rate_limit, "burst": settings.api_burst_limit},
        "log_retention_days": settings.log_retention_days,
        "alarm_topic_arn": ops_topic.arn,
        "account": account,
        "account_managed_elsewhere": settings.api_gateway_account_role_managed_elsewhere,
        "routes": [
            # A DynamoDB GetItem answers in tens of milliseconds; 100 ms is the planning figure.
            {
                "method": "GET",
                "path": "/orders/{order_id}",
                "function": orders_api,
                "expected_latency_ms": 100,
                **({"auth": auth} if auth else {}),
            },
            # Each signed caller is a tenant of the inbox: SQS fair queues serve a quiet one first.
            {
                "method": "POST",
                "path": "/orders",
                "queue": inbox,
                **({"auth": auth, "tenant": "principal"} if auth else {}),
            },
            *reports.routes,
        ],
    },
)

# Everything above on one dashboard along the request path, with saved queries and a composite
# alarm per user-facing symptom; the probes that cost money follow the stack's settings.
ops = Operations(
    "ops",
    {
        "alarm_topic_arn": ops_topic.arn,
        "tables": [orders_table],
        "contributor_insights": settings.contributor_insights,
        "canary": {
            "url": api.url,
            "read_path": "/orders/{id}",
            "write_path": "/orders",
            "write_body": {"items": [{"sku": "CANARY", "qty": 1}]},
            "id_field": "order_id",
            # the routes take IAM auth where the stack says so: the canary signs and may call just these
            **(
                {"invoke_arns": [api.invoke_arn("GET", "/orders/{order_id}"), api.invoke_arn("POST", "/orders")]}
                if auth
                else {}
            ),
        }
        if settings.canary
        else None,
    },
)

pulumi.export("api_url", api.url)
pulumi.export("orders_table", orders_table.name)
pulumi.export("ops_topic_arn", ops_topic.arn)
pulumi.export("orders_api_function", orders_api.function_name)
pulumi.export("orders_api_target_arn", orders_api.target_arn)
pulumi.export("orders_inbox", inbox.producer_config)
pulumi.export("ingest_functions", {role: fn.function_name for role, fn in inbox.consumers.items()})

pulumi.export("push_url", push.url if push is not None else f"polling only: {settings.push_off_reason}")
pulumi.export("dashboard", ops.dashboard_name)
pulumi.export("reports_jobs", {"table": reports.table_name, "state_machine": reports.state_machine_arn})
