"""Every ResilientFunction argument checked before the first child: one ConfigError names every
problem, and the result is the ``_Settings`` the component builds from."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pulumi

from .. import defaults
from ..packaging import handler_problem
from ..validation import Problems
from .args import (
    ARCHITECTURES,
    INVOCATIONS,
    LOG_LEVELS,
    POWERTOOLS_SOURCES,
    RECURSIVE_LOOPS,
    RUNTIMES,
    TRACING_PROVIDERS,
    ResilientFunctionArgs,
)


@dataclass(frozen=True)
class _Settings:
    """ResilientFunctionArgs with every default filled in, after validation."""

    handler: str
    code: pulumi.Archive
    invocation: str
    timeout: int
    memory: int
    runtime: str
    architecture: str
    reserved_concurrency: int | None
    provisioned_concurrency: int
    snap_start: bool
    recursive_loop: str
    tenant_isolation: bool
    async_max_retries: int
    async_max_event_age: int
    on_failure_destination_arn: pulumi.Input[str] | None
    environment: Mapping[str, pulumi.Input[str]]
    log_level: str
    log_retention_days: int
    tracing: bool
    service_name: str
    metrics_namespace: str
    powertools: str
    tracing_provider: str
    otel_layer_arn: str | None
    powertools_layer_version: int
    alarm_topic_arn: pulumi.Input[str] | None
    description: str | None

    @property
    def needs_alias(self) -> bool:
        return self.provisioned_concurrency > 0 or self.snap_start


def _check_tracing_provider(args: Mapping[str, Any], p: Problems) -> tuple[str, str | None]:
    provider = args.get("tracing_provider", defaults.TRACING_PROVIDER)
    arn = args.get("otel_layer_arn")
    if not p.check_choice("tracing_provider", provider, TRACING_PROVIDERS):
        return provider, arn
    if provider != "otel":
        if arn:
            p.add(f"otel_layer_arn applies only to tracing_provider='otel', not {provider!r}")
    elif not arn:
        p.add(
            "tracing_provider='otel' needs otel_layer_arn: the AWSOpenTelemetryDistroPython layer of "
            "the function's region (its account and version differ per region)"
        )
    elif not (isinstance(arn, str) and arn.startswith("arn:") and ":layer:" in arn):
        p.add(f"otel_layer_arn={arn!r} is not a Lambda layer version ARN")
    return provider, arn


def check_handler_and_code(p: Problems, handler: Any, code: Any) -> None:
    """The handler's dotted form and the code path (shared with the components that make
    functions from a handler and code, so they refuse them before their first child)."""
    if handler and (not isinstance(handler, str) or "." not in handler):
        p.add(f"handler={handler!r} must be 'module.function', e.g. 'handlers.orders.lambda_handler'")
    if isinstance(code, str) and not Path(code).exists():
        p.add(f"code={code!r} is not an existing path")
    elif code and not isinstance(code, str | pulumi.Archive):
        p.add(f"code={code!r} must be a pulumi.Archive or a directory path")


def _validate(name: str, args: Mapping[str, Any], transform_check: Any) -> _Settings:  # noqa: C901, PLR0912, PLR0915
    p = Problems(f"ResilientFunction {name!r}")
    p.check_known_keys(args, ResilientFunctionArgs.__annotations__, what="argument")
    for required in ("handler", "code"):
        if not args.get(required):
            p.add(f"{required} is required")
    invocation = args.get("invocation", "sync")
    p.check_choice("invocation", invocation, INVOCATIONS)
    timeout = args.get("timeout", defaults.FUNCTION_TIMEOUT_S)
    timeout_ok = p.check_int_range(
        "timeout", timeout, *defaults.LAMBDA_TIMEOUT_RANGE, unit="seconds", why="Lambda timeout"
    )
    if timeout_ok and invocation == "sync" and timeout >= defaults.HTTP_INTEGRATION_TIMEOUT_MAX_S:
        p.add(
            f"timeout={timeout!r} is too long for a sync function: it must be below "
            f"{defaults.HTTP_INTEGRATION_TIMEOUT_MAX_S} s so it gives up before API Gateway "
            f"({defaults.REST_INTEGRATION_TIMEOUT_MAX_S} s REST, "
            f"{defaults.HTTP_INTEGRATION_TIMEOUT_MAX_S} s HTTP): use invocation='async' for longer work"
        )
    memory = args.get("memory", defaults.FUNCTION_MEMORY_MB)
    p.check_int_range("memory", memory, *defaults.LAMBDA_MEMORY_RANGE, unit="MB", why="Lambda memory")
    runtime = args.get("runtime", defaults.FUNCTION_RUNTIME)
    p.check_choice("runtime", runtime, RUNTIMES)
    architecture = args.get("architecture", defaults.FUNCTION_ARCHITECTURE)
    p.check_choice("architecture", architecture, ARCHITECTURES)

    account = args.get("account_concurrency", defaults.LAMBDA_ACCOUNT_CONCURRENCY)
    account_ok = p.check_int_range("account_concurrency", account, defaults.LAMBDA_UNRESERVED_FLOOR + 1, 1_000_000)
    default_reserved = None if invocation == "queue" else defaults.FUNCTION_RESERVED_CONCURRENCY
    reserved = args.get("reserved_concurrency", default_reserved)
    if reserved is None:
        if invocation != "queue":
            p.add(
                f"reserved_concurrency=None is only allowed for queue functions (their mapping's "
                f"maximum concurrency bounds them): a {invocation} function needs a limit to shed "
                f"excess work"
            )
    elif account_ok:
        ceiling = account - defaults.LAMBDA_UNRESERVED_FLOOR
        if (
            p.check_int_range(
                "reserved_concurrency",
                reserved,
                0,
                ceiling,
                why=f"account concurrency {account} minus the {defaults.LAMBDA_UNRESERVED_FLOOR} AWS keeps unreserved",
            )
            and reserved == 0
            and not args.get("allow_zero_concurrency")
        ):
            p.add(
                "reserved_concurrency=0 disables the function (every invocation is throttled): "
                "set allow_zero_concurrency=True if that is the intent"
            )

    provisioned = args.get("provisioned_concurrency", 0)
    if (
        p.check_int_range("provisioned_concurrency", provisioned, 0, 1_000_000)
        and isinstance(reserved, int)
        and not isinstance(reserved, bool)
        and provisioned > reserved
    ):
        p.add(
            f"provisioned_concurrency={provisioned!r} exceeds reserved_concurrency={reserved!r}: "
            "warm environments beyond the reservation could never serve a request"
        )
    snap_start = bool(args.get("snap_start", False))
    if snap_start and provisioned:
        p.add(f"snap_start=True cannot be combined with provisioned_concurrency={provisioned!r} (AWS)")
    recursive_loop = args.get("recursive_loop", defaults.FUNCTION_RECURSIVE_LOOP)
    p.check_choice("recursive_loop", recursive_loop, RECURSIVE_LOOPS)
    tenant_isolation = args.get("tenant_isolation", False)
    if tenant_isolation is True:
        _check_tenant_isolation(invocation, provisioned, snap_start, p)
    elif tenant_isolation is not False:
        p.add(f"tenant_isolation={tenant_isolation!r} must be True or False")

    retries = args.get("async_max_retries", defaults.ASYNC_MAX_RETRIES)
    age = args.get("async_max_event_age", defaults.ASYNC_MAX_EVENT_AGE_S)
    p.check_int_range(
        "async_max_retries", retries, *defaults.LAMBDA_ASYNC_RETRIES_RANGE, why="Lambda async invocation retries"
    )
    p.check_int_range(
        "async_max_event_age", age, *defaults.LAMBDA_EVENT_AGE_RANGE, unit="seconds", why="Lambda maximum event age"
    )
    async_only = ("async_max_retries", "async_max_event_age", "on_failure_destination_arn")
    if invocation != "async":
        for key in async_only:
            if key in args:
                p.add(f"{key} applies only to invocation='async', not {invocation!r}")

    log_level = args.get("log_level", defaults.LOG_LEVEL)
    p.check_choice("log_level", log_level, LOG_LEVELS)
    retention = args.get("log_retention_days", defaults.LOG_RETENTION_DAYS)
    p.check_choice("log_retention_days", retention, defaults.LOG_RETENTION_DAYS_ALLOWED)
    powertools = args.get("powertools", "layer")
    p.check_choice("powertools", powertools, POWERTOOLS_SOURCES)
    layer_version = args.get("powertools_layer_version", defaults.POWERTOOLS_LAYER_VERSION)
    p.check_int_range("powertools_layer_version", layer_version, 1, 10_000)
    handler, code = args.get("handler", ""), args.get("code")
    check_handler_and_code(p, handler, code)
    for key in ("environment", "tags"):
        if args.get(key) is not None and not isinstance(args[key], Mapping):
            p.add(f"{key}={args[key]!r} must be a dict of names to values")
    tracing_provider, otel_layer_arn = _check_tracing_provider(args, p)
    handler_missing = handler_problem(handler, code)  # a built package knows its modules
    if handler_missing:
        p.add(handler_missing)
    transform_check(args.get("transform"), p)
    p.raise_if_any()

    archive: pulumi.Archive = pulumi.FileArchive(code) if isinstance(code, str) else code  # type: ignore[assignment]
    return _Settings(
        handler=handler,
        code=archive,
        invocation=invocation,
        timeout=timeout,
        memory=memory,
        runtime=runtime,
        architecture=architecture,
        reserved_concurrency=reserved,
        provisioned_concurrency=provisioned,
        snap_start=snap_start,
        recursive_loop=recursive_loop,
        tenant_isolation=tenant_isolation is True,
        async_max_retries=retries,
        async_max_event_age=age,
        on_failure_destination_arn=args.get("on_failure_destination_arn"),
        environment=dict(args.get("environment") or {}),
        log_level=log_level,
        log_retention_days=retention,
        tracing=bool(args.get("tracing", defaults.TRACING)),
        service_name=args.get("service_name") or name,
        metrics_namespace=args.get("metrics_namespace") or pulumi.get_project(),
        powertools=powertools,
        powertools_layer_version=layer_version,
        tracing_provider=tracing_provider,
        otel_layer_arn=otel_layer_arn,
        alarm_topic_arn=args.get("alarm_topic_arn"),
        description=args.get("description"),
    )


def _check_tenant_isolation(invocation: str, provisioned: object, snap_start: bool, p: Problems) -> None:
    """AWS runs a tenant-isolated function only for invocations that carry a tenant id (API
    Gateway and direct invokes), without provisioned concurrency or SnapStart."""
    if invocation != "sync":
        p.add(
            f"tenant_isolation=True needs invocation='sync', not {invocation!r}: AWS accepts no event "
            "source but API Gateway for a tenant-isolated function"
        )
    if provisioned:
        p.add(f"tenant_isolation=True cannot be combined with provisioned_concurrency={provisioned!r} (AWS)")
    if snap_start:
        p.add("tenant_isolation=True cannot be combined with snap_start=True (AWS)")
