"""Every AsyncJobWorkflow argument checked before the first child: one ConfigError names every
problem, and the result is the ``_Settings`` the component builds from."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pulumi

from .. import asl, defaults
from ..packaging import library_code_problem, library_handlers_for
from ..resilient_function import ResilientFunction, check_handler_and_code, check_nested_function_args
from ..throttled_api.auth import check_auth
from ..validation import Arg, Problems, choice, flag, int_range, number_range, read_args
from .args import API_FLAVORS, START_MODES, WORKER_MODES, WORKFLOW_TYPES, AsyncJobWorkflowArgs, PushChannel, RetryArgs

# Each argument's default and its own check; what involves several arguments is a function below.
ARGS: dict[str, Arg] = {
    "api_flavor": Arg(defaults.API_FLAVOR, choice(API_FLAVORS)),
    "workflow_type": Arg(defaults.JOB_WORKFLOW_TYPE, choice(WORKFLOW_TYPES)),
    "worker_mode": Arg(defaults.JOB_WORKER_MODE, choice(WORKER_MODES)),
    "start": Arg(defaults.JOB_START_MODE, choice(START_MODES)),
    "starter_max_concurrency": Arg(
        defaults.JOB_STARTER_MAX_CONCURRENCY, int_range(2, 1000, why="SQS mapping maximum concurrency")
    ),
    "start_quota_per_s": Arg(defaults.JOB_START_QUOTA_PER_S, number_range(1, 100_000)),
    "start_queue_age_alarm_s": Arg(
        defaults.JOB_START_QUEUE_AGE_ALARM_S, int_range(60, defaults.DLQ_RETENTION_S, unit="seconds")
    ),
    "result_url_ttl_s": Arg(
        defaults.JOB_RESULT_URL_TTL_S,
        int_range(1, defaults.PRESIGNED_URL_MAX_S, unit="seconds", why=defaults.PRESIGNED_URL_WHY),
    ),
    "result_retention_days": Arg(defaults.JOB_RESULT_RETENTION_DAYS, int_range(1, 3650, unit="days")),
    "job_ttl_days": Arg(defaults.JOB_TTL_DAYS, int_range(1, 3650, unit="days")),
    "idempotency_ttl_s": Arg(defaults.JOB_IDEMPOTENCY_TTL_S, int_range(60, 604_800, unit="seconds")),
    "max_body_bytes": Arg(
        defaults.JOB_MAX_BODY_BYTES, int_range(1, 6_291_456, unit="bytes", why="Lambda synchronous payload")
    ),
    "inline_input_bytes": Arg(
        defaults.JOB_INLINE_INPUT_BYTES,
        int_range(1, 240_000, unit="bytes", why="Step Functions and SQS carry 262144 with metadata"),
    ),
    "log_level": Arg(defaults.JOB_LOG_LEVEL, choice(asl.LOG_LEVELS)),
    "log_execution_data": Arg(defaults.JOB_LOG_EXECUTION_DATA, flag()),
    "log_retention_days": Arg(defaults.LOG_RETENTION_DAYS, choice(defaults.LOG_RETENTION_DAYS_ALLOWED)),
}


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
    v: dict[str, Any] = {}
    read_args(p, args, ARGS, ("log_level", "log_execution_data", "log_retention_days"), v)
    return v["log_level"], v["log_execution_data"], v["log_retention_days"]


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
    v: dict[str, Any] = {}
    flavor_ok = read_args(p, args, ARGS, ("api_flavor",), v)["api_flavor"]
    flavor = v["api_flavor"]
    if flavor_ok and args.get("auth") is not None:
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
    stand_ins = {
        "handler": "handlers.jobs.status.lambda_handler",
        "code": pulumi.AssetArchive({}),
        "invocation": "sync",
    }
    if check_nested_function_args(
        p, "functions", f"{name}-status", functions, owned=OWNED_FUNCTION_KEYS, stand_ins=stand_ins
    ):
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
    ok = read_args(p, args, ARGS, ("result_url_ttl_s", "result_retention_days", "job_ttl_days"), v)
    job_ttl, retention = v["job_ttl_days"], v["result_retention_days"]
    if ok["job_ttl_days"] and ok["result_retention_days"] and job_ttl < retention:
        p.add(
            f"job_ttl_days={job_ttl!r} must be at least result_retention_days={retention!r}: a result would "
            "outlive its job and answer 404 instead of its URL"
        )
    read_args(p, args, ARGS, ("idempotency_ttl_s", "max_body_bytes", "inline_input_bytes"), v)
    schema = args.get("input_schema", {"type": "object"})
    if not isinstance(schema, Mapping):
        p.add(f"input_schema={_shown(schema)} must be a JSON schema object")
    v["input_schema"] = dict(schema) if isinstance(schema, Mapping) else {}
    return v


def _check_start(p: Problems, args: Mapping[str, Any]) -> dict[str, Any]:
    v: dict[str, Any] = {}
    ok = read_args(p, args, ARGS, ("start", "starter_max_concurrency", "start_quota_per_s"), v)
    if ok["start_quota_per_s"]:
        v["start_quota_per_s"] = float(v["start_quota_per_s"])
    read_args(p, args, ARGS, ("start_queue_age_alarm_s",), v)
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
    v: dict[str, Any] = {}
    ok = read_args(p, args, ARGS, ("workflow_type", "worker_mode"), v)
    wf_type, type_ok, mode, mode_ok = v["workflow_type"], ok["workflow_type"], v["worker_mode"], ok["worker_mode"]
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
