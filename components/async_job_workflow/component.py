"""The AsyncJobWorkflow component: tables, bucket, queues, state machine, job functions, alarms
and the routes it hands to a ThrottledApi."""

from __future__ import annotations

from typing import Any, ClassVar

import pulumi
import pulumi_aws as aws

from .. import asl, defaults
from ..blocks import dlq_depth_alarm
from ..grants import assume_role_policy, policy_json
from ..job_states import WorkflowShape, workflow_definition
from ..resilient_function import ResilientFunction
from .args import AsyncJobWorkflowArgs
from .functions import JobFunctions
from .openapi import openapi_document, route_throttle, submit_body_schema
from .validation import _validate


def start_capacity(concurrency: int, batch_size: int, latency_ms: float, quota_per_s: float) -> dict[str, float]:
    """Starts per second the starter can issue (each instance starts its batch one by one) and the
    rate it can sustain under the account's ``StartExecution`` refill rate."""
    issued = concurrency * 1000 / latency_ms
    del batch_size  # a batch is started sequentially: its size changes latency, not the rate
    return {"starts_per_s": round(issued, 1), "sustained_per_s": round(min(issued, quota_per_s), 1)}


class AsyncJobWorkflow(JobFunctions):
    """Submit, run and hand back long jobs: routes for ThrottledApi, Step Functions behind."""

    TRANSFORM_KEYS: ClassVar[tuple[str, ...]] = (
        "table",
        "idempotency_table",
        "bucket",
        "bucket_encryption",
        "bucket_public_access",
        "bucket_policy",
        "bucket_lifecycle",
        "queue",
        "dlq",
        "mapping",
        "state_machine",
        "state_machine_role",
        "state_machine_policy",
        "outcome_rule",
        "queue_policy",
        "log_group",
        "alarm",
    )

    table_name: pulumi.Output[str]
    bucket_name: pulumi.Output[str]
    state_machine_arn: pulumi.Output[str]
    start_queue_url: pulumi.Output[str] | None

    def __init__(self, name: str, args: AsyncJobWorkflowArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        settings = _validate(name, args, self.check_transform_keys)
        super().__init__(name, tags=args.get("tags"), transform=args.get("transform"), opts=opts)
        self.settings = s = settings
        self.table = self._create_table()
        self.idempotency_table = self._create_idempotency_table()
        self.bucket = self._create_bucket()
        self.start_queue: aws.sqs.Queue | None = None
        self.start_dlq: aws.sqs.Queue | None = None
        self.webhook_queue: aws.sqs.Queue | None = None
        self.webhook_dlq: aws.sqs.Queue | None = None
        self.outcome_dlq: aws.sqs.Queue | None = None
        if s.webhooks:
            self.webhook_queue, self.webhook_dlq = self._queue_pair("webhooks")
        if s.push is not None:
            s.push.bind_jobs(self.table.name, self.table.arn)
            # Large results are pushed as pre-signed URLs: they answer 403 unless the signer may read.
            s.push.read_results(self.bucket.arn, "results/")
        self.definition = self._definition()
        self.state_machine = self._create_state_machine()
        self.functions: dict[str, ResilientFunction] = {}
        self._create_functions()
        self._grant_worker()
        self._create_alarms()
        self.table_name = self.table.name
        self.bucket_name = self.bucket.bucket
        self.state_machine_arn = self.state_machine.arn
        self.start_queue_url = self.start_queue.url if self.start_queue else None
        self.routes = self._routes()
        self.openapi = openapi_document(s.path, s.input_schema, webhooks=self.webhook_queue is not None)
        capacity = start_capacity(
            s.starter_max_concurrency, defaults.QUEUE_BATCH_SIZE, defaults.JOB_START_LATENCY_MS, s.start_quota_per_s
        )
        self.register_outputs(
            {
                "table_name": self.table_name,
                "bucket_name": self.bucket_name,
                "state_machine_arn": self.state_machine_arn,
                "start_queue_url": self.start_queue_url,
                "workflow_type": s.workflow_type,
                "timeout": s.execution_timeout_s,
                "workflow_states": self._state_summary(),
                "start_path": {
                    "mode": s.start,
                    "starter_max_concurrency": s.starter_max_concurrency if s.start == "queue" else None,
                    "start_quota_per_s": s.start_quota_per_s,
                    **(capacity if s.start == "queue" else {}),
                },
                "job_functions": {k: fn.function_name for k, fn in self.functions.items()},
                "webhooks": {
                    "queue_arn": self.webhook_queue.arn,
                    "dlq_arn": self.webhook_dlq.arn if self.webhook_dlq else None,
                    "max_attempts": defaults.JOB_WEBHOOK_MAX_ATTEMPTS,
                }
                if self.webhook_queue is not None
                else None,
            }
        )

    # -- orchestration -----------------------------------------------------------------------------
    def _definition(self) -> dict[str, Any]:
        s = self.settings
        # Called by the definition once per terminal status, after the status is recorded.
        push_states = s.push.workflow_states if s.push is not None else None
        shape = WorkflowShape(
            table_name=self.table.name,
            worker_arn=s.worker.target_arn,
            worker_mode=s.worker_mode,
            task_timeout_s=s.task_timeout_s,
            heartbeat_s=s.heartbeat_s,
            execution_timeout_s=s.execution_timeout_s,
            worker_retry=s.retry,
            notify_queue_url=self.webhook_queue.url if self.webhook_queue else None,
            push_states=push_states,
            results_bucket=self.bucket.bucket,
        )
        return workflow_definition(shape)

    def _state_summary(self) -> list[dict[str, Any]]:
        return asl.summary(self.definition)

    def _sm_statements(self) -> list[dict[str, Any]]:
        s = self.settings
        worker_arns = [s.worker.function_arn, s.worker.function_arn.apply(lambda a: f"{a}:*")]
        statements: list[dict[str, Any]] = [
            {"Effect": "Allow", "Action": ["dynamodb:UpdateItem"], "Resource": [self.table.arn]},
            {"Effect": "Allow", "Action": ["lambda:InvokeFunction"], "Resource": worker_arns},
            {
                "Effect": "Allow",
                "Action": ["xray:GetSamplingRules", "xray:GetSamplingTargets", "xray:PutTraceSegments"],
                "Resource": ["*"],
            },
        ]
        if self.webhook_queue is not None:
            statements.append({"Effect": "Allow", "Action": ["sqs:SendMessage"], "Resource": [self.webhook_queue.arn]})
        if s.push is not None:
            statements.extend(s.push.state_machine_statements())
        # Logging goes through vended log delivery: AWS grants these actions on "*" only.
        statements.append({"Effect": "Allow", "Action": list(asl.LOG_DELIVERY_ACTIONS), "Resource": ["*"]})
        return statements

    def _create_state_machine(self) -> aws.sfn.StateMachine:
        s = self.settings
        self.state_machine_role = self._child(
            "state_machine_role",
            aws.iam.Role,
            "sm-role",
            {
                "name": self.physical("iam_role", "sm"),
                "assume_role_policy": assume_role_policy("states.amazonaws.com"),
            },
        )
        self.state_machine_policy = self._child(
            "state_machine_policy",
            aws.iam.RolePolicy,
            "sm-policy",
            {"role": self.state_machine_role.id, "policy": policy_json(self._sm_statements())},
        )
        machine_name = self.physical("state_machine", "sm")
        # The /aws/vendedlogs/ prefix keeps the log delivery's resource policy small (AWS adds
        # one statement per group otherwise, and a policy holds 5120 characters).
        self.state_machine_log_group = self._child(
            "log_group",
            aws.cloudwatch.LogGroup,
            "sm-logs",
            {"name": f"/aws/vendedlogs/states/{machine_name}", "retention_in_days": s.log_retention_days},
        )
        # The policy and the log group before the machine: an execution started right after
        # create would fail with AccessDenied on its first task, and CreateStateMachine refuses
        # a logging configuration it cannot deliver.
        return self._child(
            "state_machine",
            aws.sfn.StateMachine,
            "sm",
            {
                "name": machine_name,
                "type": s.workflow_type,
                "role_arn": self.state_machine_role.arn,
                "definition": pulumi.Output.from_input(self.definition).apply(asl.to_json),
                "tracing_configuration": {"enabled": True},
                "logging_configuration": {
                    "level": s.log_level,
                    "include_execution_data": s.log_execution_data,
                    "log_destination": self.state_machine_log_group.arn.apply(
                        lambda arn: arn if arn.endswith(":*") else f"{arn}:*"
                    ),
                },
            },
            pulumi.ResourceOptions(depends_on=[self.state_machine_policy, self.state_machine_log_group]),
        )

    # -- alarms ------------------------------------------------------------------------------------
    def _create_alarms(self) -> None:
        topic = self.settings.alarm_topic_arn
        for metric, suffix, why in (
            ("ExecutionsFailed", "failed", "jobs failed after their retries"),
            ("ExecutionsTimedOut", "timed-out", "executions passed their timeout"),
            ("ExecutionThrottled", "throttled", "Step Functions throttled state transitions"),
        ):
            self._alarm(
                f"executions-{suffix}",
                topic,
                namespace="AWS/States",
                metric_name=metric,
                dimensions={"StateMachineArn": self.state_machine.arn},
                statistic="Sum",
                threshold=0,
                alarm_description=why,
            )
        for label, queue in (("starts", self.start_queue), ("webhooks", self.webhook_queue)):
            if queue is not None:
                self._alarm(
                    f"{label}-age",
                    topic,
                    namespace="AWS/SQS",
                    metric_name="ApproximateAgeOfOldestMessage",
                    dimensions={"QueueName": queue.name},
                    statistic="Maximum",
                    threshold=self.settings.start_queue_age_alarm_s,
                    alarm_description=f"the oldest message on {label} is ageing: the backlog is not draining",
                )
        for label, dlq in (("starts", self.start_dlq), ("webhooks", self.webhook_dlq), ("outcomes", self.outcome_dlq)):
            if dlq is not None:
                dlq_depth_alarm(self, f"{label}-dlq-depth", dlq, topic, f"messages are waiting in the {label} DLQ")

    # -- routes ------------------------------------------------------------------------------------
    def _routes(self) -> list[dict[str, Any]]:
        """Route dicts for ThrottledApi (``routes=[*jobs.routes, ...]``)."""
        s = self.settings
        item = f"{s.path}/{{job_id}}"
        submit: dict[str, Any] = {
            "method": "POST",
            "path": s.path,
            "function": self.functions["submit"],
            "expected_latency_ms": defaults.JOB_SUBMIT_LATENCY_MS,
        }
        if s.api_flavor == "rest":
            submit["body_schema"] = submit_body_schema(s.input_schema)
        reads = [
            ("GET", item, "status"),
            ("GET", f"{item}/result", "result"),
            ("DELETE", item, "cancel"),
        ]
        hooks = [("POST", f"{s.path}/webhooks", "webhooks")] if self.webhook_queue is not None else []
        routes = [submit] + [
            {
                "method": method,
                "path": path,
                "function": self.functions[role],
                "expected_latency_ms": defaults.JOB_READ_LATENCY_MS,
            }
            for method, path, role in reads + hooks
        ]
        for route in routes:
            route["throttle"] = route_throttle(route["function"].reserved_concurrency, route["expected_latency_ms"])
            if s.auth is not None:
                route["auth"] = dict(s.auth)
        return routes
