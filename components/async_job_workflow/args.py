"""The arguments of AsyncJobWorkflow (``AsyncJobWorkflowArgs``, ``RetryArgs``), the choices
they take, and what a push channel offers a workflow."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol, TypedDict, runtime_checkable

import pulumi

from ..base import Transform
from ..resilient_function import ResilientFunction, ResilientFunctionArgs
from ..throttled_api.auth import AuthArgs

WORKFLOW_TYPES = ("STANDARD", "EXPRESS")
WORKER_MODES = ("invoke", "callback")
START_MODES = ("queue", "direct")
API_FLAVORS = ("rest", "http")
JOB_FUNCTIONS = ("submit", "status", "result", "cancel", "starter")


@runtime_checkable
class PushChannel(Protocol):
    """What a push channel (WebSocketNotifier) offers a workflow. Implemented by duck typing."""

    url: pulumi.Output[str]
    """The ``wss://`` URL clients connect to, stage included."""

    def bind_jobs(self, table_name: pulumi.Input[str], table_arn: pulumi.Input[str]) -> None:
        """Give the channel's functions read and update access to the job table (``JOBS_TABLE``)."""
        ...

    def workflow_states(self, *, status: str, entry: str, next_state: str, fallback_state: str) -> dict[str, Any]:
        """ASL states entered at ``entry`` once the job's terminal ``status`` is recorded, that tell
        its subscribers; success goes to ``next_state``, any failure to ``fallback_state`` with the
        error under ``$.push_error``. Request Response tasks only (Express runs no other pattern),
        and nothing in them may change the job's status."""
        ...

    def state_machine_statements(self) -> list[dict[str, Any]]:
        """IAM statements the state machine role needs to run those states."""
        ...

    def read_results(self, bucket_arn: pulumi.Input[str], prefix: str = "") -> None:
        """Let the channel read (and pre-sign URLs to) results under ``prefix`` in the bucket."""
        ...


class RetryArgs(TypedDict, total=False):
    max_attempts: int
    """Retries of the worker after its first failure, 0 to 10. Default: 2."""
    interval_s: int
    """First delay, 1 to 3600 s. Default: 2."""
    backoff_rate: float
    """Growth of each delay, 1.1 to 10. Default: 2.0."""
    max_delay_s: int
    """Cap on one delay, at least ``interval_s``. Default: 30."""


class AsyncJobWorkflowArgs(TypedDict, total=False):
    """Arguments of AsyncJobWorkflow. ``worker`` is required.

    ``transform`` keys: table, idempotency_table, bucket, bucket_encryption, bucket_public_access,
    bucket_policy, bucket_lifecycle, queue, dlq, queue_policy, mapping, state_machine,
    state_machine_role, state_machine_policy, log_group, outcome_rule, alarm.
    """

    worker: ResilientFunction
    """The user's function that does the work. It is created before the workflow, so nothing
    reaches it by environment: each payload carries ``{job_id, input, input_pointer, deadline,
    results_bucket, result_key, jobs_table}`` (and ``task_token`` and ``heartbeat_s`` in callback
    mode). It writes the result to ``results_bucket`` at ``result_key`` (``results/<job_id>``),
    may read the job's status from ``jobs_table`` to notice a cancellation, and answers
    ``{bucket, key}``. The workflow grants it just that. Required."""
    code: pulumi.Archive | str
    """The package of the job functions (the job API, starter, webhooks): it must hold the library's
    handlers as a top-level ``handlers`` package. Default: the library's own, packaged for the
    functions' architecture, runtime and Powertools source (``packaging.library_handlers_for``)."""
    path: str
    """Collection path of the routes. Default: ``/jobs``."""
    api_flavor: str
    """Flavour of the ThrottledApi the routes go to (``rest`` routes validate bodies at the edge).
    Default: ``rest``."""
    functions: ResilientFunctionArgs
    """Extra ResilientFunction arguments for the job functions (memory, log level...)."""
    workflow_type: str
    """``STANDARD`` or ``EXPRESS``. Default: ``STANDARD``."""
    worker_mode: str
    """``invoke`` (the worker answers within its Lambda timeout) or ``callback`` (the worker gets a
    task token and reports with ``SendTaskSuccess``; heartbeats required). Default: ``invoke``."""
    execution_timeout_s: int
    """Bound on a whole execution: Standard 60 to 31536000, Express 60 to 300. Default: 3600
    (Express 300)."""
    task_timeout_s: int
    """Worker task timeout. Default: the worker's timeout + 10 s (invoke), or the execution
    timeout minus 60 s (callback)."""
    heartbeat_s: int
    """Callback mode: the worker must heartbeat this often. Default: 60."""
    retry: RetryArgs
    """Worker retry. Default: 2 retries from 2 s, x2, at most 30 s, full jitter."""
    start: str
    """``queue`` (an SQS buffer and a starter) or ``direct`` (submit starts executions; low rates
    only). Default: ``queue``."""
    starter_max_concurrency: int
    """Starter mapping concurrency, 2 to 1000. Default: 2."""
    start_quota_per_s: float
    """The account's ``StartExecution`` refill rate in this region, for the capacity check.
    Default: 150 (Standard, smaller regions)."""
    start_queue_age_alarm_s: int
    """Alarm when the oldest queued start is older than this. Default: 300."""
    result_url_ttl_s: int
    """Lifetime of a pre-signed result URL, 1 to 3600: the result function signs with its role's
    temporary credentials, and the URL dies with them (``defaults.PRESIGNED_URL_MAX_S``).
    Default: 900."""
    result_retention_days: int
    """Days results stay in S3 (then 410). Default: 7."""
    job_ttl_days: int
    """Days a job record stays (DynamoDB TTL), at least the result retention. Default: 30."""
    idempotency_ttl_s: int
    """How long a submit's ``Idempotency-Key`` is remembered, 60 to 604800. Default: 3600."""
    max_body_bytes: int
    """Largest accepted submit body, 1 to 6291456 (the Lambda sync payload). Default: 1048576."""
    inline_input_bytes: int
    """Inputs above this go to S3 and travel as a pointer (Step Functions and SQS carry at most
    262144). Default: 200000."""
    input_schema: Mapping[str, Any]
    """JSON schema of the job's ``input`` (checked at the REST edge and in the handler).
    Default: any JSON object."""
    webhooks: bool
    """Callback URLs per job or per caller, verified, signed, retried, dead-lettered.
    Default: True."""
    push: PushChannel | None
    """A push channel (WebSocketNotifier): results are pushed, polling stays; the workflow lets it
    read the results it pushes. Default: none."""
    auth: AuthArgs
    """Who may call the routes: the same dict as a ThrottledApi route's ``auth`` (``iam`` on both
    flavours, ``jwt`` on HTTP, ``cognito`` or ``lambda`` on REST), put on every route returned.
    Default: none (public routes)."""
    log_level: str
    """State machine log level: ``ERROR`` (failures only), ``ALL`` (every state) or ``FATAL``.
    Default: ``ERROR``."""
    log_execution_data: bool
    """Include each state's input and output in the logs (the user's data). Default: False."""
    log_retention_days: int
    """Retention of the state machine's log group (a CloudWatch Logs value). Default: 30."""
    alarm_topic_arn: pulumi.Input[str] | None
    tags: Mapping[str, str]
    transform: Mapping[str, Transform]
