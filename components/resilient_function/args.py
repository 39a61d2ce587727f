"""The arguments of ResilientFunction and the choices they take."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal, TypedDict

import pulumi

from .. import defaults
from ..base import Transform

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
