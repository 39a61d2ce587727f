"""AsyncJobWorkflow's functions: the job API, the starter, the outcome recorder, the webhook
dispatcher, and the grants of the user's worker."""

from __future__ import annotations

import importlib
import json
from collections.abc import Mapping
from types import ModuleType
from typing import Any

import pulumi
import pulumi_aws as aws

from .. import defaults
from ..blocks import dead_letter_queue, service_may_send, sqs_mapping
from ..resilient_function import ResilientFunction
from .storage import JobStorage


def handler_contract() -> ModuleType:
    """``handlers.resilience.contract`` beside this package (installed or from the repository):
    the variable names each job handler reads, declared once for both sides."""
    # this package is <root>.components.async_job_workflow; the handlers are <root>.handlers
    root = ".".join((__package__ or "").split(".")[:-2])
    return importlib.import_module(f"{root}.handlers.resilience.contract" if root else "handlers.resilience.contract")


class JobFunctions(JobStorage):
    """The functions a workflow creates and the rights each gets."""

    def _environment(self, module: str, extra: Mapping[str, Any] | None = None) -> dict[str, pulumi.Input[str]]:
        """The variables ``module`` reads (its declared contract), each with this workflow's value."""
        s = self.settings
        values: dict[str, pulumi.Input[str] | None] = {
            "JOBS_TABLE": self.table.name,
            "IDEMPOTENCY_TABLE": self.idempotency_table.name,
            "RESULTS_BUCKET": self.bucket.bucket,
            "JOBS_PATH": s.path,
            "RESULT_URL_TTL_S": str(s.result_url_ttl_s),
            "RESULT_RETENTION_S": str(s.result_retention_days * 86_400),
            "JOB_TTL_S": str(s.job_ttl_days * 86_400),
            "IDEMPOTENCY_TTL_S": str(s.idempotency_ttl_s),
            "MAX_BODY_BYTES": str(s.max_body_bytes),
            "INLINE_INPUT_BYTES": str(s.inline_input_bytes),
            "EXECUTION_TIMEOUT_S": str(s.execution_timeout_s),
            "STATE_MACHINE_ARN": self.state_machine.arn,
            "INPUT_SCHEMA": pulumi.Output.json_dumps(s.input_schema),
            "PUSH_URL": s.push.url if s.push is not None else None,
            "PUSH_TOKEN_TTL_S": (
                str(s.execution_timeout_s + defaults.JOB_PUSH_TOKEN_GRACE_S) if s.push is not None else None
            ),
            **(extra or {}),
        }
        variables = handler_contract().CONTRACTS[module]
        declared = {v.name for v in variables}
        undeclared = sorted(set(extra or {}) - declared)
        missing = [v.name for v in variables if v.required and values.get(v.name) is None]
        if undeclared or missing:  # a contract and this method out of step: a bug here, not bad input
            raise RuntimeError(f"{module}: variables {undeclared} are not in its contract; {missing} have no value")
        return {v.name: value for v in variables if (value := values.get(v.name)) is not None}

    def _function(
        self,
        role: str,
        *,
        invocation: str = "sync",
        extra_env: dict[str, Any] | None = None,
        handler: str = "lambda_handler",
        module: str | None = None,
    ) -> ResilientFunction:
        s = self.settings
        args: dict[str, Any] = {
            **s.functions,
            "handler": f"handlers.jobs.{module or role}.{handler}",
            "code": s.code,
            "invocation": invocation,
            "environment": self._environment(f"handlers.jobs.{module or role}", extra_env),
            "alarm_topic_arn": s.functions.get("alarm_topic_arn", s.alarm_topic_arn),
            "description": f"AsyncJobWorkflow {self._name}: {role}",
        }
        fn = ResilientFunction(
            f"{self._name}-{role}",
            args,  # type: ignore[arg-type]
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.functions[role] = fn
        return fn

    def _create_functions(self) -> None:
        s = self.settings
        start_env: dict[str, Any] = {}
        if s.start == "queue":
            self.start_queue, self.start_dlq = self._queue_pair("starts")
            start_env["START_QUEUE_URL"] = self.start_queue.url
        submit = self._function("submit", extra_env=start_env)
        bucket_objects = self.bucket.arn.apply(lambda arn: f"{arn}/inputs/*")
        submit.grants.allow("jobs", ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"], [self.table.arn])
        submit.grants.allow(
            "idempotency",
            ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"],
            [self.idempotency_table.arn],
        )
        submit.grants.allow("inputs", ["s3:PutObject"], [bucket_objects])
        if self.start_queue is not None:
            submit.grants.send_to(self.start_queue)
        else:
            submit.grants.allow("start", ["states:StartExecution"], [self.state_machine.arn])
        self._function("status").grants.allow("jobs", ["dynamodb:GetItem"], [self.table.arn])
        result = self._function("result")
        result.grants.allow("jobs", ["dynamodb:GetItem"], [self.table.arn])
        # Pre-signing needs no call, but the URL works only if the signer may read the object.
        result.grants.allow("results", ["s3:GetObject"], [self.bucket.arn.apply(lambda a: f"{a}/results/*")])
        cancel = self._function("cancel")
        cancel.grants.allow("jobs", ["dynamodb:GetItem", "dynamodb:UpdateItem"], [self.table.arn])
        if not s.express:  # AWS has no StopExecution for Express: cancelling is the status write alone
            executions = self.state_machine.arn.apply(lambda arn: arn.replace(":stateMachine:", ":execution:") + ":*")
            cancel.grants.allow("stop", ["states:StopExecution"], [executions])
        if self.start_queue is not None:
            self._create_starter()
        if self.webhook_queue is not None:
            self._create_webhooks()
        if not s.express:  # EventBridge carries status changes of Standard workflows only
            self._create_recorder()

    def _create_recorder(self) -> None:
        """Executions that end outside the definition's own bookkeeping (the execution timeout, a
        States.Runtime error, an abort) are recorded on the job from their status change event."""
        env: dict[str, Any] = {"WEBHOOK_QUEUE_URL": self.webhook_queue.url} if self.webhook_queue else {}
        recorder = self._function("recorder", invocation="async", extra_env=env)
        recorder.grants.allow("jobs", ["dynamodb:UpdateItem"], [self.table.arn])
        if self.webhook_queue is not None:
            recorder.grants.send_to(self.webhook_queue)
        pattern = self.state_machine.arn.apply(
            lambda arn: json.dumps(
                {
                    "source": ["aws.states"],
                    "detail-type": ["Step Functions Execution Status Change"],
                    "detail": {"stateMachineArn": [arn], "status": ["FAILED", "TIMED_OUT", "ABORTED"]},
                },
                sort_keys=True,
            )
        )
        self.outcome_rule = self._child(
            "outcome_rule",
            aws.cloudwatch.EventRule,
            "outcomes",
            {"name": self.physical("lambda", "outcomes"), "event_pattern": pattern},  # 64 of [A-Za-z0-9_-]
        )
        permission = recorder.grant_invoke("outcomes", "events.amazonaws.com", self.outcome_rule.arn)
        # EventBridge drops an event once its retry policy is spent unless the target has a DLQ.
        self.outcome_dlq = dead_letter_queue(self, "outcomes-dlq")
        # only this rule's undeliverable events, not any rule's in any account
        self.outcome_dlq_policy = service_may_send(
            self,
            "outcomes-dlq-policy",
            self.outcome_dlq,
            service="events.amazonaws.com",
            source_arn=self.outcome_rule.arn,
            sid="OutcomeRuleDeadLetters",
        )
        # The target after the permission and the DLQ policy: EventBridge drops events it may not
        # deliver, and dead letters it may not send.
        self.outcome_target = self._child(
            "outcome_rule",
            aws.cloudwatch.EventTarget,
            "outcomes-target",
            {
                "rule": self.outcome_rule.name,
                "arn": recorder.target_arn,
                "dead_letter_config": {"arn": self.outcome_dlq.arn},
                "retry_policy": {
                    "maximum_event_age_in_seconds": defaults.JOB_OUTCOME_EVENT_AGE_S,
                    "maximum_retry_attempts": defaults.JOB_OUTCOME_RETRY_ATTEMPTS,
                },
            },
            pulumi.ResourceOptions(depends_on=[permission, self.outcome_dlq_policy]),
        )

    def _create_webhooks(self) -> None:
        s = self.settings
        assert self.webhook_queue is not None
        register = self._function("webhooks", module="webhooks", handler="register_handler")
        register.grants.allow("jobs", ["dynamodb:GetItem", "dynamodb:PutItem"], [self.table.arn])
        dispatcher = self._function("dispatcher", invocation="queue", module="webhooks", handler="dispatch_handler")
        grants = [
            dispatcher.grants.consume_from(self.webhook_queue),
            dispatcher.grants.allow("jobs", ["dynamodb:GetItem"], [self.table.arn]),
            # Pre-signed result URLs in the deliveries work only if the signer may read them.
            dispatcher.grants.allow("results", ["s3:GetObject"], [self.bucket.arn.apply(lambda a: f"{a}/results/*")]),
        ]
        self.webhook_mapping = sqs_mapping(
            self,
            "webhooks-mapping",
            queue=self.webhook_queue,
            function_name=dispatcher.function.name,
            grants=grants,
            max_concurrency=s.starter_max_concurrency,
        )

    def _create_starter(self) -> None:
        s = self.settings
        assert self.start_queue is not None and self.start_dlq is not None
        starter = self._function(
            "starter",
            invocation="queue",
            extra_env={"START_DLQ_URL": self.start_dlq.url},
        )
        grants = [
            starter.grants.consume_from(self.start_queue),
            starter.grants.allow("start", ["states:StartExecution"], [self.state_machine.arn]),
            starter.grants.allow("jobs", ["dynamodb:GetItem", "dynamodb:UpdateItem"], [self.table.arn]),
        ]
        self.starter_mapping = sqs_mapping(
            self,
            "starts-mapping",
            queue=self.start_queue,
            function_name=starter.function.name,
            grants=grants,
            max_concurrency=s.starter_max_concurrency,
        )

    def _grant_worker(self) -> None:
        s = self.settings
        worker = s.worker
        worker.grants.allow(
            f"{self._name}-results",
            ["s3:PutObject"],
            [self.bucket.arn.apply(lambda a: f"{a}/results/*")],
        )
        worker.grants.allow(
            f"{self._name}-inputs", ["s3:GetObject"], [self.bucket.arn.apply(lambda a: f"{a}/inputs/*")]
        )
        # Cancellation is a status on the job: the worker reads it between steps.
        worker.grants.allow(f"{self._name}-jobs", ["dynamodb:GetItem"], [self.table.arn])
        if s.worker_mode == "callback":
            worker.grants.allow(
                f"{self._name}-callback",
                ["states:SendTaskFailure", "states:SendTaskHeartbeat", "states:SendTaskSuccess"],
                [self.state_machine.arn],
            )
