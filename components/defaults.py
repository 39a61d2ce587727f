"""Every default of the module, in one place, each with the reason it was chosen.

Components read these names; nothing else in the package hard-codes a default. Each default is
pinned by a test that checks it reaches the resource inputs, in its component's folder of
tests/components/ (tests/README.md maps them).
"""

from __future__ import annotations

from typing import Final

from .aws_facts import CHECKED_ON, LAMBDA_RUNTIMES

# --- AWS limits (cited in validation messages) --------------------------------------------
LAMBDA_TIMEOUT_RANGE: Final[tuple[int, int]] = (1, 900)  # seconds
LAMBDA_MEMORY_RANGE: Final[tuple[int, int]] = (128, 10240)  # MB
LAMBDA_ASYNC_RETRIES_RANGE: Final[tuple[int, int]] = (0, 2)
LAMBDA_EVENT_AGE_RANGE: Final[tuple[int, int]] = (60, 21600)  # seconds
LAMBDA_UNRESERVED_FLOOR: Final = 100  # AWS keeps this much account concurrency unreserved
LAMBDA_ACCOUNT_CONCURRENCY: Final = 1000  # default account quota; raise via settings
REST_INTEGRATION_TIMEOUT_MAX_S: Final = 29
HTTP_INTEGRATION_TIMEOUT_MAX_S: Final = 30
LOG_RETENTION_DAYS_ALLOWED: Final = (
    1,
    3,
    5,
    7,
    14,
    30,
    60,
    90,
    120,
    150,
    180,
    365,
    400,
    545,
    731,
    1096,
    1827,
    2192,
    2557,
    2922,
    3288,
    3653,
)

# --- ResilientFunction ----------------------------------------------------------------------
# 10 s: long enough for a few dependency calls with retries, short enough to shed a stuck call
# well before API Gateway's 29 s and to keep the queue visibility timeout (6x) at one minute.
FUNCTION_TIMEOUT_S: Final = 10
# 512 MB: Lambda CPU scales with memory; 512 gives a fast cold start for a boto3 + Powertools
# handler at a small cost per invocation.
FUNCTION_MEMORY_MB: Final = 512
# The Python runtime AWS supports longest, read from the dated runtime table (aws_facts): a
# function created today on it is the last to meet a deprecation date. Moves when a row is added.
FUNCTION_RUNTIME: Final = max(
    (f for f in LAMBDA_RUNTIMES.values() if f.identifier.startswith("python")),
    key=lambda f: (f.deprecated_on, f.identifier),
).identifier
# The Python runtimes of the dated table that AWS had not deprecated when it was last checked:
# what a function (and its package) may be built for.
FUNCTION_RUNTIMES: Final[tuple[str, ...]] = tuple(
    sorted(r for r in LAMBDA_RUNTIMES if r.startswith("python") and not LAMBDA_RUNTIMES[r].deprecated(CHECKED_ON))
)
# Lambda's recursive loop detection stops a function after about 16 calls around one chain of
# SQS, SNS, S3 or Lambda: Terminate (AWS's default) written explicitly so a console change to
# Allow shows as drift, and so the choice is visible in the plan.
FUNCTION_RECURSIVE_LOOP: Final = "Terminate"
# arm64 (Graviton): about 20% cheaper per GB-second with the same Powertools layer available.
FUNCTION_ARCHITECTURE: Final = "arm64"
# Reserved concurrency: the cheap rejection of excess work. 10 leaves room for a burst while
# keeping one function from starving the account (1000 by default, 100 of it unreservable).
FUNCTION_RESERVED_CONCURRENCY: Final = 10
# Async invocations: AWS defaults to 2 retries and 6 h of event age. A backlog that ages 6 h is
# the silent backlog we avoid; one retry and one hour bound the work, then the DLQ takes over.
ASYNC_MAX_RETRIES: Final = 1
ASYNC_MAX_EVENT_AGE_S: Final = 3600
# The on-failure DLQ keeps messages the SQS maximum (14 days) so nothing ages out before triage.
DLQ_RETENTION_S: Final = 1_209_600
LOG_RETENTION_DAYS: Final = 30
LOG_LEVEL: Final = "INFO"
SYSTEM_LOG_LEVEL: Final = "WARN"
TRACING: Final = True
# Alarm when p99 duration passes this share of the timeout: calls near the timeout are about to fail.
DURATION_ALARM_SHARE_OF_TIMEOUT: Final = 0.8
ALARM_PERIOD_S: Final = 60
ALARM_EVALUATION_PERIODS: Final = 3
ALARM_DATAPOINTS_TO_ALARM: Final = 2
# A dead letter is work that failed every retry: one message in one minute is news at once, so
# a DLQ's depth alarm fires above 0 after a single breaching minute (not 2 of 3 as other alarms).
DLQ_DEPTH_ALARM_THRESHOLD: Final = 0
DLQ_DEPTH_ALARM_PERIODS: Final = 1

# --- Powertools layer (official, published by AWS) ----------------------------------------------
POWERTOOLS_LAYER_ACCOUNT: Final = {"aws": "017000801446", "aws-cn": "498634801083"}
POWERTOOLS_LAYER_VERSION: Final = 27

# --- Tags ---------------------------------------------------------------------------------------
MANAGED_BY_TAG: Final = "resilient-serverless"

# --- ThrottledApi ---------------------------------------------------------------------------------
API_FLAVOR: Final = "rest"
API_REST_STAGE: Final = "live"
API_HTTP_STAGE: Final = "$default"  # auto-deployed; URLs carry no stage segment
# Stage throttle: 50 requests per second steady, bursts of 100. Small on purpose: raise it per
# environment once the functions behind it are sized for more (see the plan's capacity rows).
API_THROTTLE_RATE: Final = 50.0
API_THROTTLE_BURST: Final = 100
API_ACCOUNT_RATE_MAX: Final = 10_000.0  # default account-level quota per region (rps)
API_ACCOUNT_BURST_MAX: Final = 5_000
API_INTEGRATION_TIMEOUT_MIN_MS: Final = 50
# Async (Event) and SQS integrations answer in milliseconds; 5 s bounds a stuck service call.
API_FIRE_AND_FORGET_TIMEOUT_MS: Final = 5_000
API_5XX_RATE_ALARM: Final = 0.01  # share of requests
API_4XX_RATE_ALARM: Final = 0.10  # includes 429 (throttled): a rising rate means clients are shed
API_LATENCY_ALARM_SHARE: Final = 0.8  # of the longest integration timeout
WAF_RATE_LIMIT_RANGE: Final[tuple[int, int]] = (10, 2_000_000_000)  # requests per IP per 5 minutes

# --- PriorityQueuePair ----------------------------------------------------------------------------
QUEUE_BATCH_SIZE: Final = 10
QUEUE_BATCHING_WINDOW_S: Final = 1  # a little batching for throughput; FIFO has none
# Fresh work first: a message that waited a minute on the high queue steps aside to the low one.
QUEUE_DEFER_AFTER_S: Final = 60
QUEUE_RETENTION_S: Final = 345_600  # 4 days (the SQS default); the DLQs keep 14
QUEUE_MAX_RECEIVE_COUNT: Final = 5
# Each queue's consumer has its own ceiling: a flood on one cannot take the other's capacity.
QUEUE_MAX_CONCURRENCY: Final = {"high": 10, "low": 2, "surge": 2, "shard": 2}
QUEUE_OLDEST_AGE_ALARM_S: Final = {"high": 300, "low": 3600, "surge": 300, "shard": 300}
# The consumer (handlers.resilience.priority.PriorityConsumer, deadline_margin_s) starts no record
# within this many seconds of the invocation's deadline, keeping them for the batch's writes and
# the response. A consumer timeout at or below it would start nothing: every message would reach
# the DLQ after max_receive_count receives. tests/components/priority_queue_pair/test_deadline_margin.py
# keeps the handler's default equal to this.
QUEUE_CONSUMER_DEADLINE_MARGIN_S: Final = 1

# --- WebSocketNotifier ----------------------------------------------------------------------------
WS_STAGE: Final = "live"
# AWS quota: 500 new WebSocket connections per second per account and region, shared by every
# WebSocket API there. The $connect route takes a fifth of it by default, so five notifiers (or
# one notifier and a reconnect storm elsewhere) fit before the account limit rejects anyone.
WS_ACCOUNT_CONNECT_QUOTA: Final = 500
WS_CONNECT_RATE: Final = 100.0
WS_CONNECT_BURST: Final = 200
# Messages from clients (subscribe and stray frames): a client sends one subscribe per job.
WS_THROTTLE_RATE: Final = 50.0
WS_THROTTLE_BURST: Final = 100
WS_INTEGRATION_TIMEOUT_MAX_MS: Final = 29_000
WS_FRAME_BYTES: Final = 32 * 1024  # one frame; larger messages are split into frames
WS_MESSAGE_BYTES: Final = 128 * 1024  # PostToConnection refuses more
WS_CONNECTION_TTL_S: Final = 7200  # API Gateway closes every connection after 2 hours
# Push a result inline up to one frame (every client reads a single frame); above, a pre-signed URL.
WS_INLINE_MAX_BYTES: Final = WS_FRAME_BYTES
# Pre-signed result URLs live 15 minutes: the client fetches at once; a late client polls.
WS_RESULT_URL_TTL_S: Final = 900
# S3 accepts SigV4 pre-signed URLs of up to 7 days, but only long-term (IAM user) keys reach it.
# A URL pre-signed by a function is signed with its role's temporary credentials, and "when the
# role session expires, the presigned URL expires, even if you specify a longer expiration time"
# (S3 user guide, "Download and upload objects with presigned URLs": who can create one).
# Lambda documents no lifetime for its execution-role credentials, nor how much of it is left
# when a warm environment signs; STS role sessions last one hour unless asked for longer (and at
# most one hour when chained). One hour is the conservative bound: a longer ExpiresIn promises
# the client a URL that may answer 403 first.
PRESIGNED_URL_MAX_S: Final = 3600
PRESIGNED_URL_WHY: Final = (
    "a URL pre-signed by a function expires with the function role's temporary credentials, whatever its "
    "ExpiresIn says; Lambda documents no lifetime for them, so at most one hour is promised"
)
# PostToConnection calls in flight per notify invocation: bounds the burst on the management API.
WS_NOTIFY_CONCURRENCY: Final = 8
# Alarm when a minute's connects or messages pass this share of what the throttles admit.
WS_RATE_ALARM_SHARE: Final = 0.8
# --- ThrottledApi envelope ----------------------------------------------------------------------
# Headers an async or queue route forwards in its envelope: what a consumer needs to interpret
# (content type), verify (signature) and deduplicate (idempotency key) the request.
API_ENVELOPE_HEADERS: Final = ("Content-Type", "Idempotency-Key", "X-Signature")
# Seconds API Gateway caches a Cognito or Lambda authorizer's answer per token (its own default).
API_AUTHORIZER_CACHE_TTL_S: Final = 300
# --- Operations ---------------------------------------------------------------------------------
OPS_QUERIES: Final = True  # saved Logs Insights queries cost nothing until run
OPS_COMPOSITE_ALARMS: Final = True
OPS_CONTRIBUTOR_INSIGHTS: Final = False  # $0.50 a rule a month plus matched events: opt in
# User-facing symptoms, each a composite alarm over the alarms that show it.
OPS_SYMPTOMS: Final = {
    "front-door": "Clients see failures or slow answers (API 5XX rate, p99 latency, canary)",
    "processing": "Accepted work is not processed on time (backlog ageing, dead letters)",
}
# Service level objectives of each front door (Operations ``objectives``), alarmed by burn rate.
# 99.9% leaves 43 minutes of failed requests a 30-day month: tight enough that a real outage
# pages within the hour, loose enough that a deploy's few 5XX do not.
SLO_AVAILABILITY: Final = 0.999
# The p99: one request in a hundred may be slower than the route's expected latency.
SLO_LATENCY_TARGET: Final = 0.99
# What a queue or async route (no function on the request path) is expected to answer within: an
# SQS SendMessage or an Event invoke takes tens of milliseconds; 300 ms leaves room for the edge.
SLO_FIRE_AND_FORGET_LATENCY_MS: Final = 300
# The budget period the burn rates are computed for (the SRE workbook's 30 days).
SLO_WINDOW_DAYS: Final = 30
# An objective must leave the fastest burn rate (14.4x) room to fire: 14.4 x (1 - target) <= 1.
SLO_TARGET_RANGE: Final[tuple[float, float]] = (0.931, 0.99999)
SLO_LATENCY_MS_RANGE: Final[tuple[int, int]] = (1, 30_000)  # up to the HTTP API integration maximum
CANARY_INTERVAL_MINUTES: Final = 5  # 8,760 runs a month
CANARY_INTERVAL_RANGE: Final[tuple[int, int]] = (1, 60)  # rate(1 minute) to rate(60 minutes)
CANARY_TIMEOUT_S: Final = 60
CANARY_TIMEOUT_RANGE: Final[tuple[int, int]] = (3, 840)  # Synthetics run timeout, and under the interval
CANARY_SUCCESS_THRESHOLD_PCT: Final = 90  # alarm below this SuccessPercent
CANARY_RETENTION_DAYS: Final = 31  # success and failure run data
CANARY_RETENTION_RANGE: Final[tuple[int, int]] = (1, 455)  # Synthetics' retention periods (days)
CANARY_ARTIFACT_EXPIRY_DAYS: Final = 31  # screenshots, HAR files and logs in S3
# The newest documented Python Synthetics runtime (Python 3.12): CreateCanary refuses deprecated
# ones, and the dates are in aws_facts.SYNTHETICS_RUNTIMES (5.1 was deprecated on 2026-02-03).
CANARY_RUNTIME: Final = "syn-python-selenium-12.0"
CANARY_ROUND_TRIP_S: Final = 30  # how long the canary polls for its job's result

# --- tracing provider ------------------------------------------------------------------------
# AWS's path is OpenTelemetry (the X-Ray SDKs and daemon end support on 2027-02-25:
# aws_facts.TRACING_PATHS), but "otel" needs the ADOT layer's ARN, whose account and version
# differ per region and which the library cannot know: an "otel" default would refuse every
# program that does not name one. So the default stays the handler library's X-Ray daemon
# provider (no layer, the smallest cold start: python -m bench.tracing_providers), and the plan
# warns on every function still on it from TRACING_END_OF_SUPPORT_WARNING_DAYS before the end of
# support (rule tracing-path-supported). See docs/tracing-decision.md.
TRACING_PROVIDER: Final = "xray"
# Two quarters: time for a stack's owners to find the layer ARN of each region, move their
# functions to tracing_provider="otel" and watch the traces before AWS stops fixing the daemon.
TRACING_END_OF_SUPPORT_WARNING_DAYS: Final = 180
# --- AsyncJobWorkflow ------------------------------------------------------------------------------
JOB_PATH: Final = "/jobs"
# Standard: exactly-once starts and long jobs; Express is the documented choice for high rates of
# short (< 5 min), idempotent jobs.
JOB_WORKFLOW_TYPE: Final = "STANDARD"
JOB_WORKER_MODE: Final = "invoke"
JOB_EXECUTION_TIMEOUT_S: Final = 3600  # one hour bounds a forgotten execution; long jobs raise it
# The worker task waits a little longer than the worker's Lambda timeout, so Lambda gives up
# first and the error the job records says why (a Lambda timeout rather than States.Timeout).
JOB_TASK_TIMEOUT_MARGIN_S: Final = 10
JOB_HEARTBEAT_S: Final = 60  # callback workers: a lost worker is noticed within a minute
# Two retries from 2 s, doubling, full jitter, each delay at most 30 s: a transient failure
# costs seconds, a persistent one fails the job in under a minute.
JOB_WORKER_RETRY: Final = {"max_attempts": 2, "interval_s": 2, "backoff_rate": 2.0, "max_delay_s": 30}
JOB_START_MODE: Final = "queue"
JOB_STARTER_MAX_CONCURRENCY: Final = 2  # the SQS mapping minimum: ~40 starts/s, far below the quota
# StartExecution refill rate for Standard workflows in the smaller regions (300 in the largest).
JOB_START_QUOTA_PER_S: Final = 150.0
JOB_START_LATENCY_MS: Final = 50.0  # planning figure for one StartExecution call
JOB_START_QUEUE_AGE_ALARM_S: Final = 300
JOB_RESULT_URL_TTL_S: Final = 900  # 15 minutes: long enough to download, short enough to leak little
JOB_RESULT_RETENTION_DAYS: Final = 7
JOB_INPUT_RETENTION_DAYS: Final = 1  # inputs in S3 serve the execution only
JOB_TTL_DAYS: Final = 30
JOB_IDEMPOTENCY_TTL_S: Final = 3600  # the Powertools default: a retried submit within the hour
JOB_MAX_BODY_BYTES: Final = 1_048_576
# Step Functions and SQS carry 256 KiB including the envelope: inputs above ~200 KB go to S3.
JOB_INLINE_INPUT_BYTES: Final = 200_000
JOB_PUSH_TOKEN_GRACE_S: Final = 300  # a push token outlives the execution by five minutes
JOB_SUBMIT_LATENCY_MS: Final = 100  # idempotency record + job item + one send: planning figure
JOB_READ_LATENCY_MS: Final = 50
JOB_WEBHOOK_MAX_ATTEMPTS: Final = 5  # deliveries per event before the DLQ (SQS receives)
# Execution outcomes (EventBridge -> recorder): the recording is conditional, so a retry is
# harmless; an hour and 10 attempts outlast a throttled or briefly failing recorder, and what is
# still undelivered goes to an alarmed DLQ (EventBridge allows 60 to 86400 s and 0 to 185).
# State machine logs: ERROR keeps every failure (and an Express execution's only history) at a
# fraction of ALL's cost, which logs every state of every job; execution data (inputs and
# outputs) stays out because job inputs and results are the user's data.
JOB_LOG_LEVEL: Final = "ERROR"
JOB_LOG_EXECUTION_DATA: Final = False
JOB_OUTCOME_EVENT_AGE_S: Final = 3600
JOB_OUTCOME_RETRY_ATTEMPTS: Final = 10

# --- Operating a deployed stack (resilient-serverless dlq / jobs) ----------------------------
# SQS StartMessageMoveTask: MaxNumberOfMessagesPerSecond is 1 to 500 (unset: as fast as SQS can).
DLQ_REDRIVE_RATE_RANGE: Final[tuple[int, int]] = (1, 500)
# 10 messages/s by default: a redriven backlog reaches consumers that failed on it once, so it
# goes back slowly enough to watch (and cancel) before it fills the DLQ again; --rate raises it.
DLQ_REDRIVE_RATE_PER_S: Final = 10
# `dlq show`: one ReceiveMessage call's worth (SQS returns at most 10 per call).
DLQ_SHOW_LIMIT: Final = 10
# Seconds between two looks at a running move task: its counters are approximate and move in
# steps, so looking more often only costs calls.
DLQ_REDRIVE_POLL_S: Final = 5
# Step Functions RedriveExecution accepts a Standard execution up to 14 days after it stopped.
JOBS_REDRIVE_WINDOW_MAX_S: Final = 14 * 86_400
# `jobs redrive` without --since: the last hour, the failures of an incident still being handled.
JOBS_REDRIVE_SINCE_S: Final = 3_600

# --- Provisioned pollers on SQS mappings (PriorityQueuePair ``pollers``) -----------------------
# Lambda ProvisionedPollerConfig for SQS: MinimumPollers 2 to 200, MaximumPollers 2 to 2000
# (docs.aws.amazon.com/lambda/latest/api/API_ProvisionedPollerConfig.html). Off by default: the
# minimum is paid every hour whether messages come or not, and standard scaling with a maximum
# concurrency per role is what keeps the pair's consumers isolated at no fixed cost.
SQS_MIN_POLLERS_RANGE: Final[tuple[int, int]] = (2, 200)
SQS_MAX_POLLERS_RANGE: Final[tuple[int, int]] = (2, 2000)
