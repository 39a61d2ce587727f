"""The facades' inputs: plain types a schema can carry, which Pulumi's analyzer turns into the
package's object types (their attribute docstrings become the schema's descriptions). Like the
facades, this module does not postpone annotations: the analyzer evaluates them."""

from typing import Any, Required, TypedDict

import pulumi


class ThrottleArgs(TypedDict, total=False):
    """A token bucket: steady rate and burst."""

    rate: float
    """Steady requests per second, above 0 and at most 10000 (the account default)."""
    burst: int
    """Bucket size, at least the rate and at most 5000."""


class FunctionSettings(TypedDict, total=False):
    """Settings of a function the component creates (each defaults as in ResilientFunction)."""

    timeout: int
    """Seconds, 1 to 900. Default: 10."""
    memory: int
    """MB, 128 to 10240. Default: 512."""
    runtime: str
    """python3.12 or python3.13. Default: the one AWS supports longest."""
    architecture: str
    """arm64 or x86_64. Default: arm64."""
    reserved_concurrency: int
    """Concurrency reserved (and capped) for the function. Default: 10 (unreserved for queue consumers)."""
    log_level: str
    """DEBUG, INFO, WARN or ERROR. Default: INFO."""
    log_retention_days: int
    """One of CloudWatch's allowed values. Default: 30."""
    tracing: bool
    """X-Ray active tracing. Default: true."""
    powertools: str
    """``layer`` (the official AWS layer) or ``bundle`` (zipped into the package). Default: layer."""
    environment: dict[str, pulumi.Input[str]]
    """Extra environment variables. Default: none."""


class FunctionCode(TypedDict, total=False):
    """A function the component creates: its handler and package, and its settings."""

    handler: Required[str]
    """Dotted path of the handler, e.g. ``app.handlers.orders.lambda_handler``."""
    code: Required[str]
    """Absolute path of the directory zipped as the package (YAML: ``${pulumi.cwd}/app``)."""
    settings: FunctionSettings
    """Timeout, memory and the rest. Default: ResilientFunction's."""


class ResilientFunctionArgs(TypedDict, total=False):
    """Inputs of ResilientFunction."""

    handler: Required[str]
    """Dotted path of the handler, e.g. ``app.handlers.orders.lambda_handler``."""
    code: Required[str]
    """Absolute path of the directory zipped as the package (YAML: ``${pulumi.cwd}/app``)."""
    invocation: str
    """``sync`` (API), ``async`` (event invoke) or ``queue`` (SQS mapping). Default: sync."""
    timeout: int
    """Seconds, 1 to 900; a sync function must finish before API Gateway. Default: 10."""
    memory: int
    """MB, 128 to 10240. Default: 512."""
    runtime: str
    """python3.12 or python3.13. Default: the one AWS supports longest."""
    architecture: str
    """arm64 or x86_64. Default: arm64."""
    reserved_concurrency: int
    """Concurrency reserved (and capped); 0 needs allowZeroConcurrency. Default: 10 (none for queue)."""
    allow_zero_concurrency: bool
    """Opt in to reserved concurrency 0 (a kill switch). Default: false."""
    account_concurrency: int
    """The account's concurrency quota, to check that 100 stay unreserved. Default: 1000."""
    provisioned_concurrency: int
    """Warm environments on the ``live`` alias; at most the reserved concurrency. Default: 0."""
    snap_start: bool
    """SnapStart on published versions (not with provisioned concurrency). Default: false."""
    recursive_loop: str
    """Recursive loop detection: ``Terminate`` or ``Allow``. Default: Terminate."""
    async_max_retries: int
    """async only: retries 0 to 2. Default: 1."""
    async_max_event_age: int
    """async only: seconds 60 to 21600 before an event goes to the DLQ. Default: 3600."""
    on_failure_destination_arn: pulumi.Input[str]
    """async only: an SQS queue ARN for failed events, instead of the DLQ created here."""
    environment: dict[str, pulumi.Input[str]]
    """Extra environment variables. Default: none."""
    log_level: str
    """DEBUG, INFO, WARN or ERROR. Default: INFO."""
    log_retention_days: int
    """One of CloudWatch's allowed values. Default: 30."""
    tracing: bool
    """X-Ray active tracing. Default: true."""
    tracing_provider: str
    """``xray`` or ``otel`` (the ADOT layer; needs otelLayerArn). Default: xray."""
    otel_layer_arn: str
    """The ADOT Python layer of the function's region. Default: none."""
    service_name: str
    """POWERTOOLS_SERVICE_NAME. Default: the component name."""
    metrics_namespace: str
    """POWERTOOLS_METRICS_NAMESPACE. Default: the Pulumi project name."""
    powertools: str
    """``layer`` (the official AWS layer) or ``bundle`` (zipped into the package). Default: layer."""
    powertools_layer_version: int
    """Version of the official layer. Default: the tested one."""
    alarm_topic_arn: pulumi.Input[str]
    """SNS topic for alarm and OK actions. Default: none (alarms still created)."""
    description: str
    """Function description. Default: none."""
    tags: dict[str, str]
    """Extra tags on every taggable child. Default: none."""


class RouteAuthArgs(TypedDict, total=False):
    """Who may call a route."""

    type: Required[str]
    """``iam`` (both flavours), ``jwt`` (HTTP) or ``cognito`` (REST)."""
    issuer: str
    """jwt: the token issuer URL."""
    audience: list[str]
    """jwt: accepted audiences (client ids)."""
    user_pool_arns: list[str]
    """cognito: the user pools whose tokens are accepted."""
    identity_source: str
    """jwt: where the token is. Default: the Authorization header."""
    scopes: list[str]
    """jwt and cognito: scopes the token must carry (any of them). Default: none."""
    cache_ttl_s: int
    """cognito: seconds API Gateway caches an answer per token. Default: 300."""


class RouteArgs(TypedDict, total=False):
    """One route: a function (handler and code) or a queue (queueUrl) is its target."""

    method: Required[str]
    """GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS or ANY."""
    path: Required[str]
    """``/orders/{order_id}``; a final ``{proxy+}`` is allowed."""
    function: FunctionCode
    """The route's function, created by the API. Not with queueUrl."""
    queue_url: pulumi.Input[str]
    """Send the request's envelope to this SQS queue (e.g. a pair's highUrl). Not with function."""
    mode: str
    """For a function: ``sync`` or ``async`` (REST only: 202 at once). Default: sync."""
    auth: RouteAuthArgs
    """Who may call. Default: none (public)."""
    forward_headers: list[str]
    """Async and queue routes: headers forwarded. Default: Content-Type, Idempotency-Key, X-Signature."""
    forward_query: list[str]
    """HTTP async and queue routes: query parameters forwarded. Default: none."""
    group_id: str
    """FIFO queue targets: ``path.<param>``, ``header.<Name>`` or ``body.<field>``."""
    dedup_id: str
    """FIFO queue targets without content-based deduplication: where the deduplication id comes from."""
    timeout_ms: int
    """Integration timeout. Default: function timeout + 1 s for sync, 5 s otherwise."""
    throttle: ThrottleArgs
    """Override of the stage throttle for this route. Default: the stage's."""
    expected_latency_ms: int
    """Typical latency of a sync target, for the capacity check. Default: the function timeout."""
    body_schema: dict[str, Any]
    """REST only: JSON schema (draft 4) the body must match, checked at the edge."""
    required_params: list[str]
    """REST only: ``querystring.<name>`` or ``header.<name>`` that must be present."""


class QuotaArgs(TypedDict):
    """Requests a client may make per period."""

    limit: int
    """Requests per period."""
    period: str
    """DAY, WEEK or MONTH."""


class UsagePlanArgs(TypedDict, total=False):
    """A client's usage plan (REST)."""

    rate: float
    """Steady requests per second of this client."""
    burst: int
    """Bucket size of this client."""
    quota: QuotaArgs
    """Requests per period. Default: none."""


class CorsArgs(TypedDict, total=False):
    """CORS for browsers."""

    allow_origins: list[str]
    """Origins allowed (REST takes one, or ``*``)."""
    allow_methods: list[str]
    """Methods allowed."""
    allow_headers: list[str]
    """Request headers allowed."""
    max_age: int
    """Seconds a browser caches the preflight."""


class ThrottledApiArgs(TypedDict, total=False):
    """Inputs of ThrottledApi."""

    routes: Required[list[RouteArgs]]
    """The routes; method and path unique."""
    flavor: str
    """``rest`` or ``http``. Default: rest."""
    throttle: ThrottleArgs
    """Stage throttle. Default: rate 50, burst 100."""
    stage_name: str
    """Default: ``live`` (REST), ``$default`` (HTTP)."""
    usage_plans: dict[str, UsagePlanArgs]
    """REST only: a plan and an API key per named client; every method then needs a key."""
    tracing: bool
    """REST only: X-Ray. Default: true."""
    log_retention_days: int
    """Access (and REST execution) logs. Default: 30."""
    waf_rate_limit: int
    """REST only: a WAF web ACL blocking an IP above this many requests per 5 minutes. Default: none."""
    cors: CorsArgs
    """CORS for browsers. Default: none."""
    account_managed_elsewhere: bool
    """REST: another stack of this account and region manages the API Gateway logging role. Default: false."""
    alarm_topic_arn: pulumi.Input[str]
    """SNS topic for alarm and OK actions. Default: none."""
    tags: dict[str, str]
    """Extra tags on every taggable child. Default: none."""


class SurgeArgs(TypedDict, total=False):
    """A surge queue and consumer, with the producer thresholds."""

    backlog: int
    """Route to the surge queue while the warm queue holds more visible messages than this."""
    age_s: int
    """... or while its oldest message is older than this (seconds)."""


class ShardArgs(TypedDict):
    """Shuffle-sharded queues instead of one warm queue."""

    count: int
    """n shard queues, 2 to 100."""
    per_tenant: int
    """k queues per tenant, 1 to n - 1."""


class PollersArgs(TypedDict):
    """Provisioned mode of the consumer mappings."""

    min: int
    """Event pollers kept ready (paid every hour), 2 to 200."""
    max: int
    """Event pollers the mapping may scale to, 2 to 2000, at least min."""


class PriorityQueuePairArgs(TypedDict, total=False):
    """Inputs of PriorityQueuePair."""

    handler: Required[str]
    """The consumers' handler (built with ``handlers.resilience.priority.consumer_from_env``)."""
    code: Required[str]
    """Absolute path of the directory zipped as the consumers' package."""
    consumer: FunctionSettings
    """Settings of every consumer function. Default: ResilientFunction's."""
    fifo: bool
    """FIFO queues (ordered per message group). Default: false."""
    content_based_deduplication: bool
    """FIFO only: deduplicate on the body's hash. Default: true."""
    defer_after_s: int
    """High consumer: move messages older than this to the low queue. Default: 60 (never on FIFO)."""
    ttl_s: int
    """Drop (and count) messages older than this. Default: never."""
    batch_size: int
    """Messages per invocation, 1 to 10000 (FIFO 10). Default: 10."""
    batching_window_s: int
    """0 to 300 s; FIFO must be 0. Default: 1 (0 on FIFO)."""
    max_concurrency: dict[str, int]
    """Per role (high, low, surge, shard), 2 to 1000. Default: high 10, low 2, surge 2, shard 2."""
    pollers: PollersArgs
    """Provisioned mode on every consumer mapping (replaces maxConcurrency). Default: none."""
    max_receive_count: int
    """Receives before SQS moves a message to its DLQ, 1 to 1000. Default: 5."""
    retention_s: int
    """60 to 1209599 s. Default: 345600 (4 days)."""
    visibility_timeout_s: int
    """At least 6x the consumer timeout plus the batching window. Default: that."""
    surge: SurgeArgs
    """A surge queue and consumer. Default: none."""
    shards: ShardArgs
    """Shuffle-sharded queues instead of one warm queue. Default: none."""
    oldest_age_alarm_s: dict[str, int]
    """Alarm thresholds on the oldest message per role. Default: high 300, low 3600, others 300."""
    alarm_topic_arn: pulumi.Input[str]
    """SNS topic for alarm and OK actions. Default: none."""
    tags: dict[str, str]
    """Extra tags on every taggable child. Default: none."""


class RetryArgs(TypedDict, total=False):
    """Retry of the worker task."""

    max_attempts: int
    """Retries after the first failure, 0 to 10. Default: 2."""
    interval_s: int
    """First delay, 1 to 3600 s. Default: 2."""
    backoff_rate: float
    """Growth of each delay, 1.1 to 10. Default: 2.0."""
    max_delay_s: int
    """Cap on one delay, at least intervalS. Default: 30."""


class AsyncJobWorkflowArgs(TypedDict, total=False):
    """Inputs of AsyncJobWorkflow."""

    worker: Required[FunctionCode]
    """The function that does the work (invoked by Step Functions: up to 900 s), created here."""
    path: str
    """Collection path of the routes. Default: ``/jobs``."""
    api_flavor: str
    """Flavour of the workflow's own ThrottledApi: ``rest`` or ``http``. Default: rest."""
    api_throttle: ThrottleArgs
    """Stage throttle of the workflow's own API. Default: rate 50, burst 100."""
    functions: FunctionSettings
    """Settings of the job functions (submit, status, result, cancel, starter, webhooks)."""
    workflow_type: str
    """``STANDARD`` or ``EXPRESS``. Default: STANDARD."""
    worker_mode: str
    """``invoke`` or ``callback`` (task token, heartbeats). Default: invoke."""
    execution_timeout_s: int
    """Bound on a whole execution: Standard 60 to 31536000, Express 60 to 300. Default: 3600."""
    task_timeout_s: int
    """Worker task timeout. Default: the worker's timeout + 10 s (invoke)."""
    heartbeat_s: int
    """Callback mode: the worker must heartbeat this often. Default: 60."""
    retry: RetryArgs
    """Worker retry. Default: 2 retries from 2 s, x2, at most 30 s, full jitter."""
    start: str
    """``queue`` (an SQS buffer and a starter) or ``direct``. Default: queue."""
    starter_max_concurrency: int
    """Starter mapping concurrency, 2 to 1000. Default: 2."""
    start_quota_per_s: float
    """The account's StartExecution refill rate in this region. Default: 150."""
    start_queue_age_alarm_s: int
    """Alarm when the oldest queued start is older than this. Default: 300."""
    result_url_ttl_s: int
    """Lifetime of a pre-signed result URL, 1 to 3600. Default: 900."""
    result_retention_days: int
    """Days results stay in S3. Default: 7."""
    job_ttl_days: int
    """Days a job record stays, at least the result retention. Default: 30."""
    idempotency_ttl_s: int
    """How long a submit's Idempotency-Key is remembered, 60 to 604800. Default: 3600."""
    max_body_bytes: int
    """Largest accepted submit body, 1 to 6291456. Default: 1048576."""
    inline_input_bytes: int
    """Inputs above this go to S3 and travel as a pointer. Default: 200000."""
    input_schema: dict[str, Any]
    """JSON schema of the job's input. Default: any JSON object."""
    webhooks: bool
    """Callback URLs per job, verified, signed, retried, dead-lettered. Default: true."""
    push: bool
    """Push results over a WebSocketNotifier created for the workflow. Default: false."""
    log_level: str
    """State machine log level: ERROR, ALL or FATAL. Default: ERROR."""
    log_execution_data: bool
    """Include each state's input and output in the logs. Default: false."""
    log_retention_days: int
    """Retention of the state machine's log group. Default: 30."""
    alarm_topic_arn: pulumi.Input[str]
    """SNS topic for alarm and OK actions. Default: none."""
    tags: dict[str, str]
    """Extra tags on every taggable child. Default: none."""


class WebSocketNotifierArgs(TypedDict, total=False):
    """Inputs of WebSocketNotifier."""

    code: str
    """Absolute path of a directory holding the library's ``handlers``. Default: the library's."""
    function: FunctionSettings
    """Settings of the socket and notify functions (timeout below 29 s). Default: none."""
    connect_auth: str
    """``token``, ``iam`` or ``authorizer`` (needs authorizer). Default: token."""
    authorizer: FunctionCode
    """connectAuth authorizer only: the REQUEST authorizer function, created here."""
    authorizer_identity_sources: list[str]
    """Where the authorizer reads the caller's identity. Default: the Authorization header."""
    stage_name: str
    """Default: ``live``."""
    throttle: ThrottleArgs
    """Stage throttle for client frames. Default: rate 50, burst 100."""
    connect_throttle: ThrottleArgs
    """$connect throttle, rate at most 500. Default: rate 100, burst 200."""
    route_throttles: dict[str, ThrottleArgs]
    """Per route key ($disconnect, subscribe, $default). Default: the stage's."""
    inline_max_bytes: int
    """Largest message pushed inline, 256 to 131072. Default: 32768."""
    result_url_ttl_s: int
    """Lifetime of a pre-signed result URL, 60 to 604800 s. Default: 900."""
    notify_concurrency: int
    """PostToConnection calls in flight per notified job, 1 to 64. Default: 8."""
    log_retention_days: int
    """Access logs. Default: 30."""
    alarm_topic_arn: pulumi.Input[str]
    """SNS topic for alarm and OK actions. Default: none."""
    tags: dict[str, str]
    """Extra tags on every taggable child. Default: none."""
