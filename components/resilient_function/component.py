"""The ResilientFunction component: log group, role, DLQ, function, alias, provisioned
concurrency, async invoke config and alarms."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

import pulumi
import pulumi_aws as aws
from typing_extensions import Unpack

from .. import defaults
from ..base import ResilientComponent
from ..blocks import dead_letter_queue, dlq_depth_alarm, statistic_args
from ..grants import Grants, assume_role_policy, policy_json
from ..validation import ConfigError, Problems, component_args
from .args import ResilientFunctionArgs
from .validation import _validate


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


def check_nested_function_args(
    p: Problems,
    prefix: str,
    name: str,
    given: Mapping[str, Any],
    *,
    owned: tuple[str, ...],
    stand_ins: Mapping[str, Any],
) -> list[str]:
    """The ResilientFunction arguments a component takes for a function it makes (``consumer``,
    ``functions``), judged now as the function will judge them, before the component's first
    child. The keys the component sets (``owned``) are left out and ``stand_ins`` take their
    place. Each problem is added as ``<prefix>.<problem>`` (or ``<prefix>: <problem>`` when it
    names no argument); the answer is the function's own problems."""
    trial = {k: v for k, v in given.items() if k not in owned} | dict(stand_ins)
    try:
        _validate(name, trial, ResilientFunction.check_transform_keys)
    except ConfigError as error:
        for problem in error.problems:
            key = problem.split("=", 1)[0].split(" ", 1)[0].split("[", 1)[0]
            p.add(f"{prefix}.{problem}" if key in ResilientFunctionArgs.__annotations__ else f"{prefix}: {problem}")
        return error.problems
    return []
