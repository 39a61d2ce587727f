"""AWS facts that change over time, kept as dated data: each with the page it was read from and the
day it was read, and read by the components and the rules alike.

- Runtimes (Lambda and CloudWatch Synthetics) with their deprecation dates: AWS refuses to create a
  function or a canary on a deprecated runtime (CreateFunction after "block function create",
  CreateCanary from the deprecation date). Synthetics announces no dates ahead: a runtime is
  deprecated when one of its components (most often its Python) loses support, so a supported
  runtime carries the end of life of its Python as a *projected* date.
- Step Functions service integration patterns per workflow type.
- The quotas and AWS defaults the rules reason with.
- Tracing paths with their support dates (the X-Ray SDKs and daemon, the ADOT Lambda layer).

``today()`` is the date the rules judge against: ``$RESILIENT_SERVERLESS_TODAY`` (an ISO date) when
set, so a plan, a policy pack or a test can ask "what about on that day?", else the machine's date.
Bump ``CHECKED_ON`` and the rows when the pages change.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any, Final, Generic, Literal, TypeVar

__all__ = [
    "APIGATEWAY_METRICS",
    "BURN_RATE_WINDOWS",
    "CHECKED_ON",
    "CLOUDWATCH_ALARM_MAX_EVALUATION_S",
    "CLOUDWATCH_PERCENTILE_RANK",
    "COMPOSITE_ALARM_RULE",
    "INTEGRATION_PATTERNS",
    "LAMBDA_RUNTIMES",
    "LAMBDA_TENANCY_IMMUTABLE",
    "QUOTAS",
    "SFN_LARGE_REGIONS",
    "SQS_FAIR_QUEUES",
    "SQS_FAIR_QUEUE_METRICS",
    "SYNTHETICS_RUNTIMES",
    "TODAY_ENV",
    "TRACING_PATHS",
    "DatedFact",
    "Quota",
    "RuntimeFact",
    "TracingPathFact",
    "deprecated_runtime",
    "integration_pattern",
    "quota",
    "runtime_fact",
    "sfn_start_bucket",
    "supported_runtimes",
    "today",
]

CHECKED_ON: Final = date(2026, 12, 6)
TODAY_ENV: Final = "RESILIENT_SERVERLESS_TODAY"

LAMBDA_RUNTIMES_URL: Final = "https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtimes.html"
LAMBDA_PYTHON_URL: Final = "https://docs.aws.amazon.com/lambda/latest/dg/lambda-python.html"
SYNTHETICS_POLICY_URL: Final = (
    "https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Synthetics_Runtime_Support_Policy.html"
)
SYNTHETICS_PYTHON_URL: Final = (
    "https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Synthetics_Library_python_selenium.html"
)
SFN_PATTERNS_URL: Final = "https://docs.aws.amazon.com/step-functions/latest/dg/connect-to-resource.html"
SFN_QUOTAS_URL: Final = "https://docs.aws.amazon.com/step-functions/latest/dg/service-quotas.html#service-limits-api-action-throttling-general"
# Python's own end of life (PEP 664: 3.11, PEP 693: 3.12): what a Synthetics runtime's deprecation follows.
PYTHON_EOL: Final[Mapping[str, date]] = {"3.11": date(2027, 10, 31), "3.12": date(2028, 10, 31)}

RuntimeKind = Literal["lambda", "synthetics"]


@dataclass(frozen=True)
class RuntimeFact:
    identifier: str
    kind: RuntimeKind
    deprecated_on: date
    """The day AWS deprecates it (announced), or the day it is expected to (``projected``)."""
    source: str
    checked_on: date = CHECKED_ON
    projected: bool = False
    """True where AWS announced no date: the end of life of the runtime's language."""
    block_create_on: date | None = None
    """Lambda: the first day CreateFunction refuses it (None: not announced)."""

    def deprecated(self, on: date) -> bool:
        return on >= self.deprecated_on

    def describe(self) -> str:
        how = "expected to be deprecated" if self.projected else "deprecated"
        return f"{self.identifier} ({how} on {self.deprecated_on.isoformat()}, {self.source})"


def _lambda(identifier: str, deprecated: date, block_create: date | None, source: str) -> RuntimeFact:
    return RuntimeFact(identifier, "lambda", deprecated, source, block_create_on=block_create)


LAMBDA_RUNTIMES: Final[Mapping[str, RuntimeFact]] = {
    f.identifier: f
    for f in (
        _lambda("python3.9", date(2025, 12, 15), None, LAMBDA_RUNTIMES_URL),
        _lambda("python3.10", date(2026, 6, 30), None, LAMBDA_RUNTIMES_URL),
        _lambda("python3.11", date(2026, 6, 30), None, LAMBDA_RUNTIMES_URL),
        _lambda("python3.12", date(2028, 10, 31), date(2028, 11, 30), LAMBDA_PYTHON_URL),
        _lambda("python3.13", date(2029, 6, 30), date(2029, 7, 31), LAMBDA_PYTHON_URL),
    )
}


def _synthetics(identifier: str, deprecated: date) -> RuntimeFact:
    return RuntimeFact(identifier, "synthetics", deprecated, SYNTHETICS_POLICY_URL)


def _synthetics_supported(identifier: str, python: str) -> RuntimeFact:
    return RuntimeFact(identifier, "synthetics", PYTHON_EOL[python], SYNTHETICS_PYTHON_URL, projected=True)


SYNTHETICS_RUNTIMES: Final[Mapping[str, RuntimeFact]] = {
    f.identifier: f
    for f in (
        _synthetics("syn-python-selenium-2.1", date(2026, 1, 22)),
        _synthetics("syn-python-selenium-3.0", date(2026, 1, 22)),
        _synthetics("syn-python-selenium-4.0", date(2026, 2, 3)),
        _synthetics("syn-python-selenium-4.1", date(2026, 2, 3)),
        _synthetics("syn-python-selenium-5.0", date(2026, 2, 3)),
        _synthetics("syn-python-selenium-5.1", date(2026, 2, 3)),
        _synthetics("syn-nodejs-puppeteer-5.2", date(2026, 1, 22)),
        _synthetics("syn-nodejs-puppeteer-6.2", date(2026, 1, 22)),
        _synthetics("syn-nodejs-puppeteer-7.0", date(2026, 1, 22)),
        _synthetics_supported("syn-python-selenium-6.0", "3.11"),
        _synthetics_supported("syn-python-selenium-7.0", "3.11"),
        _synthetics_supported("syn-python-selenium-8.0", "3.11"),
        _synthetics_supported("syn-python-selenium-12.0", "3.12"),
        _synthetics_supported("syn-python-selenium-13.0", "3.12"),
        _synthetics_supported("syn-python-selenium-14.0", "3.12"),
    )
}


def today() -> date:
    """``$RESILIENT_SERVERLESS_TODAY`` (ISO date) when set, else the machine's date."""
    given = os.getenv(TODAY_ENV)
    return date.fromisoformat(given) if given else date.today()


def runtime_fact(identifier: str) -> RuntimeFact | None:
    return LAMBDA_RUNTIMES.get(identifier) or SYNTHETICS_RUNTIMES.get(identifier)


def deprecated_runtime(identifier: object, on: date | None = None) -> RuntimeFact | None:
    """The fact of ``identifier`` when it is deprecated on ``on`` (default: ``today()``), else None
    (a runtime these tables do not know is not judged)."""
    fact = runtime_fact(identifier) if isinstance(identifier, str) else None
    return fact if fact is not None and fact.deprecated(on or today()) else None


def supported_runtimes(kind: RuntimeKind, prefix: str = "", on: date | None = None) -> list[str]:
    """Runtimes of ``kind`` (starting with ``prefix``) not deprecated on ``on``, longest-lived first."""
    table = LAMBDA_RUNTIMES if kind == "lambda" else SYNTHETICS_RUNTIMES
    day = on or today()
    alive = [f for f in table.values() if f.identifier.startswith(prefix) and not f.deprecated(day)]
    return [f.identifier for f in sorted(alive, key=lambda f: (f.deprecated_on, f.identifier), reverse=True)]


# --- Step Functions service integration patterns ----------------------------------------------------
# Express workflows run Request Response integrations only; Standard also waits for a job (.sync,
# .sync:2) or for a task token (.waitForTaskToken). CreateStateMachine refuses the others.
INTEGRATION_PATTERNS: Final[Mapping[str, frozenset[str]]] = {
    "STANDARD": frozenset({"request-response", "sync", "waitForTaskToken"}),
    "EXPRESS": frozenset({"request-response"}),
}
INTEGRATION_PATTERNS_SOURCE: Final = (SFN_PATTERNS_URL, CHECKED_ON)


def integration_pattern(resource: object) -> str:
    """The pattern a Task's ``Resource`` asks for: ``sync``, ``waitForTaskToken`` or
    ``request-response`` (a Lambda ARN or any other resource)."""
    text = str(resource)
    if text.endswith(".waitForTaskToken"):
        return "waitForTaskToken"
    if text.endswith(".sync") or ".sync:" in text.rsplit(":::", 1)[-1]:
        return "sync"
    return "request-response"


# --- quotas and AWS defaults the rules reason with --------------------------------------------------
@dataclass(frozen=True)
class Quota:
    value: float
    unit: str
    source: str
    checked_on: date = CHECKED_ON


QUOTAS: Final[Mapping[str, Quota]] = {
    "websocket_new_connections_per_s": Quota(
        500,
        "new connections per second per account and region",
        "https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-execution-service-websocket-limits-table.html",
    ),
    "lambda_default_timeout_s": Quota(
        3, "seconds", "https://docs.aws.amazon.com/lambda/latest/dg/configuration-timeout.html"
    ),
    "sqs_default_visibility_timeout_s": Quota(
        30,
        "seconds",
        "https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-visibility-timeout.html",
    ),
    "sqs_default_retention_s": Quota(
        345_600,
        "seconds",
        "https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/quotas-messages.html",
    ),
    "eventbridge_default_retry_attempts": Quota(
        185,
        "attempts over 24 hours, then the event is dropped unless the target has a DLQ",
        "https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-rule-retry-policy.html",
    ),
    "stream_mapping_default_retry_attempts": Quota(
        -1,
        "attempts (-1: until the record expires from the stream, which blocks its shard)",
        "https://docs.aws.amazon.com/lambda/latest/dg/with-ddb.html",
    ),
    # What the overload simulation (components/simulate) reads: scaling, account limits, AWS defaults.
    "lambda_scaling_environments_per_window": Quota(
        1000,
        "new execution environments per function per 10-second window",
        "https://docs.aws.amazon.com/lambda/latest/dg/scaling-behavior.html",
    ),
    "lambda_scaling_window_s": Quota(
        10, "seconds", "https://docs.aws.amazon.com/lambda/latest/dg/scaling-behavior.html"
    ),
    "lambda_account_concurrency": Quota(
        1000,
        "concurrent executions per account and region (default quota)",
        "https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html",
    ),
    "lambda_max_timeout_s": Quota(
        900, "seconds", "https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html"
    ),
    "lambda_async_default_retries": Quota(
        2, "retries", "https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-error-handling.html"
    ),
    "lambda_async_default_max_event_age_s": Quota(
        21_600, "seconds", "https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-error-handling.html"
    ),
    "sqs_mapping_initial_concurrency": Quota(
        5,
        "concurrent batches an SQS mapping starts with",
        "https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-scaling.html",
    ),
    "sqs_mapping_scale_per_minute": Quota(
        300,
        "more concurrent invocations per minute while messages wait",
        "https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-scaling.html",
    ),
    "sqs_mapping_max_concurrency": Quota(
        1250,
        "concurrent invocations of one SQS mapping without maximum concurrency",
        "https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-scaling.html",
    ),
    "apigateway_account_rps": Quota(
        10_000,
        "requests per second per account and region (steady)",
        "https://docs.aws.amazon.com/apigateway/latest/developerguide/limits.html",
    ),
    "apigateway_account_burst": Quota(
        5_000,
        "requests (burst) per account and region",
        "https://docs.aws.amazon.com/apigateway/latest/developerguide/limits.html",
    ),
    "apigateway_rest_max_integration_timeout_ms": Quota(
        29_000,
        "milliseconds (REST integration timeout, default maximum)",
        "https://docs.aws.amazon.com/apigateway/latest/developerguide/limits.html",
    ),
    # Step Functions StartExecution: a token bucket per account and region, larger in three regions.
    "sfn_standard_start_burst_large_regions": Quota(
        1_300,
        "StartExecution bucket size (Standard) in us-east-1, us-west-2 and eu-west-1",
        SFN_QUOTAS_URL,
    ),
    "sfn_standard_start_rate_large_regions": Quota(
        300,
        "StartExecution refill per second (Standard) in us-east-1, us-west-2 and eu-west-1",
        SFN_QUOTAS_URL,
    ),
    "sfn_standard_start_burst": Quota(800, "StartExecution bucket size (Standard), every other region", SFN_QUOTAS_URL),
    "sfn_standard_start_rate": Quota(
        150, "StartExecution refill per second (Standard), every other region", SFN_QUOTAS_URL
    ),
    "sfn_express_start_rate": Quota(
        100_000,
        "execution starts per second (Express; no bucket size published: the model allows one second's worth)",
        "https://docs.aws.amazon.com/step-functions/latest/dg/choosing-workflow-type.html",
    ),
}

# Where Step Functions' StartExecution bucket is the larger one.
SFN_LARGE_REGIONS: Final = frozenset({"us-east-1", "us-west-2", "eu-west-1"})


def quota(name: str) -> float:
    return QUOTAS[name].value


def sfn_start_bucket(workflow_type: str, region: str) -> tuple[float, float]:
    """``(refill per second, bucket size)`` of StartExecution for a workflow type in a region."""
    if workflow_type.upper() == "EXPRESS":
        rate = quota("sfn_express_start_rate")
        return rate, rate
    if region in SFN_LARGE_REGIONS:
        return quota("sfn_standard_start_rate_large_regions"), quota("sfn_standard_start_burst_large_regions")
    return quota("sfn_standard_start_rate"), quota("sfn_standard_start_burst")


# --- tracing paths and their support ------------------------------------------------------------------
XRAY_EOS_URL: Final = "https://docs.aws.amazon.com/xray/latest/devguide/xray-daemon-eos.html"
ADOT_LAMBDA_PYTHON_URL: Final = "https://aws-otel.github.io/docs/getting-started/lambda/lambda-python"


@dataclass(frozen=True)
class TracingPathFact:
    path: str
    description: str
    source: str
    maintenance_on: date | None = None
    """From this day AWS releases only critical security fixes."""
    end_of_support_on: date | None = None
    """From this day AWS releases nothing more (published releases stay available)."""
    checked_on: date = CHECKED_ON

    def days_left(self, on: date) -> int | None:
        """Days from ``on`` to the end of support (negative: past it); None: no end announced."""
        return (self.end_of_support_on - on).days if self.end_of_support_on is not None else None


TRACING_PATHS: Final[Mapping[str, TracingPathFact]] = {
    "xray": TracingPathFact(
        "xray",
        "the X-Ray SDKs and daemon",
        XRAY_EOS_URL,
        maintenance_on=date(2026, 2, 25),
        end_of_support_on=date(2027, 2, 25),
    ),
    # AWS's recommended path off the X-Ray SDKs: OpenTelemetry through the ADOT Lambda layer,
    # which exports to X-Ray. No end of support announced.
    "otel": TracingPathFact("otel", "OpenTelemetry through the ADOT Lambda layer", ADOT_LAMBDA_PYTHON_URL),
}


# --- fair queues, objectives and tenant isolation (features of 2024-2025) -----------------------------
_T = TypeVar("_T")


@dataclass(frozen=True)
class DatedFact(Generic[_T]):
    """A behaviour or a set of names AWS (or the SRE workbook) documents, with where it was read."""

    value: _T
    source: str
    announced: str | None = None
    """The month the feature shipped (``YYYY-MM``) where it is new; None for long-standing ones."""
    checked_on: date = CHECKED_ON


SQS_FAIR_QUEUES: Final[DatedFact[dict[str, Any]]] = DatedFact(
    # A standard queue is fair as soon as its messages carry a MessageGroupId (the tenant): nothing
    # is set on the queue. A tenant turns noisy above ~10% of the in-flight messages with at least
    # 30 of its own in flight, or above ~10% of the consumers' recent processing time; it is quiet
    # again when its backlog is drained or after 5 minutes without a send. Noisy messages are never
    # dropped or throttled: quiet tenants' messages are simply returned first.
    {"tenant_key": "MessageGroupId", "noisy_inflight_share": 0.10, "noisy_min_inflight": 30, "quiet_after_s": 300},
    "https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-fair-queues-detailed.html",
    announced="2025-07",
)
SQS_FAIR_QUEUE_METRICS: Final[DatedFact[tuple[str, str, str, str, str]]] = DatedFact(
    (
        "ApproximateNumberOfNoisyGroups",
        "ApproximateNumberOfMessagesVisibleInQuietGroups",
        "ApproximateNumberOfMessagesNotVisibleInQuietGroups",
        "ApproximateNumberOfMessagesDelayedInQuietGroups",
        "ApproximateAgeOfOldestMessageInQuietGroups",
    ),
    "https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-available-cloudwatch-metrics.html",
    announced="2025-07",
)
COMPOSITE_ALARM_RULE: Final[DatedFact[dict[str, tuple[str, ...]]]] = DatedFact(
    # ALARM("name"), OK("name"), INSUFFICIENT_DATA("name"), TRUE, FALSE joined with AND, OR, NOT and
    # parentheses; names or ARNs. Every alarm the rule names must exist when the composite is put.
    {"functions": ("ALARM", "OK", "INSUFFICIENT_DATA"), "operators": ("AND", "OR", "NOT")},
    "https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutCompositeAlarm.html",
)
CLOUDWATCH_PERCENTILE_RANK: Final[DatedFact[str]] = DatedFact(
    # PR(:300): the percentage of data points at or below 300 (a latency objective's good share).
    "PR(:{threshold})",
    "https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/Statistics-definitions.html",
)
APIGATEWAY_METRICS: Final[DatedFact[dict[str, dict[str, Any]]]] = DatedFact(
    {
        "rest": {
            "requests": "Count",
            "5xx": "5XXError",
            "4xx": "4XXError",
            "latency": "Latency",
            "dims": ("ApiName", "Stage"),
        },
        "http": {"requests": "Count", "5xx": "5xx", "4xx": "4xx", "latency": "Latency", "dims": ("ApiId", "Stage")},
        # WebSocket APIs publish no Count, 5xx or Latency: only ConnectCount, MessageCount and errors.
        "websocket": {"requests": "MessageCount", "5xx": "ExecutionError", "dims": ("ApiId", "Stage")},
    },
    "https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-metrics-and-dimensions.html",
)
BURN_RATE_WINDOWS: Final[DatedFact[tuple[tuple[int, int, float, str], ...]]] = DatedFact(
    # (long window s, short window s, burn rate, severity): 2% of a 30-day budget in 1 h, 5% in
    # 6 h (pages); 10% in 3 days (a ticket). The short window ends the alert soon after the burn stops.
    ((3600, 300, 14.4, "page"), (21600, 1800, 6.0, "page"), (259200, 21600, 1.0, "ticket")),
    "https://sre.google/workbook/alerting-on-slos/",
)
CLOUDWATCH_ALARM_MAX_EVALUATION_S: Final[DatedFact[dict[str, int]]] = DatedFact(
    # Period x evaluation periods of a metric alarm: at most 7 days, and at most 1 day for a period
    # under one hour. A window is one period of the alarm, so 5 min to 3 days all fit.
    {"period_under_1h": 86_400, "period_1h_or_more": 604_800},
    "https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutMetricAlarm.html",
)
LAMBDA_TENANCY_IMMUTABLE: Final[DatedFact[str]] = DatedFact(
    # TenancyConfig.TenantIsolationMode (PER_TENANT) cannot be modified after function creation;
    # CloudFormation: "Update requires: Replacement".
    "PER_TENANT",
    "https://docs.aws.amazon.com/lambda/latest/api/API_TenancyConfig.html",
)
