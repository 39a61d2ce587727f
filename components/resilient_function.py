"""ResilientFunction: a Lambda that sheds, bounds and isolates its work by default.

What you get by default (each value lives in ``defaults.py`` and is pinned by a test):
explicit timeout (10 s) and memory (512 MB); reserved concurrency (10) so excess work is
rejected cheaply instead of starving the account; X-Ray active tracing; JSON logs into
``/aws/lambda/<name>`` with 30 days' retention; the official Powertools layer with service,
namespace and log level set; a role that can write only its own log group and traces; alarms on
errors, throttles and p99 duration above 80% of the timeout. ``async`` functions also get an
event invoke config (1 retry, 1 h event age) with an SQS DLQ as on-failure destination.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Literal, TypedDict

import pulumi
import pulumi_aws as aws
from typing_extensions import Unpack

from . import defaults
from .base import ResilientComponent, Transform
from .blocks import dead_letter_queue, dlq_depth_alarm, statistic_args
from .grants import Grants, assume_role_policy, policy_json
from .packaging import handler_problem
from .validation import Problems, component_args

__all__ = ["ResilientFunction", "ResilientFunctionArgs", "powertools_layer_arn"]

Invocation = Literal["sync", "async", "queue"]
INVOCATIONS: tuple[str, ...] = ("sync", "async", "queue")
RUNTIMES: tuple[str, ...] = defaults.FUNCTION_RUNTIMES
RECURSIVE_LOOPS: tuple[str, ...] = ("Terminate", "Allow")
ARCHITECTURES: tuple[str, ...] = ("arm64", "x86_64")
LOG_LEVELS: tuple[str, ...] = ("DEBUG", "INFO", "WARN", "ERROR")
POWERTOOLS_SOURCES: tuple[str, ...] = ("layer", "bundle")
TRACING_PROVIDERS: tuple[str, ...] = ("xray", "otel")


class ResilientFunctionArgs(TypedDict, total=False):
    """Arguments of ResilientFunction. Only ``handler`` and ``code`` are required.

    ``transform`` keys: role, basic_policy, log_group, function, alias, provisioned_concurrency,
    event_invoke_config, dlq, alarm (applied to each alarm).
    """

    handler: str
    """Dotted path of the handler, e.g. ``handlers.orders.lambda_handler``. Required."""
    code: pulumi.Archive | str
    """The package: a Pulumi archive, or a directory path (zipped as is). Required."""
    invocation: Invocation
    """How callers invoke it: ``sync`` (API), ``async`` (event invoke) or ``queue`` (SQS
    mapping). Drives the defaults below. Default: ``sync``."""
    timeout: int
    """Seconds, 1 to 900; a ``sync`` function must finish before API Gateway (below 30).
    Default: 10."""
    memory: int
    """MB, 128 to 10240. Default: 512."""
    runtime: str
    """python3.12 or python3.13. Default: the one AWS supports longest (``aws_facts``), python3.13."""
    architecture: str
    """arm64 or x86_64. Default: arm64."""
    reserved_concurrency: int | None
    """Concurrency reserved (and capped) for this function. 0 disables the function and needs
    ``allow_zero_concurrency``; ``None`` leaves it unreserved, allowed only for ``queue``
    functions, whose mapping bounds them. Default: 10 (``None`` for ``queue``)."""
    allow_zero_concurrency: bool
    """Opt in to reserved concurrency 0 (a kill switch). Default: False."""
    account_concurrency: int
    """The account's concurrency quota, to check that 100 stay unreserved. Default: 1000."""
    provisioned_concurrency: int
    """Warm environments on the ``live`` alias; at most the reserved concurrency. Default: 0."""
    snap_start: bool
    """SnapStart on published versions (not with provisioned concurrency). Default: False."""
    recursive_loop: str
    """Lambda's recursive loop detection: ``Terminate`` (stop a chain of calls that loops back
    through SQS, SNS, S3 or Lambda) or ``Allow``. Default: ``Terminate``, set explicitly."""
    tenant_isolation: bool
    """Tenant isolation mode (``PER_TENANT``): each tenant id gets execution environments of its
    own. Only for ``sync`` functions behind API Gateway (AWS: no other event source, no
    provisioned concurrency, no SnapStart), and it cannot change after creation: turning it on
    or off replaces the function. Default: False."""
    async_max_retries: int
    """``async`` only: retries 0 to 2. Default: 1."""
    async_max_event_age: int
    """``async`` only: seconds 60 to 21600 before an event is sent to the DLQ. Default: 3600."""
    on_failure_destination_arn: pulumi.Input[str]
    """``async`` only: an SQS queue ARN for failed events, instead of the DLQ created here."""
    environment: Mapping[str, pulumi.Input[str]]
    """Extra environment variables. Default: none."""
    log_level: str
    """Application log level (and POWERTOOLS_LOG_LEVEL). Default: INFO."""
    log_retention_days: int
    """One of CloudWatch's allowed values. Default: 30."""
    tracing: bool
    """X-Ray active tracing. Default: True."""
    tracing_provider: str
    """How handlers send traces (``RESILIENT_TRACING``): ``xray`` (the handler library writes to
    the X-Ray daemon; no extra layer) or ``otel`` (OpenTelemetry through the ADOT layer, which
    exports to X-Ray; needs ``otel_layer_arn``). Default: ``xray``."""
    otel_layer_arn: str
    """The ADOT Python layer (``AWSOpenTelemetryDistroPython``) of the function's region; its
    account and version differ per region, so it is not guessed. Default: none (required with
    ``tracing_provider='otel'``)."""
    service_name: str
    """POWERTOOLS_SERVICE_NAME. Default: the component name."""
    metrics_namespace: str
    """POWERTOOLS_METRICS_NAMESPACE. Default: the Pulumi project name."""
    powertools: str
    """``layer`` (the official AWS layer) or ``bundle`` (Powertools zipped into the package, for
    LocalStack's free edition, which has no layers). Default: ``layer``."""
    powertools_layer_version: int
    """Version of the official layer. Default: 27."""
    alarm_topic_arn: pulumi.Input[str] | None
    """SNS topic for alarm and OK actions. Default: none (alarms still created)."""
    description: str
    """Function description. Default: none."""
    tags: Mapping[str, str]
    """Extra tags on every taggable child. Default: none."""
    transform: Mapping[str, Transform]
    """Per-child escape hatch (keys above). Default: none."""


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


def powertools_layer_arn(region: str, partition: str, runtime: str, architecture: str, version: int) -> str:
    """ARN of the official Powertools for AWS Lambda (Python) v3 layer."""
    account = defaults.POWERTOOLS_LAYER_ACCOUNT.get(partition)
    if account is None:
        raise ValueError(
            f"no official Powertools layer is published in partition {partition!r}; use powertools='bundle'"
        )
    flavour = runtime.replace(".", "")
    return (
        f"arn:{partition}:lambda:{region}:{account}:layer:"
        f"AWSLambdaPowertoolsPythonV3-{flavour}-{architecture}:{version}"
    )


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


def queue_url_of_arn(arn: str) -> str:
    """``arn:aws:sqs:<region>:<account>:<name>`` -> the queue URL SQS accepts."""
    parts = arn.split(":")
    if len(parts) != 6 or parts[2] != "sqs":
        raise ValueError(f"on_failure_destination_arn={arn!r} is not an SQS queue ARN")
    suffix = "amazonaws.com.cn" if parts[1] == "aws-cn" else "amazonaws.com"
    return f"https://sqs.{parts[3]}.{suffix}/{parts[4]}/{parts[5]}"


_ASSUME_LAMBDA = assume_role_policy("lambda.amazonaws.com")


class ResilientFunction(ResilientComponent):
    """A Lambda function with the load-shedding, bounding and isolation defaults built in."""

    TRANSFORM_KEYS: ClassVar[tuple[str, ...]] = (
        "role",
        "basic_policy",
        "log_group",
        "function",
        "alias",
        "provisioned_concurrency",
        "event_invoke_config",
        "dlq",
        "alarm",
        "recursion",
    )

    function_name: pulumi.Output[str]
    function_arn: pulumi.Output[str]
    target_arn: pulumi.Output[str]
    """What callers invoke: the ``live`` alias when there is one, else the function."""
    invoke_arn: pulumi.Output[str]
    alias_arn: pulumi.Output[str] | None
    """The ``live`` alias, present with provisioned concurrency or SnapStart."""
    role_arn: pulumi.Output[str]
    log_group_name: pulumi.Output[str]
    dlq_arn: pulumi.Output[str] | None

    def __init__(
        self,
        name: str,
        args: ResilientFunctionArgs | None = None,
        opts: pulumi.ResourceOptions | None = None,
        **keywords: Unpack[ResilientFunctionArgs],
    ) -> None:
        # Both ResilientFunction(name, {...}) and the Pulumi style ResilientFunction(name, key=...)
        given = component_args("ResilientFunction", name, args, keywords)
        settings = _validate(name, given, self.check_transform_keys)
        super().__init__(name, tags=given.get("tags"), transform=given.get("transform"), opts=opts)
        self.settings = settings
        self.timeout = settings.timeout
        self.invocation = settings.invocation
        self.reserved_concurrency = settings.reserved_concurrency
        self.physical_name = self.physical("lambda")

        self.log_group = self._create_log_group()
        self.role = self._create_role()
        self.grants = Grants(self, self.role)
        self.dlq = self._create_dlq()
        self.function = self._create_function()
        self.recursion_config = self._child(
            "recursion",
            aws.lambda_.FunctionRecursionConfig,
            "recursion",
            {"function_name": self.function.name, "recursive_loop": settings.recursive_loop},
        )
        self.alias = self._create_alias()
        self.provisioned_concurrency_config = self._create_provisioned_concurrency()
        self.event_invoke_config = self._create_event_invoke_config()
        self.alarms = self._create_alarms()

        self.function_name = self.function.name
        self.function_arn = self.function.arn
        self.target_arn = self.alias.arn if self.alias else self.function.arn
        self.invoke_arn = self.alias.invoke_arn if self.alias else self.function.invoke_arn
        self.alias_arn = self.alias.arn if self.alias else None
        self.role_arn = self.role.arn
        self.log_group_name = self.log_group.name
        self.dlq_arn = self.dlq.arn if self.dlq else settings.on_failure_destination_arn  # type: ignore[assignment]
        self.register_outputs(
            {
                "function_name": self.function_name,
                "function_arn": self.function_arn,
                "target_arn": self.target_arn,
                "invoke_arn": self.invoke_arn,
                "alias_arn": self.alias_arn,
                "role_arn": self.role_arn,
                "log_group_name": self.log_group_name,
                "dlq_arn": self.dlq_arn,
                "timeout": self.timeout,
            }
        )

    # -- create steps ------------------------------------------------------------------------------
    def _create_log_group(self) -> aws.cloudwatch.LogGroup:
        return self._child(
            "log_group",
            aws.cloudwatch.LogGroup,
            "logs",
            {
                "name": f"/aws/lambda/{self.physical_name}",
                "retention_in_days": self.settings.log_retention_days,
            },
        )

    def _create_role(self) -> aws.iam.Role:
        role = self._child(
            "role",
            aws.iam.Role,
            "role",
            {
                "name": self.physical("iam_role"),
                "assume_role_policy": _ASSUME_LAMBDA,
            },
        )
        # Own log group only (no logs:CreateLogGroup: the group exists before the function).
        # X-Ray's PutTraceSegments has no resource-level permissions, hence its "*".
        statements: list[Mapping[str, Any]] = [
            {
                "Effect": "Allow",
                "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                "Resource": [self.log_group.arn.apply(lambda arn: f"{arn}:*")],
            }
        ]
        if self.settings.tracing:
            statements.append(
                {"Effect": "Allow", "Action": ["xray:PutTelemetryRecords", "xray:PutTraceSegments"], "Resource": ["*"]}
            )
        self.basic_policy = self._child(
            "basic_policy",
            aws.iam.RolePolicy,
            "basic",
            {
                "role": role.id,
                "policy": policy_json(statements),
            },
        )
        return role

    def _create_dlq(self) -> aws.sqs.Queue | None:
        s = self.settings
        if s.invocation != "async" or s.on_failure_destination_arn is not None:
            return None
        return dead_letter_queue(self, "dlq")

    def _layers(self) -> pulumi.Output[list[str]] | list[str]:
        s = self.settings
        otel = [s.otel_layer_arn] if s.tracing_provider == "otel" and s.otel_layer_arn else []
        if s.powertools == "bundle":
            return otel
        region = aws.get_region_output(opts=pulumi.InvokeOutputOptions(parent=self)).region
        partition = aws.get_partition_output(opts=pulumi.InvokeOutputOptions(parent=self)).partition
        return pulumi.Output.all(region, partition).apply(
            lambda rp: [
                powertools_layer_arn(rp[0], rp[1], s.runtime, s.architecture, s.powertools_layer_version),
                *otel,
            ]
        )

    def _code(self) -> pulumi.Archive:
        if self.settings.powertools == "layer" or getattr(self.settings.code, "bundles_powertools", False):
            return self.settings.code
        import aws_lambda_powertools  # noqa: PLC0415 (only when bundling)
        import typing_extensions  # noqa: PLC0415

        # Powertools needs jmespath (shipped with botocore in the runtime) and typing_extensions
        # (not shipped): both go in the package, as the official layer would provide them.
        return pulumi.AssetArchive(
            {
                ".": self.settings.code,
                "aws_lambda_powertools": pulumi.FileArchive(str(Path(aws_lambda_powertools.__file__).parent)),
                "typing_extensions.py": pulumi.FileAsset(typing_extensions.__file__),
            }
        )

    def _create_function(self) -> aws.lambda_.Function:
        s = self.settings
        depends = [self.log_group, self.basic_policy]
        if self.dlq is not None:
            depends.append(self.grants.send_to(self.dlq))
        elif s.on_failure_destination_arn is not None:
            depends.append(self.grants.allow("send-on-failure", ["sqs:SendMessage"], [s.on_failure_destination_arn]))
        env: dict[str, pulumi.Input[str]] = {
            "POWERTOOLS_SERVICE_NAME": s.service_name,
            "POWERTOOLS_METRICS_NAMESPACE": s.metrics_namespace,
            "POWERTOOLS_LOG_LEVEL": s.log_level,
            **s.environment,
        }
        if s.tracing_provider == "otel":
            # the ADOT layer's wrapper starts the OpenTelemetry SDK before the handler is imported
            env.update({"RESILIENT_TRACING": "otel", "AWS_LAMBDA_EXEC_WRAPPER": "/opt/otel-instrument"})
        dlq_url = self._dlq_url()
        if dlq_url is not None:
            # Handlers dead-letter malformed events themselves, with the reason, instead of
            # letting Lambda retry an event that can never succeed.
            env["RESILIENT_DLQ_URL"] = dlq_url
        args: dict[str, Any] = {
            "name": self.physical_name,
            "role": self.role.arn,
            "handler": s.handler,
            "runtime": s.runtime,
            "architectures": [s.architecture],
            "code": self._code(),
            "timeout": s.timeout,
            "memory_size": s.memory,
            "reserved_concurrent_executions": -1 if s.reserved_concurrency is None else s.reserved_concurrency,
            "tracing_config": {"mode": "Active" if s.tracing else "PassThrough"},
            "logging_config": {
                "log_format": "JSON",
                "application_log_level": s.log_level,
                "system_log_level": defaults.SYSTEM_LOG_LEVEL,
                "log_group": self.log_group.name,
            },
            "layers": self._layers(),
            "environment": {"variables": env},
            "publish": s.needs_alias,
        }
        if s.snap_start:
            args["snap_start"] = {"apply_on": "PublishedVersions"}
        if s.tenant_isolation:
            args["tenancy_config"] = {"tenant_isolation_mode": "PER_TENANT"}
        if s.description:
            args["description"] = s.description
        return self._child(
            "function", aws.lambda_.Function, "function", args, pulumi.ResourceOptions(depends_on=depends)
        )

    def _dlq_url(self) -> pulumi.Input[str] | None:
        if self.dlq is not None:
            return self.dlq.url
        if self.settings.on_failure_destination_arn is None:
            return None
        return pulumi.Output.from_input(self.settings.on_failure_destination_arn).apply(queue_url_of_arn)

    def _create_alias(self) -> aws.lambda_.Alias | None:
        if not self.settings.needs_alias:
            return None
        return self._child(
            "alias",
            aws.lambda_.Alias,
            "live",
            {
                "name": "live",
                "function_name": self.function.name,
                "function_version": self.function.version,
            },
        )

    def _create_provisioned_concurrency(self) -> aws.lambda_.ProvisionedConcurrencyConfig | None:
        if self.alias is None or not self.settings.provisioned_concurrency:
            return None
        return self._child(
            "provisioned_concurrency",
            aws.lambda_.ProvisionedConcurrencyConfig,
            "provisioned",
            {
                "function_name": self.function.name,
                "qualifier": self.alias.name,
                "provisioned_concurrent_executions": self.settings.provisioned_concurrency,
            },
        )

    def _create_event_invoke_config(self) -> aws.lambda_.FunctionEventInvokeConfig | None:
        s = self.settings
        if s.invocation != "async":
            return None
        destination = self.dlq.arn if self.dlq is not None else s.on_failure_destination_arn
        args: dict[str, Any] = {
            "function_name": self.function.name,
            "maximum_retry_attempts": s.async_max_retries,
            "maximum_event_age_in_seconds": s.async_max_event_age,
            "destination_config": {"on_failure": {"destination": destination}},
        }
        if self.alias is not None:
            args["qualifier"] = self.alias.name
        return self._child("event_invoke_config", aws.lambda_.FunctionEventInvokeConfig, "async", args)

    def _create_alarms(self) -> dict[str, pulumi.Resource]:
        s = self.settings
        share = defaults.DURATION_ALARM_SHARE_OF_TIMEOUT
        # (suffix, metric, statistic, threshold, description); each fires above its threshold.
        lambda_alarms: list[tuple[str, str, str, float, str]] = [
            ("errors", "Errors", "Sum", 0, "Invocations ended in an error"),
            ("throttles", "Throttles", "Sum", 0, "Invocations rejected by the concurrency limit"),
            (
                "duration-p99",
                "Duration",
                "p99",
                s.timeout * 1000 * share,
                f"p99 duration above {share:.0%} of the {s.timeout} s timeout",
            ),
        ]
        if s.invocation == "async":
            lambda_alarms.append(
                (
                    "events-dropped",
                    "AsyncEventsDropped",
                    "Sum",
                    0,
                    "Async events dropped without reaching a destination",
                )
            )
        alarms = {
            suffix: self._alarm(
                suffix,
                s.alarm_topic_arn,
                namespace="AWS/Lambda",
                dimensions={"FunctionName": self.function.name},
                metric_name=metric,
                threshold=threshold,
                comparison_operator="GreaterThanThreshold",
                alarm_description=description,
                **statistic_args(stat),
            )
            for suffix, metric, stat, threshold, description in lambda_alarms
        }
        if self.dlq is not None:
            alarms["dlq-depth"] = dlq_depth_alarm(
                self, "dlq-depth", self.dlq, s.alarm_topic_arn, "Failed async events are waiting in the DLQ"
            )
        return alarms

    # -- for callers -------------------------------------------------------------------------------
    def grant_invoke(
        self, label: str, principal: str, source_arn: pulumi.Input[str] | None = None
    ) -> aws.lambda_.Permission:
        """Let ``principal`` (e.g. ``apigateway.amazonaws.com``) invoke the target, scoped to
        ``source_arn`` (e.g. an API's execution ARN for one route)."""
        args: dict[str, Any] = {
            "action": "lambda:InvokeFunction",
            "function": self.function.name,
            "principal": principal,
        }
        if source_arn is not None:
            args["source_arn"] = source_arn
        if self.alias is not None:
            args["qualifier"] = self.alias.name
        return aws.lambda_.Permission(f"{self._name}-invoke-{label}", opts=pulumi.ResourceOptions(parent=self), **args)
