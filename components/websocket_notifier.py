"""WebSocketNotifier: push each job result to the clients that asked for it, and only to them.

The third flavour of the front door (after ThrottledApi's REST and HTTP): an API Gateway
WebSocket API with the same throttle checks, access log format and alarm helper.

What you get by default (``defaults.py``, each pinned by a test):

- Routes ``$connect`` (authorized: a short-lived token bound to one job, passed as the
  ``job_id`` and ``token`` query parameters; or ``connect_auth='iam'`` for signed clients, or
  ``'authorizer'`` for a principal from your REQUEST authorizer function),
  ``$disconnect``, ``subscribe`` (``{"action": "subscribe", "job_id": ..., "token": ...}``) and
  ``$default``, which answers every frame it gets (not JSON, unknown action, oversized) with a
  JSON error on the socket. ``subscribe`` and ``$default`` answer through a route response, so a
  client's mistake is a 4xx answer, never a dropped connection or a 5xx.
- A stage ``live`` with a throttle on the stage (50 messages/s, bursts of 100) and on every route;
  ``$connect`` admits 100 new connections/s (bursts of 200): a fifth of the account's quota of 500
  new connections per second per region, which every WebSocket API in the account shares.
- JSON access logs (30 days), alarms on integration and execution errors and on connect and
  message rates above 80% of what the throttles admit.
- A connection table: TTL at the 2-hour connection limit, encryption at rest; who to notify lives
  on the job item, read consistently (an index would be read eventually consistent).
- Frames: size (4 KB), UTF-8 and nesting depth (4) checked on the raw text before parsing.
- Push never gates a job: ``workflow_states`` gives AsyncJobWorkflow one Request Response
  ``lambda:invoke`` of notify per terminal status, placed after that status is recorded (so it
  runs on Express and Standard workflows alike, and pollers see the end at once). A failed push
  goes to the workflow's fallback with ``$.push_error``; the job's status never changes.
- No subscriber is missed: ``subscribe`` writes the subscription on the job and reads the job back
  in the same write, and answers a job that already ended with its result at once; the workflow
  writes the status, then reads the subscribers. A client may be told twice: every message carries
  ``job_id`` and ``status`` to drop the copy by.
- One token, one connection: the first connection to present a job's token claims it (a
  conditional write); a replayed copy is refused while the claim lives (the token's lifetime, and
  at least the 2-hour connection limit).
- Delivery: results above one frame (32 KB) go as a pre-signed URL (15 minutes); a gone
  connection (410) is removed; throttled posts are retried with full-jitter backoff (never a 410);
  at most 8 posts in flight per notified job.
- ``execute-api:ManageConnections`` only on ``POST`` to this API's stage ``@connections``.

Wiring (``PushChannel`` of AsyncJobWorkflow): ``url``, ``bind_jobs``, ``workflow_states``,
``state_machine_statements``; and ``read_results(bucket_arn, prefix)`` for the bucket the results
live in (notify, and the socket function for a subscriber that comes after the end).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, TypedDict

import pulumi
import pulumi_aws as aws

from . import defaults
from .base import ResilientComponent, Transform
from .blocks import AlarmSpec, access_log_format, access_log_group, api_gateway_alarms
from .grants import policy_json
from .packaging import LIBRARY_ROOT, library_code_problem, library_handlers_for
from .resilient_function import ResilientFunction, ResilientFunctionArgs, check_handler_and_code
from .resilient_function import _validate as validate_function

# Shared with ThrottledApi (the same checks and log fields for every flavour of the front door).
from .throttled_api import ThrottleArgs
from .throttled_api.common import check_throttle, v2_stage_throttles
from .validation import ConfigError, Problems

__all__ = ["WebSocketNotifier", "WebSocketNotifierArgs", "push_states"]

ROUTE_KEYS: tuple[str, ...] = ("$connect", "$disconnect", "subscribe", "$default")
ANSWERING_ROUTES: tuple[str, ...] = ("subscribe", "$default")  # their Lambda's answer goes back on the socket
CONNECT_AUTH: tuple[str, ...] = ("token", "iam", "authorizer")
HANDLERS = {
    "socket": "handlers.push.routes.lambda_handler",
    "notify": "handlers.push.notify.lambda_handler",
}
# Lambda faults worth a retry inside the state machine (the function's own errors are not).
LAMBDA_SERVICE_ERRORS = [
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.TooManyRequestsException",
]
# Step Functions gives the notify Lambda this long beyond its own timeout to answer.
NOTIFY_TASK_MARGIN_S = 5
# JOBS_TABLE of a notifier no workflow bound: parentheses make it no valid DynamoDB table name, so it
# never names a real table (handlers.push.store.NO_JOB_TABLE reads the same literal).
NO_JOB_TABLE = "(none)"
# The terminal statuses a workflow announces (AsyncJobWorkflow records them).
PUSHED_STATUSES = ("succeeded", "failed", "timed_out")


class WebSocketNotifierArgs(TypedDict, total=False):
    """Arguments of WebSocketNotifier. All optional.

    A notifier no AsyncJobWorkflow binds (``push=``) is a valid program: a WebSocket API whose
    connections your own code writes to (``connections_url``, ``connect_auth='iam'`` or
    ``'authorizer'``); it pushes no job results, its functions get ``JOBS_TABLE='(none)'`` (never an
    empty name), token connects are refused and ``subscribe`` answers ``no_jobs``.

    ``transform`` keys: api, route, route_response, integration, deployment, stage, access_logs,
    permission, table, policy, alarm (functions take theirs through ``function['transform']``).
    """

    code: pulumi.Archive | str
    """The package of the socket, park and notify functions: it must hold the library's handlers as
    a top-level ``handlers`` package. Default: the library's own, packaged for the functions'
    architecture, runtime and Powertools source (``packaging.library_handlers_for``)."""
    function: ResilientFunctionArgs
    """Extra ResilientFunction arguments for the socket and notify functions (timeout below 29 s,
    memory, log level, powertools...; not handler, code or invocation). Default: none."""
    connect_auth: str
    """``token`` (the job's push token in the ``token`` and ``job_id`` query parameters, checked
    by the socket function), ``iam`` (SigV4-signed connects) or ``authorizer`` (a REQUEST Lambda
    authorizer, ``authorizer``; its principal is recorded). Either way ``subscribe`` checks the
    job's token. Default: ``token``."""
    authorizer: ResilientFunction
    """``connect_auth='authorizer'`` only: the REQUEST authorizer function. Default: none."""
    authorizer_identity_sources: list[str]
    """Where the authorizer reads the caller's identity; a connect without them is refused before
    any invocation. Default: ``["route.request.header.Authorization"]``."""
    stage_name: str
    """Default: ``live``."""
    throttle: ThrottleArgs
    """Stage throttle for client frames. Default: rate 50, burst 100."""
    connect_throttle: ThrottleArgs
    """``$connect`` throttle, rate at most 500 (the account's new connections per second).
    Default: rate 100, burst 200."""
    route_throttles: Mapping[str, ThrottleArgs]
    """Per route key (``$disconnect``, ``subscribe``, ``$default``). Default: the stage's."""
    inline_max_bytes: int
    """Largest message pushed inline, 256 to 131072 (the 128 KB message limit). Default: 32768
    (one frame)."""
    result_url_ttl_s: int
    """Lifetime of a pre-signed result URL, 60 to 604800 s. Default: 900."""
    notify_concurrency: int
    """PostToConnection calls in flight per notified job, 1 to 64. Default: 8."""
    log_retention_days: int
    """Access logs. Default: 30."""
    gateway_account: pulumi.Resource | None
    """The region's API Gateway logging role (``ApiGatewayAccount``): WebSocket stages log through
    it, so the stage waits for it. Default: none (managed by another stack)."""
    alarm_topic_arn: pulumi.Input[str] | None
    """SNS topic for alarm and OK actions. Default: none."""
    tags: Mapping[str, str]
    transform: Mapping[str, Transform]


@dataclass(frozen=True)
class _Route:
    key: str
    rate: float
    burst: int

    @property
    def label(self) -> str:
        return self.key.lstrip("$")

    def summary(self, auth: str, timeout_ms: int) -> dict[str, Any]:
        row: dict[str, Any] = {
            "route": self.key,
            "target": "function socket",
            "integration_timeout_ms": timeout_ms,
            "rate": self.rate,
            "burst": self.burst,
        }
        if self.key == "$connect":
            row["authorization"] = {"iam": "AWS_IAM", "authorizer": "REQUEST authorizer"}.get(
                auth, "job token (query parameters job_id, token)"
            )
        if self.key in ANSWERING_ROUTES:
            row["answers_on_socket"] = True
        return row


@dataclass(frozen=True)
class _Settings:
    code: Any
    function: dict[str, Any]
    function_timeout: int
    connect_auth: str
    authorizer: ResilientFunction | None
    identity_sources: tuple[str, ...]
    stage_name: str
    rate: float
    burst: int
    routes: tuple[_Route, ...]
    inline_max_bytes: int
    result_url_ttl_s: int
    notify_concurrency: int
    log_retention_days: int
    gateway_account: pulumi.Resource | None
    alarm_topic_arn: pulumi.Input[str] | None

    @property
    def integration_timeout_ms(self) -> int:
        # The function gives up first: one second of headroom, within the WebSocket limit.
        return min(defaults.WS_INTEGRATION_TIMEOUT_MAX_MS, (self.function_timeout + 1) * 1000)

    def connect_quota(self) -> dict[str, Any]:
        connect = next(r for r in self.routes if r.key == "$connect")
        quota = defaults.WS_ACCOUNT_CONNECT_QUOTA
        return {
            "connect_rate": connect.rate,
            "connect_burst": connect.burst,
            "account_quota_per_s": quota,
            "share_of_account_quota": round(connect.rate / quota, 3),
            "apis_like_this_per_account": int(quota // connect.rate),
            "connections_per_2h_at_rate": int(connect.rate * defaults.WS_CONNECTION_TTL_S),
        }


def _throttle_of(p: Problems, key: str, given: Any, rate: float, burst: int) -> tuple[float, int] | None:
    """ThrottledApi's check, with this route's defaults filled in where a value is missing."""
    merged = {"rate": rate, "burst": burst, **given} if isinstance(given, Mapping) else given
    return check_throttle(p, key, merged)


def _check_function(p: Problems, name: str, code: Any, given: Any) -> tuple[dict[str, Any], int]:
    """``function``: a dict of ResilientFunction arguments, each checked as ResilientFunction checks
    it (for every function this notifier makes), and a timeout within the WebSocket limit."""
    if given is None:
        given = {}
    if not isinstance(given, Mapping):
        p.add(f"function={given!r} must be a dict of ResilientFunction arguments")
        return {}, defaults.FUNCTION_TIMEOUT_S
    function = dict(given)
    owned = ("handler", "code", "invocation")
    for key in owned:
        if key in function:
            p.add(f"function[{key!r}] is set by WebSocketNotifier; pass code at the top level")
    known = sorted(set(ResilientFunctionArgs.__annotations__) - set(owned))
    unknown = sorted(set(function) - set(known) - set(owned), key=str)
    for key in unknown:
        p.add(f"unknown function argument {key!r} (valid function arguments: {', '.join(known)})")
    timeout = function.get("timeout", defaults.FUNCTION_TIMEOUT_S)
    ceiling = defaults.WS_INTEGRATION_TIMEOUT_MAX_MS // 1000 - 1
    timeout_ok = p.check_int_range(
        "function.timeout",
        timeout,
        1,
        ceiling,
        unit="seconds",
        why=f"the function must give up before the WebSocket integration timeout of "
        f"{defaults.WS_INTEGRATION_TIMEOUT_MAX_MS} ms",
    )
    if isinstance(code, pulumi.Archive) or (isinstance(code, str) and code and Path(code).exists()):
        rest = {k: v for k, v in function.items() if k in known and (k != "timeout" or timeout_ok)}
        for problem in _function_problems(name, code, rest):
            p.add(f"function: {problem}")
    return function, int(timeout) if timeout_ok else defaults.FUNCTION_TIMEOUT_S


def _function_problems(name: str, code: Any, function: Mapping[str, Any]) -> list[str]:
    """Every other argument exactly as ResilientFunction will judge it, so it fails here, before the
    first child, rather than inside the second function. Each problem once."""
    problems: list[str] = []
    for role, handler in HANDLERS.items():
        try:
            validate_function(
                f"{name}-{role}",
                {**function, "handler": handler, "code": code, "invocation": "sync"},
                ResilientFunction.check_transform_keys,
            )
        except ConfigError as error:
            problems += [problem for problem in error.problems if problem not in problems]
    return problems


def _check_code(p: Problems, code: Any) -> bool:
    """A given ``code``: the path and type checks ResilientFunction runs, then whether it holds the
    library's push handlers (left out, the notifier packages its own)."""
    if code is None:
        return True
    found = len(p.items)
    check_handler_and_code(p, "", code)
    problem = library_code_problem(code, HANDLERS.values(), "WebSocketNotifier") if len(p.items) == found else None
    if problem:
        p.add(problem)
    return len(p.items) == found


def _check_types(p: Problems, args: Mapping[str, Any]) -> None:
    """Arguments whose wrong type would otherwise pass unnoticed (a string iterated as a list)."""
    sources = args.get("authorizer_identity_sources")
    if sources is not None and (not isinstance(sources, list | tuple) or not all(isinstance(x, str) for x in sources)):
        p.add(f"authorizer_identity_sources={sources!r} must be a list of strings")
    topic = args.get("alarm_topic_arn")
    if topic is not None and not isinstance(topic, str | pulumi.Output):
        p.add(f"alarm_topic_arn={topic!r} must be an SNS topic ARN (a string or an Output)")
    tags = args.get("tags")
    if tags is not None and (
        not isinstance(tags, Mapping) or not all(isinstance(k, str) and isinstance(v, str) for k, v in tags.items())
    ):
        p.add(f"tags={tags!r} must be a dict of strings to strings")


def _check_routes(p: Problems, args: Mapping[str, Any], stage: tuple[float, int] | None) -> tuple[_Route, ...]:
    connect = _throttle_of(
        p, "connect_throttle", args.get("connect_throttle", {}), defaults.WS_CONNECT_RATE, defaults.WS_CONNECT_BURST
    )
    quota = defaults.WS_ACCOUNT_CONNECT_QUOTA
    if connect and connect[0] > quota:
        p.add(
            f"connect_throttle.rate={connect[0]!r} is above {quota} new connections per second, the WebSocket "
            "quota per account and region: connects above it are refused by the account, not by this API"
        )
        connect = None
    given = args.get("route_throttles") or {}
    if not isinstance(given, Mapping):
        p.add(f"route_throttles={given!r} must be a dict of route key to throttle")
        given = {}
    for key in given:
        if key == "$connect":
            p.add("route_throttles['$connect'] is set through connect_throttle (it is bounded by the account quota)")
        elif key not in ROUTE_KEYS:
            p.add(f"route_throttles key {key!r} is not a route (routes: {', '.join(ROUTE_KEYS[1:])})")
    routes: list[_Route] = []
    if connect:
        routes.append(_Route("$connect", *connect))
    for key in ROUTE_KEYS[1:]:
        throttle = _throttle_of(p, f"route_throttles[{key!r}]", given[key], *stage) if key in given and stage else stage
        if throttle:
            routes.append(_Route(key, *throttle))
    return tuple(routes)


def _validate(name: str, args: Mapping[str, Any], transform_check: Any) -> _Settings:
    p = Problems(f"WebSocketNotifier {name!r}")
    p.check_known_keys(args, WebSocketNotifierArgs.__annotations__, what="argument")
    code_ok = _check_code(p, args.get("code"))
    # Without a usable code the functions are judged against the library's own handlers, so their
    # other arguments are still checked and the code's problem is named once.
    given_code = args.get("code") if code_ok else None
    function, timeout = _check_function(p, name, given_code or LIBRARY_ROOT, args.get("function"))
    _check_types(p, args)
    auth = args.get("connect_auth", "token")
    if not isinstance(auth, str):
        p.add(f"connect_auth={auth!r} is not one of {', '.join(repr(a) for a in CONNECT_AUTH)}")
        auth = "token"
    else:
        p.check_choice("connect_auth", auth, CONNECT_AUTH)
    authorizer = args.get("authorizer")
    given_sources = args.get("authorizer_identity_sources")
    sources = (
        tuple(given_sources)
        if isinstance(given_sources, list | tuple) and given_sources
        else ("route.request.header.Authorization",)
    )
    if auth == "authorizer" and not isinstance(authorizer, ResilientFunction):
        p.add(f"connect_auth='authorizer' needs authorizer=<a ResilientFunction>, got {authorizer!r}")
    if auth != "authorizer" and ("authorizer" in args or "authorizer_identity_sources" in args):
        p.add(f"authorizer and authorizer_identity_sources apply only to connect_auth='authorizer', not {auth!r}")
    for source in sources:
        if not str(source).startswith(("route.request.header.", "route.request.querystring.")):
            p.add(
                f"authorizer_identity_sources entry {source!r} must be route.request.header.<name> or "
                "route.request.querystring.<name>"
            )
    stage_name = args.get("stage_name", defaults.WS_STAGE)
    if not isinstance(stage_name, str) or not stage_name.replace("-", "").replace("_", "").isalnum():
        p.add(f"stage_name={stage_name!r} must be letters, digits, - or _")
    stage = _throttle_of(p, "throttle", args.get("throttle", {}), defaults.WS_THROTTLE_RATE, defaults.WS_THROTTLE_BURST)
    routes = _check_routes(p, args, stage)
    inline = args.get("inline_max_bytes", defaults.WS_INLINE_MAX_BYTES)
    p.check_int_range(
        "inline_max_bytes", inline, 256, defaults.WS_MESSAGE_BYTES, unit="bytes", why="WebSocket message limit"
    )
    url_ttl = args.get("result_url_ttl_s", defaults.WS_RESULT_URL_TTL_S)
    p.check_int_range(
        "result_url_ttl_s", url_ttl, 60, defaults.PRESIGNED_URL_MAX_S, unit="s", why="S3 pre-signed URL limit"
    )
    concurrency = args.get("notify_concurrency", defaults.WS_NOTIFY_CONCURRENCY)
    p.check_int_range("notify_concurrency", concurrency, 1, 64)
    retention = args.get("log_retention_days", defaults.LOG_RETENTION_DAYS)
    p.check_choice("log_retention_days", retention, defaults.LOG_RETENTION_DAYS_ALLOWED)
    account = args.get("gateway_account")
    if account is not None and not isinstance(account, pulumi.Resource):
        p.add(f"gateway_account={account!r} must be a Pulumi resource (e.g. ApiGatewayAccount)")
    transform_check(args.get("transform"), p)
    p.raise_if_any()
    assert stage is not None
    return _Settings(
        code=args.get("code") or library_handlers_for(function),
        function=function,
        function_timeout=timeout,
        connect_auth=auth,
        authorizer=authorizer if auth == "authorizer" else None,
        identity_sources=sources,
        stage_name=stage_name,
        rate=stage[0],
        burst=stage[1],
        routes=routes,
        inline_max_bytes=inline,
        result_url_ttl_s=url_ttl,
        notify_concurrency=concurrency,
        log_retention_days=retention,
        gateway_account=account,
        alarm_topic_arn=args.get("alarm_topic_arn"),
    )


def websocket_access_log_format() -> str:
    """ThrottledApi's v2 fields plus what identifies a socket: the connection and the event."""
    return access_log_format("websocket")


def push_states(
    *,
    notify_function: Any,
    partition: Any,
    notify_timeout_s: int,
    status: str,
    entry: str,
    next_state: str,
    fallback_state: str,
) -> dict[str, Any]:
    """The ASL state ``entry``: tell the job's subscribers it ended with ``status``, already
    recorded. A Request Response ``lambda:invoke`` (Express workflows run no other pattern):
    nothing waits for a client. Values may be Pulumi outputs; plain strings give plain ASL."""
    if isinstance(partition, str):
        invoke_resource: Any = f"arn:{partition}:states:::lambda:invoke"
    else:
        invoke_resource = pulumi.Output.concat("arn:", partition, ":states:::lambda:invoke")
    retry = [
        {
            "ErrorEquals": LAMBDA_SERVICE_ERRORS,
            "IntervalSeconds": 1,
            "MaxAttempts": 3,
            "BackoffRate": 2.0,
            "MaxDelaySeconds": 10,  # capped: 1, 2, 4 s with full jitter, never more than 10 s
            "JitterStrategy": "FULL",
        }
    ]
    return {
        entry: {
            "Type": "Task",
            "Comment": f"Tell the job's subscribers it {status.replace('_', ' ')} (recorded already; a failed "
            "push never changes the job's status)",
            "Resource": invoke_resource,
            "Parameters": {"FunctionName": notify_function, "Payload": {"job_id.$": "$.job_id", "status": status}},
            "ResultSelector": {"delivered.$": "$.Payload.delivered", "gone.$": "$.Payload.gone"},
            "ResultPath": "$.push",
            "TimeoutSeconds": notify_timeout_s + NOTIFY_TASK_MARGIN_S,
            "Retry": retry,
            "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.push_error", "Next": fallback_state}],
            "Next": next_state,
        }
    }


class WebSocketNotifier(ResilientComponent):
    """API Gateway WebSocket API, connection registry and push of job results."""

    TRANSFORM_KEYS: ClassVar[tuple[str, ...]] = (
        "api",
        "route",
        "route_response",
        "integration",
        "deployment",
        "stage",
        "access_logs",
        "permission",
        "table",
        "policy",
        "alarm",
    )

    url: pulumi.Output[str]
    """The ``wss://`` URL clients connect to (stage included)."""
    connections_url: pulumi.Output[str]
    """The ``https://`` management endpoint (``@connections``) of the stage."""
    api_id: pulumi.Output[str]
    connection_table_name: pulumi.Output[str]

    def __init__(self, name: str, args: WebSocketNotifierArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        settings = _validate(name, args, self.check_transform_keys)
        super().__init__(name, tags=args.get("tags"), transform=args.get("transform"), opts=opts)
        self.settings = settings
        self.stage_name = settings.stage_name
        self.routes = settings.routes
        self._jobs_table_name: pulumi.Input[str] | None = None
        self._jobs_table_read = False
        self._result_grants = 0
        self._partition = aws.get_partition_output(opts=pulumi.InvokeOutputOptions(parent=self)).partition

        self.table = self._create_table()
        self.access_logs = access_log_group(self, settings.log_retention_days)
        self.api = self._child(
            "api",
            aws.apigatewayv2.Api,
            "api",
            {
                "name": self.physical("api"),
                "protocol_type": "WEBSOCKET",
                "route_selection_expression": "$request.body.action",
            },
        )
        self.api_id = self.api.id
        self.url = pulumi.Output.concat(self.api.api_endpoint, "/", settings.stage_name)
        self.connections_url = self.url.apply(lambda u: "https://" + u.split("://", 1)[1])
        self.functions = self._create_functions()
        self.route_resources = self._create_routes()
        self.stage = self._create_stage()
        self.manage_connections_arn = pulumi.Output.concat(
            self.api.execution_arn, "/", settings.stage_name, "/POST/@connections/*"
        )
        self._create_policies()
        self.alarms = self._create_alarms()
        self.connection_table_name = self.table.name
        self.register_outputs(
            {
                "url": self.url,
                "connections_url": self.connections_url,
                "api_id": self.api_id,
                "stage_name": settings.stage_name,
                "connection_table": self.table.name,
                "stage_throttle": {"rate": settings.rate, "burst": settings.burst},
                "routes": [r.summary(settings.connect_auth, settings.integration_timeout_ms) for r in settings.routes],
                "connect_quota": settings.connect_quota(),
                "push": {
                    "pattern": "request_response",
                    "after": "the terminal status is recorded",
                    "notify_task_timeout_s": settings.function_timeout + NOTIFY_TASK_MARGIN_S,
                },
                "delivery": {
                    "inline_max_bytes": settings.inline_max_bytes,
                    "result_url_ttl_s": settings.result_url_ttl_s,
                    "notify_concurrency": settings.notify_concurrency,
                },
            }
        )

    # -- create steps ------------------------------------------------------------------------------
    def _create_table(self) -> aws.dynamodb.Table:
        return self._child(
            "table",
            aws.dynamodb.Table,
            "connections",
            {
                "name": self.physical("dynamodb", "connections"),
                "billing_mode": "PAY_PER_REQUEST",
                "hash_key": "connection_id",
                # Who to notify lives on the job item (read consistently after the status write);
                # this table holds connections and token claims only.
                "attributes": [{"name": "connection_id", "type": "S"}],
                "ttl": {"attribute_name": "expires_at", "enabled": True},
                "server_side_encryption": {"enabled": True},
            },
        )

    def _jobs_table_env(self) -> pulumi.Output[str]:
        """The job table's name, known once ``bind_jobs`` ran: resolved after the program body, so
        AsyncJobWorkflow may bind it after this constructor returns; ``NO_JOB_TABLE`` when none did."""

        def read(_: Any) -> pulumi.Input[str]:
            self._jobs_table_read = True
            return self._jobs_table_name if self._jobs_table_name is not None else NO_JOB_TABLE

        return pulumi.Output.from_input("").apply(read)

    def _create_functions(self) -> dict[str, ResilientFunction]:
        s = self.settings
        common = {k: v for k, v in s.function.items() if k != "environment"}
        extra_env = dict(s.function.get("environment") or {})
        env: dict[str, dict[str, pulumi.Input[str]]] = {
            "socket": {
                "CONNECTIONS_TABLE": self.table.name,
                "PUSH_CONNECT_AUTH": s.connect_auth,
                # a subscriber that comes after the job ended gets the result in the answer
                "PUSH_INLINE_MAX_BYTES": str(s.inline_max_bytes),
                "PUSH_RESULT_URL_TTL_S": str(s.result_url_ttl_s),
            },
            "notify": {
                "CONNECTIONS_TABLE": self.table.name,
                "PUSH_ENDPOINT": self.url.apply(lambda u: "https://" + u.split("://", 1)[1]),
                "PUSH_INLINE_MAX_BYTES": str(s.inline_max_bytes),
                "PUSH_RESULT_URL_TTL_S": str(s.result_url_ttl_s),
                "PUSH_NOTIFY_CONCURRENCY": str(s.notify_concurrency),
            },
        }
        functions = {}
        for role, handler in HANDLERS.items():
            functions[role] = ResilientFunction(
                f"{self._name}-{role}",
                {  # type: ignore[arg-type]
                    **common,
                    "handler": handler,
                    "code": s.code,
                    "invocation": "sync",
                    "alarm_topic_arn": s.alarm_topic_arn,
                    "environment": {**extra_env, **env[role], "JOBS_TABLE": self._jobs_table_env()},
                },
                pulumi.ResourceOptions(parent=self),
            )
        table_actions = {
            "socket": ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"],
            "notify": ["dynamodb:DeleteItem"],
        }
        for role, actions in table_actions.items():
            functions[role].grants.allow("connections", actions, [self.table.arn])
        return functions

    def _create_routes(self) -> dict[str, aws.apigatewayv2.Route]:
        s = self.settings
        socket = self.functions["socket"]
        integration = self._child(
            "integration",
            aws.apigatewayv2.Integration,
            "integration-socket",
            {
                "api_id": self.api.id,
                "integration_type": "AWS_PROXY",
                "integration_method": "POST",
                "integration_uri": socket.invoke_arn,
                "timeout_milliseconds": s.integration_timeout_ms,
            },
        )
        self.integration = integration
        routes: dict[str, aws.apigatewayv2.Route] = {}
        self.route_responses: list[aws.apigatewayv2.RouteResponse] = []
        self.permissions: list[aws.lambda_.Permission] = []
        for route in s.routes:
            args: dict[str, Any] = {
                "api_id": self.api.id,
                "route_key": route.key,
                "target": integration.id.apply(lambda i: f"integrations/{i}"),
            }
            if route.key == "$connect":
                args["authorization_type"] = {"iam": "AWS_IAM", "authorizer": "CUSTOM"}.get(s.connect_auth, "NONE")
                if s.connect_auth == "authorizer":
                    args["authorizer_id"] = self._create_authorizer().id
                if s.connect_auth == "token":
                    # API Gateway refuses a connect without them before any invocation.
                    args["request_parameters"] = [
                        {"request_parameter_key": f"route.request.querystring.{q}", "required": True}
                        for q in ("job_id", "token")
                    ]
            if route.key in ANSWERING_ROUTES:
                args["route_response_selection_expression"] = "$default"
            routes[route.key] = self._child("route", aws.apigatewayv2.Route, f"route-{route.label}", args)
            if route.key in ANSWERING_ROUTES:
                self.route_responses.append(
                    self._child(
                        "route_response",
                        aws.apigatewayv2.RouteResponse,
                        f"route-response-{route.label}",
                        {"api_id": self.api.id, "route_id": routes[route.key].id, "route_response_key": "$default"},
                    )
                )
            self.permissions.append(self._permit(socket, route))
        return routes

    def _create_authorizer(self) -> aws.apigatewayv2.Authorizer:
        s = self.settings
        assert s.authorizer is not None
        self.authorizer = self._child(
            "route",
            aws.apigatewayv2.Authorizer,
            "authorizer",
            {
                "api_id": self.api.id,
                "name": self.physical("api", "authorizer"),
                "authorizer_type": "REQUEST",
                "authorizer_uri": s.authorizer.invoke_arn,
                "identity_sources": list(s.identity_sources),
            },
        )
        args: dict[str, Any] = {
            "action": "lambda:InvokeFunction",
            "function": s.authorizer.function.name,
            "principal": "apigateway.amazonaws.com",
            # This API's one authorizer: arn:...:execute-api:<region>:<account>:<api>/authorizers/<id>.
            "source_arn": pulumi.Output.concat(self.api.execution_arn, "/authorizers/", self.authorizer.id),
        }
        if s.authorizer.alias is not None:
            args["qualifier"] = s.authorizer.alias.name
        self.permissions.append(self._child("permission", aws.lambda_.Permission, "invoke-authorizer", args))
        return self.authorizer

    def _permit(self, function: ResilientFunction, route: _Route) -> aws.lambda_.Permission:
        args: dict[str, Any] = {
            "action": "lambda:InvokeFunction",
            "function": function.function.name,
            "principal": "apigateway.amazonaws.com",
            # One API, stage and route: arn:...:execute-api:<region>:<account>:<api>/<stage>/<route key>.
            "source_arn": pulumi.Output.concat(self.api.execution_arn, "/", self.settings.stage_name, "/", route.key),
        }
        if function.alias is not None:
            args["qualifier"] = function.alias.name
        return self._child("permission", aws.lambda_.Permission, f"invoke-{route.label}", args)

    def _create_stage(self) -> aws.apigatewayv2.Stage:
        s = self.settings
        routes = list(self.route_resources.values())
        fingerprint = hashlib.sha256(
            json.dumps([[r.key, s.connect_auth, s.integration_timeout_ms] for r in s.routes], sort_keys=True).encode()
        ).hexdigest()[:16]
        # A WebSocket stage has no auto-deploy: a deployment snapshots the routes, so it waits for
        # every route, integration and route response, and is replaced when they change.
        self.deployment = self._child(
            "deployment",
            aws.apigatewayv2.Deployment,
            "deployment",
            {"api_id": self.api.id, "triggers": {"routes": fingerprint}},
            pulumi.ResourceOptions(depends_on=[*routes, self.integration, *self.route_responses]),
        )
        # route_settings name route keys that must exist (else NotFoundException on create).
        depends: list[pulumi.Resource] = [*routes, *self.permissions]
        if s.gateway_account is not None:
            depends.append(s.gateway_account)
        return self._child(
            "stage",
            aws.apigatewayv2.Stage,
            "stage",
            {
                "api_id": self.api.id,
                "name": s.stage_name,
                "deployment_id": self.deployment.id,
                **v2_stage_throttles(s.rate, s.burst, s.routes),
                "access_log_settings": {
                    "destination_arn": self.access_logs.arn,
                    "format": websocket_access_log_format(),
                },
            },
            pulumi.ResourceOptions(depends_on=depends),
        )

    def _create_policies(self) -> None:
        """Rights that are not a table grant: post to this stage's connections."""
        notify = self.functions["notify"]
        self.manage_connections_policy = self._child(
            "policy",
            aws.iam.RolePolicy,
            "notify-manage-connections",
            {
                "role": notify.role.id,
                "policy": policy_json(
                    [
                        {
                            "Effect": "Allow",
                            "Action": ["execute-api:ManageConnections"],
                            "Resource": [self.manage_connections_arn],
                        }
                    ]
                ),
            },
        )

    def _create_alarms(self) -> dict[str, pulumi.Resource]:
        s = self.settings
        dims = {"ApiId": self.api.id, "Stage": s.stage_name}
        share = defaults.WS_RATE_ALARM_SHARE
        connect = next(r for r in s.routes if r.key == "$connect")
        period = defaults.ALARM_PERIOD_S
        specs = [
            AlarmSpec(
                "integration-errors", "IntegrationError", "Sum", 0, "The socket function failed to answer a route"
            ),
            AlarmSpec("execution-errors", "ExecutionError", "Sum", 0, "API Gateway failed to run a route"),
            AlarmSpec(
                "connect-rate",
                "ConnectCount",
                "Sum",
                round(connect.rate * period * share),
                f"New connections above {share:.0%} of the $connect throttle ({connect.rate}/s; account quota "
                f"{defaults.WS_ACCOUNT_CONNECT_QUOTA}/s)",
            ),
            AlarmSpec(
                "message-rate",
                "MessageCount",
                "Sum",
                round(s.rate * period * share),
                f"Messages above {share:.0%} of the stage throttle ({s.rate}/s)",
            ),
        ]
        alarms = api_gateway_alarms(self, s.alarm_topic_arn, dims, specs)
        # notify's EMF metric (Powertools: the function's namespace, dimension "service"): a result
        # that reached no subscriber after retries; the job still falls back to polling.
        notify = self.functions["notify"].settings
        alarms["push-failed"] = self._alarm(
            "push-failed",
            s.alarm_topic_arn,
            namespace=notify.metrics_namespace,
            metric_name="PushFailed",
            dimensions={"service": notify.service_name},
            statistic="Sum",
            threshold=0,
            alarm_description="Posts to subscribers failed after retries (throttled or erroring management API)",
        )
        return alarms

    # -- PushChannel (AsyncJobWorkflow) ---------------------------------------------------------------
    def bind_jobs(self, table_name: pulumi.Input[str], table_arn: pulumi.Input[str]) -> None:
        """Give the functions read and update access to the job table, and its name (``JOBS_TABLE``).

        One notifier serves one job table: binding a second, different one is a ``ConfigError``
        (its subscribers' tokens would be checked against the wrong jobs). Binding the same table
        again does nothing."""
        if self._jobs_table_name is not None:
            if table_name is self._jobs_table_name:
                return
            raise ConfigError(
                f"WebSocketNotifier {self._name!r}",
                [
                    "is already bound to a job table: one notifier serves one AsyncJobWorkflow (give each "
                    "workflow its own WebSocketNotifier)"
                ],
            )
        if self._jobs_table_read:
            raise ConfigError(
                f"WebSocketNotifier {self._name!r}",
                ["bind_jobs must be called while the program runs, before the notifier's outputs resolve"],
            )
        self._jobs_table_name = table_name
        for function in self.functions.values():
            function.grants.allow("jobs", ["dynamodb:GetItem", "dynamodb:UpdateItem"], [table_arn])

    @property
    def jobs_bound(self) -> bool:
        """True once a workflow bound its job table (``bind_jobs``)."""
        return self._jobs_table_name is not None

    def read_results(self, bucket_arn: pulumi.Input[str], prefix: str = "") -> None:
        """Let notify and the socket function (a subscriber after the end is answered at once) read
        results under ``prefix`` in the bucket and pre-sign URLs to them."""
        resource = pulumi.Output.concat(bucket_arn, "/", prefix, "*")
        self._result_grants += 1
        label = "results" if self._result_grants == 1 else f"results-{self._result_grants}"
        for role in ("socket", "notify"):
            self.functions[role].grants.allow(label, ["s3:GetObject"], [resource])

    def workflow_states(self, *, status: str, entry: str, next_state: str, fallback_state: str) -> dict[str, Any]:
        """ASL states for AsyncJobWorkflow, entered at ``entry`` once ``status`` is recorded; see
        ``push_states``."""
        if status not in PUSHED_STATUSES:
            raise ConfigError(
                f"WebSocketNotifier {self._name!r}",
                [f"status={status!r} is not one of {', '.join(repr(s) for s in PUSHED_STATUSES)}"],
            )
        return push_states(
            notify_function=self.functions["notify"].target_arn,
            partition=self._partition,
            notify_timeout_s=self.settings.function_timeout,
            status=status,
            entry=entry,
            next_state=next_state,
            fallback_state=fallback_state,
        )

    def state_machine_statements(self) -> list[dict[str, Any]]:
        """What the state machine's role needs to run ``workflow_states``: invoke notify."""
        arn = self.functions["notify"].function_arn
        resources = [arn, pulumi.Output.concat(arn, ":*")]
        return [{"Effect": "Allow", "Action": ["lambda:InvokeFunction"], "Resource": resources}]
