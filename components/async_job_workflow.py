"""AsyncJobWorkflow: take long work at the front door, answer at once, run it durably, give the
result back.

A client that needs the answer to long work must not hold a connection open (API Gateway cuts it
at 29-30 s). ``POST /jobs`` answers 202 with a job id and a status URL; the job runs in Step
Functions; ``GET /jobs/{job_id}`` polls its status; ``GET /jobs/{job_id}/result`` answers a
short-lived pre-signed URL; ``DELETE /jobs/{job_id}`` cancels it. The routes are plain
ThrottledApi route dicts (``jobs.routes``), so one API can front several workflows.

What you get by default (``defaults.py``, each pinned by a test):

- a job table (on demand, TTL on ``expires_at`` after 30 days, point-in-time recovery,
  encryption) and an idempotency table for ``Idempotency-Key`` (Powertools, 1 h);
- a results bucket (SSE-S3, public access blocked, a TLS-only policy, results expire after
  7 days, inputs after 1); pre-signed result URLs live 15 minutes (at most one hour: they are
  signed with the function role's temporary credentials and expire when those do);
- a Standard state machine (exactly-once starts, long jobs) with a 1 h execution timeout; the
  worker task times out 10 s after the worker's own timeout, retries twice (2 s, x2, full
  jitter, at most 30 s), and every Task records its error on the job through a ``Catch``;
- start buffering: submits go to an SQS queue drained by a starter with mapping concurrency 2,
  so about 40 ``StartExecution`` per second at the 50 ms planning latency, far
  below the 150/s quota of the smaller regions (a spike waits in the queue instead of failing);
- each route throttled at what its function can serve (reserved concurrency x 1000 / expected
  latency: 100 rps for submit, 200 for reads), so excess is shed at the edge;
- alarms on executions failed, timed out and throttled, on the start queue's oldest message
  (5 min) and on any message in a DLQ.

Express (``workflow_type="EXPRESS"``): cheaper at high rates, at most 5 minutes, and
at-least-once: a start can run twice, so the worker must be idempotent (the status writes here
are conditional, so a second run finds the job running and stops at ``NotRunnable``).
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from types import ModuleType
from typing import Any, ClassVar, Protocol, TypedDict, runtime_checkable

import pulumi
import pulumi_aws as aws

from . import asl, defaults
from .base import ResilientComponent, Transform
from .grants import assume_role_policy, policy_json
from .job_states import WorkflowShape, workflow_definition
from .packaging import library_code_problem, library_handlers_for
from .queues import visibility_timeout_for
from .resilient_function import ResilientFunction, ResilientFunctionArgs, check_handler_and_code
from .resilient_function import _validate as validate_function
from .throttled_api.auth import AuthArgs, check_auth
from .validation import ConfigError, Problems

__all__ = [
    "AsyncJobWorkflow",
    "AsyncJobWorkflowArgs",
    "PushChannel",
    "RetryArgs",
    "start_capacity",
]

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


@dataclass(frozen=True)
class _Settings:
    worker: ResilientFunction
    code: Any
    path: str
    api_flavor: str
    functions: dict[str, Any]
    workflow_type: str
    worker_mode: str
    execution_timeout_s: int
    task_timeout_s: int
    heartbeat_s: int | None
    retry: asl.RetryPolicy
    start: str
    starter_max_concurrency: int
    start_quota_per_s: float
    start_queue_age_alarm_s: int
    result_url_ttl_s: int
    result_retention_days: int
    job_ttl_days: int
    idempotency_ttl_s: int
    max_body_bytes: int
    inline_input_bytes: int
    input_schema: Mapping[str, Any]
    webhooks: bool
    push: PushChannel | None
    alarm_topic_arn: pulumi.Input[str] | None
    auth: Mapping[str, Any] | None
    log_level: str
    log_execution_data: bool
    log_retention_days: int

    @property
    def express(self) -> bool:
        return self.workflow_type == "EXPRESS"


def handler_contract() -> ModuleType:
    """``handlers.resilience.contract`` beside this package (installed or from the repository):
    the variable names each job handler reads, declared once for both sides."""
    root = (__package__ or "").rpartition(".")[0]
    return importlib.import_module(f"{root}.handlers.resilience.contract" if root else "handlers.resilience.contract")


def start_capacity(concurrency: int, batch_size: int, latency_ms: float, quota_per_s: float) -> dict[str, float]:
    """Starts per second the starter can issue (each instance starts its batch one by one) and the
    rate it can sustain under the account's ``StartExecution`` refill rate."""
    issued = concurrency * 1000 / latency_ms
    del batch_size  # a batch is started sequentially: its size changes latency, not the rate
    return {"starts_per_s": round(issued, 1), "sustained_per_s": round(min(issued, quota_per_s), 1)}


def _check_retry(p: Problems, retry: Mapping[str, Any]) -> asl.RetryPolicy | None:
    p.check_known_keys(retry, RetryArgs.__annotations__, what="retry key")
    merged = {**defaults.JOB_WORKER_RETRY, **retry}
    ok = p.check_int_range("retry.max_attempts", merged["max_attempts"], 0, 10, why="Step Functions MaxAttempts")
    ok &= p.check_int_range("retry.interval_s", merged["interval_s"], 1, 3600, unit="seconds")
    ok &= p.check_range("retry.backoff_rate", merged["backoff_rate"], 1.1, 10, why="backoff must grow")
    if p.check_int_range("retry.max_delay_s", merged["max_delay_s"], 1, 3600, unit="seconds") and ok:
        if merged["max_delay_s"] < merged["interval_s"]:
            p.add(f"retry.max_delay_s={merged['max_delay_s']!r} is below retry.interval_s={merged['interval_s']!r}")
            return None
        return asl.RetryPolicy(
            errors=("States.TaskFailed",),
            interval_s=merged["interval_s"],
            max_attempts=merged["max_attempts"],
            backoff_rate=float(merged["backoff_rate"]),
            max_delay_s=merged["max_delay_s"],
        )
    return None


def _check_timeouts(
    p: Problems, args: Mapping[str, Any], worker: Any, express: bool, mode: str
) -> tuple[int, int, int | None]:
    ceiling = asl.EXPRESS_EXECUTION_MAX_S if express else asl.STANDARD_EXECUTION_MAX_S
    default_exec = asl.EXPRESS_EXECUTION_MAX_S if express else defaults.JOB_EXECUTION_TIMEOUT_S
    execution = args.get("execution_timeout_s", default_exec)
    kind = "Express" if express else "Standard"
    exec_ok = p.check_int_range(
        "execution_timeout_s", execution, 60, ceiling, unit="seconds", why=f"{kind} workflow limit"
    )
    # A worker that is not a ResilientFunction is refused elsewhere; its timeout is not a number.
    worker_ok = isinstance(worker, ResilientFunction)
    worker_timeout = worker.timeout if worker_ok else defaults.FUNCTION_TIMEOUT_S
    if mode == "callback":
        default_task = max(execution - 60, 1) if exec_ok else 1
    else:
        default_task = worker_timeout + defaults.JOB_TASK_TIMEOUT_MARGIN_S
    task = args.get("task_timeout_s", default_task)
    if p.check_int_range("task_timeout_s", task, 1, ceiling, unit="seconds") and exec_ok and task >= execution:
        p.add(
            f"task_timeout_s={task!r} must be below execution_timeout_s={execution!r}: the execution would "
            "time out first and the job's status would never be recorded"
        )
    if mode == "invoke" and worker_ok and isinstance(task, int) and task <= worker_timeout:
        p.add(
            f"task_timeout_s={task!r} must be above the worker's timeout of {worker_timeout} s: Lambda gives up "
            "first and reports why"
        )
    heartbeat = None
    if mode == "callback":
        heartbeat = args.get("heartbeat_s", defaults.JOB_HEARTBEAT_S)
        in_range = p.check_int_range("heartbeat_s", heartbeat, 1, ceiling, unit="seconds")
        if in_range and isinstance(task, int) and (problem := asl.heartbeat_problem(heartbeat, task)):
            p.add(f"heartbeat_s={heartbeat!r} must be below task_timeout_s={task!r}: {problem}")
    elif "heartbeat_s" in args:
        p.add("heartbeat_s applies only to worker_mode='callback' (an invoked worker is bounded by its timeout)")
    return execution, task, heartbeat


def _check_logging(p: Problems, args: Mapping[str, Any]) -> tuple[str, bool, int]:
    level = args.get("log_level", defaults.JOB_LOG_LEVEL)
    p.check_choice("log_level", level, asl.LOG_LEVELS)
    data = args.get("log_execution_data", defaults.JOB_LOG_EXECUTION_DATA)
    if not isinstance(data, bool):
        p.add(f"log_execution_data={data!r} must be True or False")
    retention = args.get("log_retention_days", defaults.LOG_RETENTION_DAYS)
    p.check_choice("log_retention_days", retention, defaults.LOG_RETENTION_DAYS_ALLOWED)
    return level, data, retention


def _shown(value: Any) -> str:
    """A value as an error shows it: literals as written, objects by their type (a repr with a
    memory address would make the message differ on every run)."""
    if value is None or isinstance(value, str | int | float | bool | list | tuple | dict):
        return repr(value)
    return f"a {type(value).__module__}.{type(value).__qualname__}"


def _check_parts(p: Problems, args: Mapping[str, Any]) -> tuple[Any, str, str]:
    """The worker, the code, the path and the API flavour (with its auth)."""
    worker = args.get("worker")
    if not isinstance(worker, ResilientFunction):
        hint = "" if worker is None or isinstance(worker, str) else ": wrap the handler in a ResilientFunction"
        p.add(f"worker={_shown(worker)} must be a ResilientFunction (the function that does the work){hint}")
    code = args.get("code")
    if code is not None:  # left out, the workflow packages the library's own handlers
        found = len(p.items)
        check_handler_and_code(p, None, code)
        if len(p.items) == found:
            problem = library_code_problem(code, ["handlers.jobs.submit.lambda_handler"], "AsyncJobWorkflow")
            if problem:
                p.add(problem)
    path = args.get("path", defaults.JOB_PATH)
    if not isinstance(path, str) or not path.startswith("/") or "{" in path or path.endswith("/"):
        p.add(f"path={path!r} must be a fixed collection path such as '/jobs' (no parameters, no trailing '/')")
    flavor = args.get("api_flavor", defaults.API_FLAVOR)
    if p.check_choice("api_flavor", flavor, API_FLAVORS) and args.get("auth") is not None:
        check_auth(p, "auth", args.get("auth"), flavor)
    return worker, path, flavor


OWNED_FUNCTION_KEYS = ("handler", "code", "invocation", "environment")


def _check_functions(p: Problems, name: str, value: Any, flavor: str) -> dict[str, Any]:
    """The extra ResilientFunction arguments, checked as each job function will check them, now
    rather than after the tables and the state machine exist."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        p.add(f"functions={_shown(value)} must be a dict of ResilientFunction arguments")
        return {}
    functions = dict(value)
    for owned in OWNED_FUNCTION_KEYS:
        if owned in functions:
            p.add(f"functions[{owned!r}] is set by AsyncJobWorkflow for each job function")
    # The API functions are the strictest (synchronous, behind the front door): stand-ins for the
    # keys the workflow sets keep those out of this check.
    trial = {k: v for k, v in functions.items() if k not in OWNED_FUNCTION_KEYS}
    trial |= {"handler": "handlers.jobs.status.lambda_handler", "code": pulumi.AssetArchive({}), "invocation": "sync"}
    try:
        validate_function(f"{name}-status", trial, ResilientFunction.check_transform_keys)
    except ConfigError as error:
        for problem in error.problems:
            key = problem.split("=", 1)[0].split(" ", 1)[0].split("[", 1)[0]
            p.add(f"functions.{problem}" if key in ResilientFunctionArgs.__annotations__ else f"functions: {problem}")
        return functions
    timeout = functions.get("timeout", defaults.FUNCTION_TIMEOUT_S)
    if flavor == "rest" and timeout >= defaults.REST_INTEGRATION_TIMEOUT_MAX_S:
        p.add(
            f"functions.timeout={timeout!r} must be below {defaults.REST_INTEGRATION_TIMEOUT_MAX_S} s with "
            f"api_flavor='rest': the REST integration gives up at {defaults.REST_INTEGRATION_TIMEOUT_MAX_S} s"
        )
    return functions


def _check_storage(p: Problems, args: Mapping[str, Any]) -> dict[str, Any]:
    v: dict[str, Any] = {}
    v["result_url_ttl_s"] = ttl = args.get("result_url_ttl_s", defaults.JOB_RESULT_URL_TTL_S)
    p.check_int_range(
        "result_url_ttl_s", ttl, 1, defaults.PRESIGNED_URL_MAX_S, unit="seconds", why=defaults.PRESIGNED_URL_WHY
    )
    v["result_retention_days"] = retention = args.get("result_retention_days", defaults.JOB_RESULT_RETENTION_DAYS)
    retention_ok = p.check_int_range("result_retention_days", retention, 1, 3650, unit="days")
    v["job_ttl_days"] = job_ttl = args.get("job_ttl_days", defaults.JOB_TTL_DAYS)
    if p.check_int_range("job_ttl_days", job_ttl, 1, 3650, unit="days") and retention_ok and job_ttl < retention:
        p.add(
            f"job_ttl_days={job_ttl!r} must be at least result_retention_days={retention!r}: a result would "
            "outlive its job and answer 404 instead of its URL"
        )
    v["idempotency_ttl_s"] = args.get("idempotency_ttl_s", defaults.JOB_IDEMPOTENCY_TTL_S)
    p.check_int_range("idempotency_ttl_s", v["idempotency_ttl_s"], 60, 604_800, unit="seconds")
    v["max_body_bytes"] = args.get("max_body_bytes", defaults.JOB_MAX_BODY_BYTES)
    p.check_int_range(
        "max_body_bytes", v["max_body_bytes"], 1, 6_291_456, unit="bytes", why="Lambda synchronous payload"
    )
    v["inline_input_bytes"] = args.get("inline_input_bytes", defaults.JOB_INLINE_INPUT_BYTES)
    p.check_int_range(
        "inline_input_bytes",
        v["inline_input_bytes"],
        1,
        240_000,
        unit="bytes",
        why="Step Functions and SQS carry 262144 with metadata",
    )
    schema = args.get("input_schema", {"type": "object"})
    if not isinstance(schema, Mapping):
        p.add(f"input_schema={_shown(schema)} must be a JSON schema object")
    v["input_schema"] = dict(schema) if isinstance(schema, Mapping) else {}
    return v


def _check_start(p: Problems, args: Mapping[str, Any]) -> dict[str, Any]:
    v: dict[str, Any] = {"start": args.get("start", defaults.JOB_START_MODE)}
    p.check_choice("start", v["start"], START_MODES)
    v["starter_max_concurrency"] = args.get("starter_max_concurrency", defaults.JOB_STARTER_MAX_CONCURRENCY)
    p.check_int_range(
        "starter_max_concurrency", v["starter_max_concurrency"], 2, 1000, why="SQS mapping maximum concurrency"
    )
    quota = args.get("start_quota_per_s", defaults.JOB_START_QUOTA_PER_S)
    if p.check_range("start_quota_per_s", quota, 1, 100_000):
        v["start_quota_per_s"] = float(quota)
    v["start_queue_age_alarm_s"] = args.get("start_queue_age_alarm_s", defaults.JOB_START_QUEUE_AGE_ALARM_S)
    p.check_int_range(
        "start_queue_age_alarm_s", v["start_queue_age_alarm_s"], 60, defaults.DLQ_RETENTION_S, unit="seconds"
    )
    return v


def _check_channels(p: Problems, args: Mapping[str, Any]) -> dict[str, Any]:
    """Webhooks, push, the alarm topic and tags."""
    webhooks = args.get("webhooks", True)
    if not isinstance(webhooks, bool):  # bool("false") is True: a string would turn them on
        p.add(f"webhooks={_shown(webhooks)} must be True or False")
    push = args.get("push")
    if push is not None and not isinstance(push, PushChannel):
        p.add(
            f"push={_shown(push)} does not offer url, bind_jobs, workflow_states, state_machine_statements and "
            "read_results"
        )
    elif push is not None and getattr(push, "jobs_bound", False):
        p.add(
            f"push={_shown(push)} is already bound to another workflow's job table: one notifier serves one "
            "AsyncJobWorkflow (give each workflow its own WebSocketNotifier)"
        )
    topic = args.get("alarm_topic_arn")
    if topic is not None and not isinstance(topic, str | pulumi.Output):
        p.add(f"alarm_topic_arn={_shown(topic)} must be an SNS topic ARN")
    tags = args.get("tags")
    if tags is not None and not (isinstance(tags, Mapping) and all(isinstance(t, str) for t in tags.values())):
        p.add(f"tags={_shown(tags)} must map names to strings")
    return {"webhooks": webhooks is True, "push": push, "alarm_topic_arn": topic}


def _check_workflow(p: Problems, args: Mapping[str, Any], worker: Any) -> dict[str, Any]:
    wf_type = args.get("workflow_type", defaults.JOB_WORKFLOW_TYPE)
    type_ok = p.check_choice("workflow_type", wf_type, WORKFLOW_TYPES)
    mode = args.get("worker_mode", defaults.JOB_WORKER_MODE)
    mode_ok = p.check_choice("worker_mode", mode, WORKER_MODES)
    express = type_ok and wf_type == "EXPRESS"
    if express and mode == "callback":
        p.add("worker_mode='callback' needs workflow_type='STANDARD': Express workflows cannot wait for a task token")
    execution, task, heartbeat = _check_timeouts(p, args, worker, express, mode if mode_ok else "invoke")
    retry_arg = args.get("retry")
    retry = None
    if retry_arg is not None and not isinstance(retry_arg, Mapping):
        p.add(f"retry={_shown(retry_arg)} must be a dict of retry settings")
    else:
        retry = _check_retry(p, dict(retry_arg or {}))
    return {
        "workflow_type": wf_type,
        "worker_mode": mode,
        "execution_timeout_s": execution,
        "task_timeout_s": task,
        "heartbeat_s": heartbeat,
        "retry": retry,
    }


def _validate(name: str, args: Mapping[str, Any], transform_check: Any) -> _Settings:
    """Every argument checked for type and range before the first child: one ConfigError names
    every problem."""
    p = Problems(f"AsyncJobWorkflow {name!r}")
    p.check_known_keys(args, AsyncJobWorkflowArgs.__annotations__, what="argument")
    worker, path, flavor = _check_parts(p, args)
    functions = _check_functions(p, name, args.get("functions"), flavor)
    workflow = _check_workflow(p, args, worker)
    start = _check_start(p, args)
    storage = _check_storage(p, args)
    channels = _check_channels(p, args)
    log_level, log_data, log_retention = _check_logging(p, args)
    transform_check(args.get("transform"), p)
    p.raise_if_any()
    return _Settings(
        worker=worker,
        code=args.get("code") or library_handlers_for(functions),
        path=path,
        api_flavor=flavor,
        functions=functions,
        **workflow,
        **start,
        **storage,
        **channels,
        auth=args.get("auth"),
        log_level=log_level,
        log_execution_data=log_data,
        log_retention_days=log_retention,
    )


class AsyncJobWorkflow(ResilientComponent):
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

    # -- storage -----------------------------------------------------------------------------------
    def _on_demand_table(self, key: str, name: str, hash_key: str, ttl_attribute: str) -> aws.dynamodb.Table:
        """On demand, PITR, encryption and a TTL: what both of the workflow's tables need."""
        return self._child(
            key,
            aws.dynamodb.Table,
            name,
            {
                "name": self.physical("dynamodb", name),
                "billing_mode": "PAY_PER_REQUEST",
                "hash_key": hash_key,
                "attributes": [{"name": hash_key, "type": "S"}],
                "point_in_time_recovery": {"enabled": True},
                "server_side_encryption": {"enabled": True},
                "ttl": {"attribute_name": ttl_attribute, "enabled": True},
            },
        )

    def _create_table(self) -> aws.dynamodb.Table:
        return self._on_demand_table("table", "jobs", "job_id", "expires_at")

    def _create_idempotency_table(self) -> aws.dynamodb.Table:
        # The layout Powertools' DynamoDBPersistenceLayer expects: key "id", TTL on "expiration".
        return self._on_demand_table("idempotency_table", "idempotency", "id", "expiration")

    def _create_bucket(self) -> aws.s3.Bucket:
        s = self.settings
        bucket = self._child("bucket", aws.s3.Bucket, "results", {"bucket": self.physical("s3_bucket", "results")})
        self.bucket_encryption = self._child(
            "bucket_encryption",
            aws.s3.BucketServerSideEncryptionConfiguration,
            "results-encryption",
            {
                "bucket": bucket.id,
                "rules": [{"apply_server_side_encryption_by_default": {"sse_algorithm": "AES256"}}],
            },
        )
        self.bucket_public_access = self._child(
            "bucket_public_access",
            aws.s3.BucketPublicAccessBlock,
            "results-public-access",
            {
                "bucket": bucket.id,
                "block_public_acls": True,
                "block_public_policy": True,
                "ignore_public_acls": True,
                "restrict_public_buckets": True,
            },
        )
        deny_plain_http = {
            "Sid": "DenyInsecureTransport",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:*",
            "Resource": [bucket.arn, bucket.arn.apply(lambda arn: f"{arn}/*")],
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        }
        # The policy after the public access block: S3 refuses a policy it would consider public
        # while the block is being set, and a later `up` must not reorder them.
        self.bucket_policy = self._child(
            "bucket_policy",
            aws.s3.BucketPolicy,
            "results-policy",
            {"bucket": bucket.id, "policy": policy_json([deny_plain_http])},
            pulumi.ResourceOptions(depends_on=[self.bucket_public_access]),
        )
        self.bucket_lifecycle = self._child(
            "bucket_lifecycle",
            aws.s3.BucketLifecycleConfiguration,
            "results-lifecycle",
            {
                "bucket": bucket.id,
                "rules": [
                    {
                        "id": "expire-results",
                        "status": "Enabled",
                        "filter": {"prefix": "results/"},
                        "expiration": {"days": s.result_retention_days},
                    },
                    {
                        "id": "expire-inputs",
                        "status": "Enabled",
                        "filter": {"prefix": "inputs/"},
                        "expiration": {"days": defaults.JOB_INPUT_RETENTION_DAYS},
                    },
                    {
                        "id": "abort-incomplete-uploads",
                        "status": "Enabled",
                        "filter": {},
                        "abort_incomplete_multipart_upload": {"days_after_initiation": 1},
                    },
                ],
            },
        )
        return bucket

    def _queue_pair(self, role: str) -> tuple[aws.sqs.Queue, aws.sqs.Queue]:
        consumer_timeout_s = self.settings.functions.get("timeout", defaults.FUNCTION_TIMEOUT_S)
        dlq = self._child(
            "dlq",
            aws.sqs.Queue,
            f"{role}-dlq",
            {
                "name": self.physical("sqs", f"{role}-dlq"),
                "message_retention_seconds": defaults.DLQ_RETENTION_S,
                "sqs_managed_sse_enabled": True,
            },
        )
        max_receives = defaults.JOB_WEBHOOK_MAX_ATTEMPTS if role == "webhooks" else defaults.QUEUE_MAX_RECEIVE_COUNT
        queue = self._child(
            "queue",
            aws.sqs.Queue,
            role,
            {
                "name": self.physical("sqs", role),
                "visibility_timeout_seconds": visibility_timeout_for(
                    consumer_timeout_s, defaults.QUEUE_BATCHING_WINDOW_S
                ),
                "message_retention_seconds": defaults.QUEUE_RETENTION_S,
                "sqs_managed_sse_enabled": True,
                "redrive_policy": dlq.arn.apply(
                    lambda arn: json.dumps({"deadLetterTargetArn": arn, "maxReceiveCount": max_receives})
                ),
            },
        )
        return queue, dlq

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

    # -- functions ---------------------------------------------------------------------------------
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
        self.outcome_dlq = self._child(
            "dlq",
            aws.sqs.Queue,
            "outcomes-dlq",
            {
                "name": self.physical("sqs", "outcomes-dlq"),
                "message_retention_seconds": defaults.DLQ_RETENTION_S,
                "sqs_managed_sse_enabled": True,
            },
        )
        rule_arn = self.outcome_rule.arn
        self.outcome_dlq_policy = self._child(
            "queue_policy",
            aws.sqs.QueuePolicy,
            "outcomes-dlq-policy",
            {
                "queue_url": self.outcome_dlq.url,
                "policy": policy_json(
                    [
                        {
                            "Sid": "OutcomeRuleDeadLetters",
                            "Effect": "Allow",
                            "Principal": {"Service": "events.amazonaws.com"},
                            "Action": "sqs:SendMessage",
                            "Resource": self.outcome_dlq.arn,
                            # only this rule's undeliverable events, not any rule's in any account
                            "Condition": {"ArnEquals": {"aws:SourceArn": rule_arn}},
                        }
                    ]
                ),
            },
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
        self.webhook_mapping = self._child(
            "mapping",
            aws.lambda_.EventSourceMapping,
            "webhooks-mapping",
            {
                "event_source_arn": self.webhook_queue.arn,
                "function_name": dispatcher.function.name,
                "batch_size": defaults.QUEUE_BATCH_SIZE,
                "maximum_batching_window_in_seconds": defaults.QUEUE_BATCHING_WINDOW_S,
                "function_response_types": ["ReportBatchItemFailures"],
                "scaling_config": {"maximum_concurrency": s.starter_max_concurrency},
            },
            pulumi.ResourceOptions(depends_on=grants),
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
        self.starter_mapping = self._child(
            "mapping",
            aws.lambda_.EventSourceMapping,
            "starts-mapping",
            {
                "event_source_arn": self.start_queue.arn,
                "function_name": starter.function.name,
                "batch_size": defaults.QUEUE_BATCH_SIZE,
                "maximum_batching_window_in_seconds": defaults.QUEUE_BATCHING_WINDOW_S,
                "function_response_types": ["ReportBatchItemFailures"],
                "scaling_config": {"maximum_concurrency": s.starter_max_concurrency},
            },
            pulumi.ResourceOptions(depends_on=grants),
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
                self._alarm(
                    f"{label}-dlq-depth",
                    topic,
                    namespace="AWS/SQS",
                    metric_name="ApproximateNumberOfMessagesVisible",
                    dimensions={"QueueName": dlq.name},
                    statistic="Maximum",
                    threshold=0,
                    evaluation_periods=1,
                    datapoints_to_alarm=1,
                    alarm_description=f"messages are waiting in the {label} DLQ",
                )

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


def route_throttle(reserved_concurrency: int | None, latency_ms: int) -> dict[str, Any]:
    """Throttle a route at what its function can serve (Little's law: concurrency / latency), so
    excess is shed at the edge with a 429 rather than throttled by Lambda behind it."""
    concurrency = reserved_concurrency or defaults.FUNCTION_RESERVED_CONCURRENCY
    rate = min(concurrency * 1000 // latency_ms, defaults.API_ACCOUNT_BURST_MAX)
    return {"rate": float(max(rate, 1)), "burst": int(max(rate, 1))}


def submit_body_schema(input_schema: Mapping[str, Any]) -> dict[str, Any]:
    """The submit body (JSON schema draft 4, which API Gateway models speak)."""
    return {
        "$schema": "http://json-schema.org/draft-04/schema#",
        "type": "object",
        "required": ["input"],
        "additionalProperties": False,
        "properties": {
            "input": dict(input_schema),
            "callback_url": {"type": "string", "pattern": "^https://", "maxLength": 2048},
        },
    }


_ERROR_DETAIL: dict[str, Any] = {
    "type": "object",
    "required": ["code", "message"],
    "additionalProperties": False,
    "properties": {"code": {"type": "string"}, "message": {"type": "string"}},
}
_ERROR: dict[str, Any] = {
    "type": "object",
    "required": ["error"],
    "additionalProperties": False,
    "properties": {"error": _ERROR_DETAIL},
}
_STATUS_ENUM = ["queued", "running", "succeeded", "failed", "timed_out", "cancelled"]
_JOB_ID = {"type": "string", "pattern": "^[A-Za-z0-9_-]{22}$"}


def _responses(ok: int, ok_schema: Mapping[str, Any], errors: tuple[int, ...]) -> dict[str, Any]:
    out: dict[str, Any] = {str(ok): {"description": "success", "content": {"application/json": {"schema": ok_schema}}}}
    for code in (*errors, 503):
        out[str(code)] = {"description": "error", "content": {"application/json": {"schema": _ERROR}}}
    return out


def openapi_document(path: str, input_schema: Mapping[str, Any], *, webhooks: bool = True) -> dict[str, Any]:
    """The routes as OpenAPI 3.0: what clients may send and every answer they may get."""
    item = f"{path}/{{job_id}}"
    job_param = [{"name": "job_id", "in": "path", "required": True, "schema": _JOB_ID}]
    accepted = {
        "type": "object",
        "required": ["job_id", "status", "created_at", "status_url", "result_url"],
        "additionalProperties": False,
        "properties": {
            "job_id": _JOB_ID,
            "status": {"enum": ["queued"]},
            "created_at": {"type": "string"},
            "status_url": {"type": "string"},
            "result_url": {"type": "string"},
            "callback": {"type": "object"},
            "push": {"type": "object", "required": ["url", "token", "expires_at"]},
        },
    }
    status = {
        "type": "object",
        "required": ["job_id", "status", "links"],
        "additionalProperties": False,
        "properties": {
            "job_id": _JOB_ID,
            "status": {"enum": _STATUS_ENUM},
            **{k: {"type": "string"} for k in ("created_at", "updated_at", "started_at", "finished_at")},
            "error": _ERROR_DETAIL,
            "links": {"type": "object"},
        },
    }
    result = {
        "type": "object",
        "required": ["job_id", "url", "expires_in"],
        "additionalProperties": False,
        "properties": {"job_id": _JOB_ID, "url": {"type": "string"}, "expires_in": {"type": "integer"}},
    }
    cancelled = {
        "type": "object",
        "required": ["job_id", "status"],
        "additionalProperties": False,
        "properties": {"job_id": _JOB_ID, "status": {"enum": ["cancelled"]}},
    }
    body = submit_body_schema(input_schema)
    body.pop("$schema")
    paths: dict[str, Any] = {
        path: {
            "post": {
                "parameters": [{"name": "Idempotency-Key", "in": "header", "schema": {"type": "string"}}],
                "requestBody": {"required": True, "content": {"application/json": {"schema": body}}},
                "responses": _responses(202, accepted, (400, 409, 422)),
            }
        },
        item: {
            "get": {"parameters": job_param, "responses": _responses(200, status, (400, 404))},
            "delete": {"parameters": job_param, "responses": _responses(202, cancelled, (400, 404, 409))},
        },
        f"{item}/result": {
            "get": {"parameters": job_param, "responses": _responses(200, result, (400, 404, 409, 410))}
        },
    }
    if webhooks:
        registered = {
            "type": "object",
            "required": ["url", "all_jobs", "verified", "secret"],
            "additionalProperties": False,
            "properties": {
                "url": {"type": "string"},
                "all_jobs": {"type": "boolean"},
                "verified": {"const": True},
                "secret": {"type": "string"},
            },
        }
        hook_body = {
            "type": "object",
            "required": ["url"],
            "additionalProperties": False,
            "properties": {"url": {"type": "string"}, "all_jobs": {"type": "boolean"}},
        }
        paths[f"{path}/webhooks"] = {
            "post": {
                "requestBody": {"required": True, "content": {"application/json": {"schema": hook_body}}},
                "responses": _responses(201, registered, (400, 422)),
            }
        }
    return {"openapi": "3.0.3", "info": {"title": f"jobs at {path}", "version": "1"}, "paths": paths}
