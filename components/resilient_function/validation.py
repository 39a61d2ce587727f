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
from ..validation import Arg, Problems, choice, flag, int_range, read_args
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


# Each argument's default and its own check; what involves several arguments is a function below.
ARGS: dict[str, Arg] = {
    "invocation": Arg("sync", choice(INVOCATIONS)),
    "timeout": Arg(
        defaults.FUNCTION_TIMEOUT_S,
        int_range(*defaults.LAMBDA_TIMEOUT_RANGE, unit="seconds", why="Lambda timeout"),
    ),
    "memory": Arg(
        defaults.FUNCTION_MEMORY_MB, int_range(*defaults.LAMBDA_MEMORY_RANGE, unit="MB", why="Lambda memory")
    ),
    "runtime": Arg(defaults.FUNCTION_RUNTIME, choice(RUNTIMES)),
    "architecture": Arg(defaults.FUNCTION_ARCHITECTURE, choice(ARCHITECTURES)),
    "account_concurrency": Arg(
        defaults.LAMBDA_ACCOUNT_CONCURRENCY, int_range(defaults.LAMBDA_UNRESERVED_FLOOR + 1, 1_000_000)
    ),
    # A queue function needs none: its mapping's maximum concurrency bounds it.
    "reserved_concurrency": Arg(
        lambda v: None if v["invocation"] == "queue" else defaults.FUNCTION_RESERVED_CONCURRENCY
    ),
    "provisioned_concurrency": Arg(0, int_range(0, 1_000_000)),
    "snap_start": Arg(False),
    "recursive_loop": Arg(defaults.FUNCTION_RECURSIVE_LOOP, choice(RECURSIVE_LOOPS)),
    "tenant_isolation": Arg(False, flag()),
    "async_max_retries": Arg(
        defaults.ASYNC_MAX_RETRIES,
        int_range(*defaults.LAMBDA_ASYNC_RETRIES_RANGE, why="Lambda async invocation retries"),
    ),
    "async_max_event_age": Arg(
        defaults.ASYNC_MAX_EVENT_AGE_S,
        int_range(*defaults.LAMBDA_EVENT_AGE_RANGE, unit="seconds", why="Lambda maximum event age"),
    ),
    "log_level": Arg(defaults.LOG_LEVEL, choice(LOG_LEVELS)),
    "log_retention_days": Arg(defaults.LOG_RETENTION_DAYS, choice(defaults.LOG_RETENTION_DAYS_ALLOWED)),
    "powertools": Arg("layer", choice(POWERTOOLS_SOURCES)),
    "powertools_layer_version": Arg(defaults.POWERTOOLS_LAYER_VERSION, int_range(1, 10_000)),
    "tracing": Arg(defaults.TRACING),
}


def _check_sync_timeout(p: Problems, v: Mapping[str, Any]) -> None:
    timeout = v["timeout"]
    if v["invocation"] == "sync" and timeout >= defaults.HTTP_INTEGRATION_TIMEOUT_MAX_S:
        p.add(
            f"timeout={timeout!r} is too long for a sync function: it must be below "
            f"{defaults.HTTP_INTEGRATION_TIMEOUT_MAX_S} s so it gives up before API Gateway "
            f"({defaults.REST_INTEGRATION_TIMEOUT_MAX_S} s REST, "
            f"{defaults.HTTP_INTEGRATION_TIMEOUT_MAX_S} s HTTP): use invocation='async' for longer work"
        )


def _check_reserved(p: Problems, args: Mapping[str, Any], v: Mapping[str, Any], account_ok: bool) -> None:
    """Reserved concurrency within what the account leaves reservable; 0 only when asked for."""
    invocation, account, reserved = v["invocation"], v["account_concurrency"], v["reserved_concurrency"]
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


def _check_warm_capacity(p: Problems, v: Mapping[str, Any], provisioned_ok: bool) -> None:
    """Provisioned concurrency within the reservation, and not with SnapStart."""
    provisioned, reserved = v["provisioned_concurrency"], v["reserved_concurrency"]
    if provisioned_ok and isinstance(reserved, int) and not isinstance(reserved, bool) and provisioned > reserved:
        p.add(
            f"provisioned_concurrency={provisioned!r} exceeds reserved_concurrency={reserved!r}: "
            "warm environments beyond the reservation could never serve a request"
        )
    if v["snap_start"] and provisioned:
        p.add(f"snap_start=True cannot be combined with provisioned_concurrency={provisioned!r} (AWS)")


def _check_async_only(p: Problems, args: Mapping[str, Any], invocation: str) -> None:
    if invocation != "async":
        for key in ("async_max_retries", "async_max_event_age", "on_failure_destination_arn"):
            if key in args:
                p.add(f"{key} applies only to invocation='async', not {invocation!r}")


def _check_package(p: Problems, args: Mapping[str, Any]) -> None:
    """Handler and code (required, well formed, the handler inside a built package), environment and tags."""
    handler, code = args.get("handler", ""), args.get("code")
    check_handler_and_code(p, handler, code)
    for key in ("environment", "tags"):
        if args.get(key) is not None and not isinstance(args[key], Mapping):
            p.add(f"{key}={args[key]!r} must be a dict of names to values")


def _validate(name: str, args: Mapping[str, Any], transform_check: Any) -> _Settings:
    p = Problems(f"ResilientFunction {name!r}")
    p.check_known_keys(args, ResilientFunctionArgs.__annotations__, what="argument")
    for required in ("handler", "code"):
        if not args.get(required):
            p.add(f"{required} is required")
    v: dict[str, Any] = {}
    if read_args(p, args, ARGS, ("invocation", "timeout"), v)["timeout"]:
        _check_sync_timeout(p, v)
    ok = read_args(p, args, ARGS, ("memory", "runtime", "architecture", "account_concurrency"), v)
    read_args(p, args, ARGS, ("reserved_concurrency",), v)
    _check_reserved(p, args, v, ok["account_concurrency"])
    ok = read_args(p, args, ARGS, ("provisioned_concurrency", "snap_start"), v)
    v["snap_start"] = bool(v["snap_start"])
    _check_warm_capacity(p, v, ok["provisioned_concurrency"])
    read_args(p, args, ARGS, ("recursive_loop", "tenant_isolation"), v)
    if v["tenant_isolation"] is True:
        _check_tenant_isolation(v["invocation"], v["provisioned_concurrency"], v["snap_start"], p)
    read_args(p, args, ARGS, ("async_max_retries", "async_max_event_age"), v)
    _check_async_only(p, args, v["invocation"])
    read_args(p, args, ARGS, ("log_level", "log_retention_days", "powertools", "powertools_layer_version"), v)
    _check_package(p, args)
    tracing_provider, otel_layer_arn = _check_tracing_provider(args, p)
    handler, code = args.get("handler", ""), args.get("code")
    handler_missing = handler_problem(handler, code)  # a built package knows its modules
    if handler_missing:
        p.add(handler_missing)
    transform_check(args.get("transform"), p)
    p.raise_if_any()
    read_args(p, args, ARGS, ("tracing",), v)

    archive: pulumi.Archive = pulumi.FileArchive(code) if isinstance(code, str) else code  # type: ignore[assignment]
    return _Settings(
        handler=handler,
        code=archive,
        **{key: v[key] for key in ARGS if key not in ("account_concurrency", "tenant_isolation", "tracing")},
        tenant_isolation=v["tenant_isolation"] is True,
        tracing=bool(v["tracing"]),
        on_failure_destination_arn=args.get("on_failure_destination_arn"),
        environment=dict(args.get("environment") or {}),
        service_name=args.get("service_name") or name,
        metrics_namespace=args.get("metrics_namespace") or pulumi.get_project(),
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
