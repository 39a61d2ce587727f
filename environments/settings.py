"""The stack settings: every key a stack file may set, its type, default and allowed range.

Read once at the top of ``__main__.py``, before any resource is registered. An unknown key or a
value out of range raises one ``ConfigError`` naming each key, its value and the allowed range.
Differences between environments live in the stack files as values of these keys, never as
``if stack == ...`` in code. ``Pulumi.yaml`` declares the same keys, types and defaults for the
Pulumi CLI; a test keeps the two equal.
"""

from __future__ import annotations

import difflib
import importlib.metadata
import json
import os
import re
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any

import pulumi
from pulumi.runtime import config as runtime_config
from resilient_serverless.components import defaults
from resilient_serverless.components.rules import RULES
from resilient_serverless.components.validation import ConfigError, Problems

__all__ = [
    "SPECS",
    "SettingSpec",
    "StackSettings",
    "check_known_keys",
    "closest_keys",
    "load_settings",
    "parse_settings",
]

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


@dataclass(frozen=True)
class SettingSpec:
    key: str  # as written in the stack file, after "<project>:"
    attr: str  # StackSettings field
    type: type
    default: Any
    description: str
    check: Callable[[Problems, str, Any], bool] | None = None


def _int_range(low: int, high: int, *, unit: str = "", why: str = "") -> Callable[[Problems, str, Any], bool]:
    return lambda p, key, value: p.check_int_range(key, value, low, high, unit=unit, why=why)


def _choice(*allowed: Any) -> Callable[[Problems, str, Any], bool]:
    return lambda p, key, value: p.check_choice(key, value, allowed)


def _email(p: Problems, key: str, value: Any) -> bool:
    # fullmatch: with match, "$" also matches before a trailing newline ("ops@example.com\n").
    if value and not EMAIL.fullmatch(value):
        p.add(f"{key}={value!r} is not an email address (or leave it empty for no subscription)")
        return False
    return True


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
        "Manage the region's API Gateway logging role (on in one stack per account and region: staging, and local)",
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


def _to_bool(raw: Any) -> bool:
    if isinstance(raw, bool) or str(raw).lower() in ("true", "false"):
        return raw if isinstance(raw, bool) else str(raw).lower() == "true"
    raise ValueError("must be true or false")


# A whole number as a stack file writes one: a YAML integer, which the CLI hands over as ASCII
# digits. int() alone also reads other scripts' digits ("١٠٢٤"), full-width digits, "1_000" and
# padding, none of which the Pulumi CLI's own integer type check accepts.
WHOLE_NUMBER = re.compile(r"-?[0-9]+")


def _to_int(raw: Any) -> int:
    if isinstance(raw, int) and not isinstance(raw, bool):
        return raw
    if isinstance(raw, str) and WHOLE_NUMBER.fullmatch(raw):
        return int(raw)
    raise ValueError("must be a whole number (the digits 0 to 9, or a YAML integer)")


def _to_str(raw: Any) -> str:
    if not isinstance(raw, str):
        raise ValueError("must be text (quote it in the stack file)")
    return raw


def _to_list(raw: Any) -> tuple[str, ...]:
    value = json.loads(raw) if isinstance(raw, str) and raw.startswith("[") else raw
    if not isinstance(value, list | tuple):
        raise ValueError("must be a list")
    return tuple(str(v) for v in value)


_PARSERS: dict[type, Callable[[Any], Any]] = {bool: _to_bool, int: _to_int, list: _to_list, str: _to_str}


def _parse(spec: SettingSpec, raw: Any, p: Problems) -> Any:
    """Config arrives as strings (JSON for structures); turn one into the spec's type."""
    try:
        return _PARSERS[spec.type](raw)
    except ValueError as error:
        p.add(f"{spec.key}={raw!r} {error}")
        return None


# What a ``secure:`` value is offline, where it cannot be decrypted (components.testing.capture's
# OFFLINE_SECRET; a test keeps the two equal): accepted unchecked, since there is nothing to check.
OFFLINE_SECRET = "[secret]"


def _value_of(spec: SettingSpec, raw: Mapping[str, Any], p: Problems, secret: bool) -> Any:
    """The parsed and checked value of one setting (None when bad). A secret's plain value is
    checked like any other, but its problems show ``[secret]`` where the value would be."""
    if spec.key not in raw:
        return tuple(spec.default) if isinstance(spec.default, list) else spec.default
    if secret and raw[spec.key] == OFFLINE_SECRET:
        return raw[spec.key] if spec.type is str else spec.default
    checks = Problems(p.subject) if secret else p
    value = parsed = _parse(spec, raw[spec.key], checks)
    if isinstance(value, list):
        value = tuple(value)
    if value is not None and spec.check is not None and not spec.check(checks, spec.key, value):
        value = None
    if secret:  # messages write the value as key=repr(value): as given, or as parsed
        shown = {f"{spec.key}={raw[spec.key]!r}", f"{spec.key}={parsed!r}", f"{spec.key}={value!r}"}
        for problem in checks.items:
            redacted = problem
            for text in shown:
                redacted = redacted.replace(text, f"{spec.key}=[secret]")
            p.add(redacted)
    return value


def parse_settings(
    raw: Mapping[str, Any], subject: str = "stack settings", secret_keys: Collection[str] = ()
) -> StackSettings:
    """Validate raw ``key -> value`` (keys without the project namespace) into settings.
    ``secret_keys`` (same form) are never printed: their problems show ``[secret]``."""
    p = Problems(subject)
    check_known_keys(p, raw)
    values = {spec.attr: _value_of(spec, raw, p, spec.key in secret_keys) for spec in SPECS}
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
    """The valid keys a mistyped ``key`` most likely meant: the closest spellings, else (for a
    shortened key such as ``retention``) the keys that contain it, case aside."""
    valid = [spec.key for spec in SPECS]
    by_lower = {k.lower(): k for k in valid}
    close = difflib.get_close_matches(key.lower(), list(by_lower), n=2, cutoff=0.6)
    if not close:
        close = [k for k in by_lower if key.lower() in k][:2] if len(key) >= 3 else []
    return [by_lower[k] for k in close]


def check_known_keys(p: Problems, raw: Mapping[str, Any]) -> None:
    """An unknown key, with the closest valid one; the whole list is one command away (27 keys on
    one line buried the hint)."""
    known = {spec.key for spec in SPECS}
    for key in sorted(set(raw) - known):
        close = closest_keys(str(key))
        listed = f"(run 'resilient-serverless keys' for all {len(known)})"
        if close:
            p.add(f"unknown setting {key!r}: did you mean {' or '.join(repr(k) for k in close)}? {listed}")
        else:
            p.add(f"unknown setting {key!r} {listed}")


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


def _config_items(namespace: str) -> dict[str, Any]:
    """Every config key the program was given in ``namespace`` (the Pulumi SDK has no public
    listing: the values come from the runtime's map and the ``PULUMI_CONFIG`` environment)."""
    prefix = f"{namespace}:"
    return {k[len(prefix) :]: v for k, v in _all_config().items() if k.startswith(prefix)}


# Provider settings this program reads and checks itself.
AWS_REGION = re.compile(r"[a-z]{2}(-[a-z]+)+-\d{1,2}")


def _all_config() -> dict[str, Any]:
    merged: dict[str, Any] = {}
    env = os.environ.get("PULUMI_CONFIG")
    if env:
        merged.update(json.loads(env))
    merged.update(runtime_config.CONFIG.get())
    return merged


def provider_namespaces() -> set[str]:
    """``pulumi`` and the namespace of every installed Pulumi provider (``pulumi-aws`` -> aws)."""
    names = {"pulumi"}
    for dist in importlib.metadata.distributions():
        name = (dist.metadata["Name"] or "").lower().replace("_", "-")
        if name.startswith("pulumi-"):
            names.add(name[len("pulumi-") :])
    return names


def check_namespaces(p: Problems, keys: Collection[str], project: str, providers: Collection[str]) -> None:
    """A key in a namespace that is neither the project's nor a provider's is a typo (its value
    would be silently ignored and the default used): name it with the closest valid key."""
    valid = [f"{project}:{spec.key}" for spec in SPECS] + ["aws:region"]
    for key in sorted(keys):
        namespace = key.split(":", 1)[0]
        if ":" not in key or namespace == project or namespace in providers:
            continue
        close = difflib.get_close_matches(key, valid, n=1, cutoff=0.6)
        hint = f"did you mean {close[0]!r}?" if close else f"settings of this project are '{project}:<key>'"
        p.add(f"{key!r} is in namespace {namespace!r}, neither the project's nor a provider's: {hint}")


def check_region(p: Problems, region: Any) -> None:
    """``aws:region`` when set: one region name such as eu-west-1 (a list or null reaches the
    provider as text and fails there, after the plan said it was fine)."""
    if region is not None and not (isinstance(region, str) and AWS_REGION.fullmatch(region)):
        p.add(f"aws:region={region!r} is not an AWS region name such as 'eu-west-1'")


def load_settings() -> StackSettings:
    """The current stack's settings, validated. Raises ``ConfigError`` before any resource."""
    project, stack = pulumi.get_project(), pulumi.get_stack()
    subject = f"stack {stack!r} settings ({project}:*)"
    p = Problems(subject)
    config = _all_config()
    check_namespaces(p, config, project, provider_namespaces())
    check_region(p, config.get("aws:region"))
    secret = set(runtime_config.get_config_secret_keys_env())
    secrets = {k.split(":", 1)[1] for k in config if runtime_config.is_config_secret(k) or k in secret}
    try:
        settings = parse_settings(_config_items(project), subject=subject, secret_keys=secrets)
    except ConfigError as error:
        raise ConfigError(subject, [*p.items, *error.problems]) from None
    p.raise_if_any()
    return settings
