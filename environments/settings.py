"""The reference deployment's stack settings: every key a stack file may set, its type, default
and allowed range, declared with the package's settings machinery
(``resilient_serverless.components.settings``, which any user's program uses the same way).

Read once at the top of ``__main__.py``, before any resource is registered. An unknown key or a
value out of range raises one ``ConfigError`` naming each key, its value and the allowed range.
Differences between environments live in the stack files as values of these keys, never as
``if stack == ...`` in code. ``Pulumi.yaml`` declares the same keys, types and defaults for the
Pulumi CLI; a test keeps the two equal.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

from resilient_serverless.components import defaults
from resilient_serverless.components.rules import RULES
from resilient_serverless.components.settings import (
    OFFLINE_SECRET,
    SettingSpec,
    StackSettingsSpec,
    check_region,
    email,
    provider_namespaces,
)
from resilient_serverless.components.settings import choice as _choice
from resilient_serverless.components.settings import int_range as _int_range
from resilient_serverless.components.validation import Problems

__all__ = [
    "DECLARATION",
    "OFFLINE_SECRET",
    "SPECS",
    "SettingSpec",
    "StackSettings",
    "check_known_keys",
    "check_namespaces",
    "check_region",
    "closest_keys",
    "load_settings",
    "parse_settings",
    "provider_namespaces",
]

_email = email


def _waivers(p: Problems, key: str, value: Any) -> bool:
    ok = True
    for entry in value:
        rule_id, _, reason = str(entry).partition(":")
        if rule_id.strip() not in RULES:
            p.add(f"{key} entry {entry!r} names no rule (known rules: {', '.join(sorted(RULES))})")
            ok = False
        elif not reason.strip():
            p.add(f"{key} entry {entry!r} needs a reason: 'rule-id: why this stack waives it'")
            ok = False
    return ok


SPECS: tuple[SettingSpec, ...] = (
    SettingSpec(
        "logRetentionDays",
        "log_retention_days",
        int,
        defaults.LOG_RETENTION_DAYS,
        "Days CloudWatch keeps function and access logs",
        _choice(*defaults.LOG_RETENTION_DAYS_ALLOWED),
    ),
    SettingSpec(
        "logLevel",
        "log_level",
        str,
        defaults.LOG_LEVEL,
        "Application log level of every function",
        _choice("DEBUG", "INFO", "WARN", "ERROR"),
    ),
    SettingSpec("tracing", "tracing", bool, defaults.TRACING, "X-Ray active tracing on functions"),
    SettingSpec(
        "architecture",
        "architecture",
        str,
        defaults.FUNCTION_ARCHITECTURE,
        "Lambda architecture",
        _choice("arm64", "x86_64"),
    ),
    SettingSpec(
        "functionTimeoutSeconds",
        "function_timeout",
        int,
        defaults.FUNCTION_TIMEOUT_S,
        "Timeout of the API functions (seconds)",
        _int_range(*defaults.LAMBDA_TIMEOUT_RANGE, unit="seconds", why="Lambda timeout"),
    ),
    SettingSpec(
        "functionMemoryMb",
        "function_memory",
        int,
        defaults.FUNCTION_MEMORY_MB,
        "Memory of every function (MB)",
        _int_range(*defaults.LAMBDA_MEMORY_RANGE, unit="MB", why="Lambda memory"),
    ),
    SettingSpec(
        "accountConcurrency",
        "account_concurrency",
        int,
        defaults.LAMBDA_ACCOUNT_CONCURRENCY,
        "The account's Lambda concurrency quota in this region",
        _int_range(defaults.LAMBDA_UNRESERVED_FLOOR + 1, 1_000_000),
    ),
    SettingSpec(
        "reservedConcurrency",
        "reserved_concurrency",
        int,
        defaults.FUNCTION_RESERVED_CONCURRENCY,
        "Reserved concurrency of each API function (the cheap rejection of excess work)",
    ),
    SettingSpec(
        "provisionedConcurrency",
        "provisioned_concurrency",
        int,
        0,
        "Warm environments on the API function's live alias (0 for none)",
    ),
    SettingSpec(
        "ingestMaxConcurrency",
        "ingest_max_concurrency",
        int,
        5,
        "Most concurrent consumers on the high-priority order inbox (its mapping's maximum concurrency)",
        _int_range(2, 1000, why="SQS event source mapping maximum concurrency"),
    ),
    SettingSpec(
        "ingestDedupStore",
        "ingest_dedup_store",
        bool,
        False,
        "A dedup store for the order inbox consumers: a redelivery after a timeout between a deferral or "
        "dead-letter write and its acknowledgement is not written twice (costs request units: see the plan)",
    ),
    SettingSpec(
        "powertools",
        "powertools",
        str,
        "layer",
        "Powertools from the official layer, or bundled in the package (LocalStack free has no layers)",
        _choice("layer", "bundle"),
    ),
    SettingSpec(
        "apiFlavor",
        "api_flavor",
        str,
        "rest",
        "API Gateway flavour of the front door: rest or http (LocalStack free emulates rest)",
        _choice("rest", "http"),
    ),
    SettingSpec(
        "apiRateLimit",
        "api_rate_limit",
        int,
        int(defaults.API_THROTTLE_RATE),
        "Stage throttle of the front door (requests per second)",
        _int_range(1, int(defaults.API_ACCOUNT_RATE_MAX), unit="requests per second", why="never 0"),
    ),
    SettingSpec(
        "apiBurstLimit",
        "api_burst_limit",
        int,
        defaults.API_THROTTLE_BURST,
        "Stage burst of the front door (requests)",
        _int_range(1, defaults.API_ACCOUNT_BURST_MAX, why="API Gateway account burst"),
    ),
    SettingSpec(
        "apiGatewayAccountRole",
        "api_gateway_account_role",
        bool,
        False,
        "Manage the region's API Gateway logging role (on in one stack per account and region: dev, and local)",
    ),
    SettingSpec(
        "apiGatewayAccountRoleManagedElsewhere",
        "api_gateway_account_role_managed_elsewhere",
        bool,
        False,
        "Another stack of this account and region manages the API Gateway logging role (deployed first)",
    ),
    SettingSpec(
        "apiAuth",
        "api_auth",
        str,
        "iam",
        "Who may call the front door: iam (SigV4-signed callers allowed execute-api:Invoke) or none (public)",
        _choice("iam", "none"),
    ),
    SettingSpec("canary", "canary", bool, False, "A CloudWatch Synthetics canary on the front door"),
    SettingSpec(
        "contributorInsights",
        "contributor_insights",
        bool,
        False,
        "CloudWatch Contributor Insights rules (top callers)",
    ),
    SettingSpec("alarmEmail", "alarm_email", str, "", "Email subscribed to the ops alarm topic", _email),
    SettingSpec(
        "pushNotifications",
        "push_notifications",
        bool,
        True,
        "Push job results over a WebSocket API (WebSocketNotifier); off, clients poll",
    ),
    SettingSpec(
        "pushOffReason",
        "push_off_reason",
        str,
        "",
        "Why this stack has no push (required when pushNotifications is false; shown in the plan)",
    ),
    SettingSpec(
        "waivers",
        "waivers",
        list,
        [],
        "Rules this stack waives, each as 'rule-id: reason' (shown in the plan, never silent)",
        _waivers,
    ),
    # --- AsyncJobWorkflow (the reports job API) ---
    SettingSpec(
        "jobWorkflowType",
        "job_workflow_type",
        str,
        defaults.JOB_WORKFLOW_TYPE,
        "Step Functions type of the reports workflow: STANDARD (long, exactly-once) or EXPRESS (short, cheap)",
        _choice("STANDARD", "EXPRESS"),
    ),
    SettingSpec(
        "jobExecutionTimeoutSeconds",
        "job_execution_timeout",
        int,
        defaults.JOB_EXECUTION_TIMEOUT_S,
        "Bound on one reports execution (seconds; Express at most 300)",
        _int_range(60, 31_536_000, unit="seconds", why="Step Functions Standard limit"),
    ),
    SettingSpec(
        "jobStarterMaxConcurrency",
        "job_starter_max_concurrency",
        int,
        defaults.JOB_STARTER_MAX_CONCURRENCY,
        "Most concurrent starters draining the reports start queue (bounds the StartExecution rate)",
        _int_range(2, 1000, why="SQS event source mapping maximum concurrency"),
    ),
    SettingSpec(
        "jobResultUrlTtlSeconds",
        "job_result_url_ttl",
        int,
        defaults.JOB_RESULT_URL_TTL_S,
        "Lifetime of a pre-signed result URL (seconds, at most 1 hour: signed with temporary credentials)",
        _int_range(1, defaults.PRESIGNED_URL_MAX_S, unit="seconds", why=defaults.PRESIGNED_URL_WHY),
    ),
)


# The package's machinery over these keys: parsing, messages, and the config block of Pulumi.yaml
# (python -m resilient_serverless.components.settings check --spec environments.settings:DECLARATION).
DECLARATION = StackSettingsSpec(SPECS)


@dataclass(frozen=True)
class StackSettings:
    log_retention_days: int
    log_level: str
    tracing: bool
    architecture: str
    function_timeout: int
    function_memory: int
    account_concurrency: int
    reserved_concurrency: int
    provisioned_concurrency: int
    ingest_max_concurrency: int
    ingest_dedup_store: bool
    powertools: str
    api_flavor: str
    api_rate_limit: int
    api_burst_limit: int
    api_gateway_account_role: bool
    api_gateway_account_role_managed_elsewhere: bool
    api_auth: str
    canary: bool
    contributor_insights: bool
    alarm_email: str
    push_notifications: bool
    push_off_reason: str
    waivers: tuple[str, ...]
    job_workflow_type: str
    job_execution_timeout: int
    job_starter_max_concurrency: int
    job_result_url_ttl: int

    def waived_rules(self) -> dict[str, str]:
        """``rule-id -> reason`` from the ``waivers`` entries."""
        return {e.partition(":")[0].strip(): e.partition(":")[2].strip() for e in self.waivers}


def parse_settings(
    raw: Mapping[str, Any], subject: str = "stack settings", secret_keys: Collection[str] = ()
) -> StackSettings:
    """Validate raw ``key -> value`` (keys without the project namespace) into settings.
    ``secret_keys`` (same form) are never printed: their problems show ``[secret]``."""
    p = Problems(subject)
    values = DECLARATION.collect(p, raw, secret_keys)
    account, reserved = values["account_concurrency"], values["reserved_concurrency"]
    if account is not None and reserved is not None:
        ceiling = account - defaults.LAMBDA_UNRESERVED_FLOOR
        if not p.check_int_range(
            "reservedConcurrency",
            reserved,
            1,
            ceiling,
            why=f"accountConcurrency {account} minus the {defaults.LAMBDA_UNRESERVED_FLOOR} AWS keeps unreserved",
        ):
            reserved = None
    provisioned = values["provisioned_concurrency"]
    if provisioned is not None and reserved is not None:
        p.check_int_range(
            "provisionedConcurrency",
            provisioned,
            0,
            reserved,
            why="provisioned concurrency cannot exceed reservedConcurrency",
        )
    rate, burst = values["api_rate_limit"], values["api_burst_limit"]
    if rate is not None and burst is not None and burst < rate:
        p.add(f"apiBurstLimit={burst!r} is below apiRateLimit={rate!r}: the bucket must hold one second of the rate")
    reason = values["push_off_reason"]  # None when it is not text (reported above)
    if values["push_notifications"] is False and reason is not None and not reason.strip():
        p.add(
            "pushOffReason is required when pushNotifications is false: say why clients of this stack poll "
            "(the plan shows it)"
        )
    if values["push_notifications"] is True and reason and reason.strip():
        p.add(
            f"pushOffReason={reason!r} is set while pushNotifications is true: a reason without its switch "
            "(set pushNotifications: false, or remove pushOffReason)"
        )
    _check_timeout_for_flavor(p, values["function_timeout"], values["api_flavor"])
    margin = defaults.QUEUE_CONSUMER_DEADLINE_MARGIN_S
    if values["function_timeout"] is not None and values["function_timeout"] <= margin:
        p.add(
            f"functionTimeoutSeconds={values['function_timeout']!r} is at or below the order inbox consumers' "
            f"deadline margin of {margin} s: they would start no record; the minimum is {margin + 1} s"
        )
    workflow, execution = values["job_workflow_type"], values["job_execution_timeout"]
    if workflow == "EXPRESS" and execution is not None and execution > 300:
        p.add(f"jobExecutionTimeoutSeconds={execution!r} is above 300 s, the most an EXPRESS workflow runs")
    p.raise_if_any()
    return StackSettings(**values)


def closest_keys(key: str) -> list[str]:
    """The valid keys a mistyped ``key`` most likely meant."""
    return DECLARATION.closest_keys(key)


def check_known_keys(p: Problems, raw: Mapping[str, Any]) -> None:
    """An unknown key, with the closest valid one; the whole list is one command away."""
    DECLARATION.check_known_keys(p, raw)


def check_namespaces(p: Problems, keys: Collection[str], project: str, providers: Collection[str]) -> None:
    """A key in a namespace that is neither the project's nor a provider's, named with the closest valid key."""
    DECLARATION.check_namespaces(p, keys, project, providers)


def _check_timeout_for_flavor(p: Problems, timeout: int | None, flavor: str | None) -> None:
    """The API function must give up before API Gateway does: named here, as the setting, rather
    than later as a route of the API."""
    limits = {"rest": defaults.REST_INTEGRATION_TIMEOUT_MAX_S, "http": defaults.HTTP_INTEGRATION_TIMEOUT_MAX_S}
    if timeout is None or flavor not in limits or timeout < limits[flavor]:
        return
    p.add(
        f"functionTimeoutSeconds={timeout!r} must be below {limits[flavor]} s with apiFlavor={flavor!r}: "
        f"API Gateway {flavor.upper()} gives up after {limits[flavor]} s, before the function would"
    )


def load_settings() -> StackSettings:
    """The current stack's settings, validated. Raises ``ConfigError`` before any resource."""
    settings: StackSettings = DECLARATION.load(parse_settings)
    return settings
