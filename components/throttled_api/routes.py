"""The route model and the validation both flavours share: every bad key named before any resource."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypedDict

import pulumi
import pulumi_aws as aws

from .. import defaults
from ..base import Transform
from ..priority_queue_pair import PriorityQueuePair
from ..resilient_function import ResilientFunction
from ..validation import Arg, Problems, choice, read_args
from .account import ApiGatewayAccount
from .auth import Auth, AuthArgs, check_auth
from .common import check_throttle, slug
from .envelope import IdSource, check_source
from .tenancy import TenantSource, check_tenant

FLAVORS = ("rest", "http")
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "ANY")
PATH = re.compile(r"^/$|^(/([A-Za-z0-9._-]+|\{[A-Za-z_][A-Za-z0-9_]*\}))*(/\{[A-Za-z_][A-Za-z0-9_]*\+\})?$")
PARAM = re.compile(r"^(querystring|header)\.[A-Za-z0-9._-]+$")
QUOTA_PERIODS = ("DAY", "WEEK", "MONTH")


class ThrottleArgs(TypedDict, total=False):
    rate: float
    """Steady requests per second, above 0 and at most 10000 (the account default)."""
    burst: int
    """Bucket size, at least the rate and at most 5000."""


class QuotaArgs(TypedDict):
    limit: int
    period: str  # DAY, WEEK or MONTH


class UsagePlanArgs(TypedDict, total=False):
    rate: float
    burst: int
    quota: QuotaArgs


class RouteArgs(TypedDict, total=False):
    """One route. Exactly one of ``function`` or ``queue`` is its target."""

    method: str
    """GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS or ANY."""
    path: str
    """``/orders/{order_id}``; a final ``{proxy+}`` is allowed."""
    function: ResilientFunction
    mode: str
    """For a function: ``sync`` (proxy; the caller waits) or ``async`` (REST only: the client
    gets 202 at once, the function's async config and DLQ take over). Default: ``sync``."""
    queue: aws.sqs.Queue | PriorityQueuePair
    """Send the request's envelope to this queue (fire and forget, no Lambda on the request
    path). A ``PriorityQueuePair`` takes it on its high queue (its producer entry)."""
    auth: AuthArgs
    """Who may call: ``{"type": "iam"}`` on both flavours, ``jwt`` on HTTP, ``cognito`` or
    ``lambda`` on REST (see ``auth.py``). Default: none (public)."""
    forward_headers: Sequence[str]
    """Async and queue routes: the headers forwarded in the envelope.
    Default: Content-Type, Idempotency-Key, X-Signature."""
    forward_query: Sequence[str]
    """HTTP async and queue routes: the query parameters forwarded in the envelope (REST
    forwards every one). Default: none."""
    group_id: str
    """FIFO queue targets (required): where the message group id comes from: ``path.<param>``,
    ``header.<Name>`` or ``body.<field>``. Messages of one group are delivered in order."""
    dedup_id: str
    """FIFO queue targets without content-based deduplication (required there): where the
    deduplication id comes from: ``path.<param>``, ``header.<Name>``, ``body.<field>`` or
    ``request_id`` (a client retry is then a new message)."""
    tenant: str
    """Standard queue targets: where the caller's tenant comes from (``path.<param>``,
    ``header.<Name>``, ``principal`` or ``claim.<name>``, see ``tenancy.py``); sent as the
    message's ``MessageGroupId`` so SQS fair queues serve a quiet tenant before a noisy one's
    backlog. Default: none (the ``api-queue-route-tenant`` rule warns on a multi-tenant route)."""
    timeout_ms: int
    """Integration timeout. Default: function timeout + 1 s for sync, 5 s otherwise."""
    throttle: ThrottleArgs
    """Override of the stage throttle for this route. Default: the stage's."""
    expected_latency_ms: int
    """Typical latency of a sync target, for the capacity check. Default: the function timeout."""
    body_schema: Mapping[str, Any]
    """REST only: JSON schema (draft 4) the body must match, checked at the edge."""
    required_params: Sequence[str]
    """REST only: ``querystring.<name>`` or ``header.<name>`` that must be present."""


class CorsArgs(TypedDict, total=False):
    allow_origins: Sequence[str]
    allow_methods: Sequence[str]
    allow_headers: Sequence[str]
    max_age: int


class ThrottledApiArgs(TypedDict, total=False):
    """Arguments of ThrottledApi. Only ``routes`` is required.

    ``transform`` keys: api, stage, access_logs, execution_logs, deployment, method_settings,
    method, integration, route, permission, integration_role, usage_plan, api_key, waf, alarm,
    gateway_response.
    """

    flavor: str
    """``rest`` or ``http``. Default: ``rest``."""
    routes: Sequence[RouteArgs]
    """The routes; method and path unique. Required."""
    throttle: ThrottleArgs
    """Stage throttle. Default: rate 50, burst 100."""
    stage_name: str
    """Default: ``live`` (REST), ``$default`` (HTTP)."""
    usage_plans: Mapping[str, UsagePlanArgs]
    """REST only: a plan and an API key per named client; every method then needs a key."""
    tracing: bool
    """REST only: X-Ray. Default: True on REST."""
    log_retention_days: int
    """Access (and REST execution) logs. Default: 30."""
    waf_rate_limit: int | None
    """REST only: a WAF web ACL blocking an IP above this many requests per 5 minutes.
    Default: none."""
    cors: CorsArgs
    """CORS for browsers. HTTP: native. REST: an OPTIONS preflight per path answered by API
    Gateway, and the origin header on gateway errors and 202 answers; a Lambda proxy target sets
    the header on its own responses. REST takes one origin (or ``*``). Default: none."""
    alarm_topic_arn: pulumi.Input[str] | None
    """SNS topic for alarm and OK actions. Default: none."""
    account: ApiGatewayAccount | aws.apigateway.Account | None
    """REST: the region's API Gateway account setting made in this stack. The stage and every
    method setting wait for it, because REST access and execution logging fail until the
    region's CloudWatch role is set. Ignored on HTTP, whose logging needs no role. Default: none
    (then say ``account_managed_elsewhere``, or the plan warns)."""
    account_managed_elsewhere: bool
    """REST: another stack of this account and region manages the account setting (and was
    deployed first). Shown in the plan. Default: False."""
    tags: Mapping[str, str]
    transform: Mapping[str, Transform]


@dataclass(frozen=True)
class _Route:
    method: str
    path: str
    key: str  # "GET /orders/{order_id}"
    function: ResilientFunction | None
    mode: str  # sync | async | queue
    queue: aws.sqs.Queue | None
    timeout_ms: int
    rate: float
    burst: int
    expected_latency_ms: int | None
    body_schema: Mapping[str, Any] | None
    required_params: tuple[str, ...]
    headers: tuple[str, ...] = ()  # forwarded in the envelope
    query: tuple[str, ...] = ()  # forwarded in the envelope (HTTP; REST forwards all)
    group_id: IdSource | None = None
    dedup_id: IdSource | None = None  # None on a FIFO queue: content-based deduplication
    fifo: bool | None = None  # None: a raw queue, checked by the api-fifo-target-grouped rule
    auth: Auth | None = None
    tenant: TenantSource | None = None  # sent as MessageGroupId on a standard queue

    @property
    def label(self) -> str:
        return slug(f"{self.method}{self.path}")

    @property
    def arn_path(self) -> str:
        """The path as it appears in an execute-api ARN: parameters become ``*``."""
        return re.sub(r"\{[^}]+\}", "*", self.path)

    @property
    def method_path(self) -> str:
        """The key of this method in a REST stage's method settings: the resource path with every
        ``/`` written ``~1``, then the method (``~1orders~1{id}/GET``, ``~1/GET`` for the root).
        API Gateway matches settings to methods by this key and the provider passes it unchanged:
        an unescaped path silently configures nothing."""
        return f"{self.path.replace('/', '~1')}/{self.arn_method}"

    @property
    def arn_method(self) -> str:
        return "*" if self.method == "ANY" else self.method

    def summary(self) -> dict[str, Any]:
        fifo = " (FIFO)" if self.fifo else ""
        target = (
            f"queue {self.queue._name}{fifo}"
            if self.queue is not None
            else f"function {self.function._name} ({self.mode})"  # type: ignore[union-attr]
        )
        row: dict[str, Any] = {
            "route": self.key,
            "target": target,
            "integration_timeout_ms": self.timeout_ms,
            "rate": self.rate,
            "burst": self.burst,
        }
        row["auth"] = self.auth.describe() if self.auth is not None else "none"
        if self.mode in ("async", "queue"):
            row["envelope"] = "body, path, query, headers " + ", ".join(h.lower() for h in self.headers)
            row["envelope"] += ", requestId, receivedAt"
        if self.group_id is not None:
            row["group_id_source"] = str(self.group_id)
            row["dedup_id_source"] = str(self.dedup_id) if self.dedup_id is not None else "content"
        if self.tenant is not None:
            row["tenant_source"] = str(self.tenant)
        if self.function is not None and self.mode == "sync":
            latency = self.expected_latency_ms or self.function.timeout * 1000
            row |= {
                "function_timeout_s": self.function.timeout,
                "expected_latency_ms": latency,
                "concurrency_limit": self.function.reserved_concurrency,
                "concurrency_needed": round(self.rate * latency / 1000, 2),
            }
        return row


@dataclass(frozen=True)
class _Settings:
    flavor: str
    routes: tuple[_Route, ...]
    rate: float
    burst: int
    stage_name: str
    usage_plans: Mapping[str, UsagePlanArgs]
    tracing: bool
    log_retention_days: int
    waf_rate_limit: int | None
    cors: CorsArgs | None
    alarm_topic_arn: pulumi.Input[str] | None
    fingerprint: str = field(default="")
    account: pulumi.Resource | None = None  # the aws.apigateway.Account logging waits for
    account_setting: str = "none"  # "this stack", "another stack" or "none"


def _check_target(
    p: Problems, key: str, route: Mapping[str, Any], flavor: str, max_ms: int
) -> tuple[ResilientFunction | None, aws.sqs.Queue | None, str, int] | None:
    """``(function, queue, mode, default timeout ms)`` of a route, or None after recording why."""
    function, queue = route.get("function"), route.get("queue")
    if (function is None) == (queue is None):
        p.add(f"{key} needs exactly one target: function or queue")
        return None
    if queue is not None:
        if isinstance(queue, PriorityQueuePair):
            queue = queue.queues["high"]  # the producer's entry: consumers defer to low from there
        is_queue = isinstance(queue, aws.sqs.Queue)
        if not is_queue:
            p.add(
                f"{key}.queue must be an aws.sqs.Queue or a PriorityQueuePair (sent to its high queue), "
                f"got {type(queue).__name__}"
            )
        return (None, queue, "queue", defaults.API_FIRE_AND_FORGET_TIMEOUT_MS) if is_queue else None
    if not isinstance(function, ResilientFunction):
        p.add(f"{key}.function must be a ResilientFunction, got {type(function).__name__}")
        return None
    mode = route.get("mode", "sync")
    if not p.check_choice(f"{key}.mode", mode, ("sync", "async")):
        return None
    if mode == "async" and flavor == "http":
        p.add(
            f"{key}.mode='async' is not supported by HTTP APIs (no Event invocation); "
            "use flavor='rest' or a queue target"
        )
    if function.invocation != mode:
        p.add(f"{key}.mode={mode!r} does not match the function's invocation={function.invocation!r}")
    # A sync function must give up first: one second of headroom, within the flavour's limit.
    sync_ms = min(max_ms, (function.timeout + 1) * 1000)
    return function, None, mode, sync_ms if mode == "sync" else defaults.API_FIRE_AND_FORGET_TIMEOUT_MS


def _check_route(
    p: Problems, i: int, route: Any, flavor: str, stage: tuple[float, int], *, api_keys: bool = False
) -> _Route | None:
    key = f"routes[{i}]"
    if not isinstance(route, Mapping):
        p.add(f"{key}={route!r} must be a dict")
        return None
    p.check_known_keys(route, RouteArgs.__annotations__, what=f"{key} key")
    method, path = route.get("method"), route.get("path")
    method_ok = p.check_choice(f"{key}.method", method, METHODS)
    path_ok = isinstance(path, str) and bool(PATH.match(path))
    max_ms = (
        defaults.REST_INTEGRATION_TIMEOUT_MAX_S if flavor == "rest" else defaults.HTTP_INTEGRATION_TIMEOUT_MAX_S
    ) * 1000
    if not path_ok:
        p.add(
            f"{key}.path={path!r} must look like /orders/{{order_id}} (segments of letters, digits, . _ -, "
            "or {name}; a final {proxy+} is allowed)"
        )
    target = _check_target(p, key, route, flavor, max_ms)
    if target is None:
        return None
    function, queue, mode, default_ms = target
    timeout_ms = _check_timeout(
        p, key, route, flavor, function=function, mode=mode, default_ms=default_ms, max_ms=max_ms
    )
    throttle = check_throttle(p, f"{key}.throttle", route["throttle"]) if "throttle" in route else stage
    latency = route.get("expected_latency_ms")
    if latency is not None:
        p.check_int_range(f"{key}.expected_latency_ms", latency, 1, 900_000, unit="ms")
    schema, params = _check_request_validation(p, key, route, flavor)
    if not (method_ok and path_ok and throttle):
        return None
    forwarding = _check_forwarding(p, key, route, mode, str(path))
    forwarding["auth"] = check_auth(p, f"{key}.auth", route.get("auth"), flavor)
    forwarding["tenant"] = check_tenant(
        p,
        f"{key}.tenant",
        route.get("tenant"),
        path=str(path),
        mode=mode,
        fifo=forwarding.get("fifo"),
        auth=forwarding["auth"],
        flavor=flavor,
        api_keys=api_keys,
    )
    return _Route(
        str(method),
        str(path),
        f"{method} {path}",
        function,
        mode,
        queue,
        timeout_ms,
        throttle[0],
        throttle[1],
        latency,
        schema,
        params,
        **forwarding,
    )


def _check_timeout(
    p: Problems,
    key: str,
    route: Mapping[str, Any],
    flavor: str,
    *,
    function: ResilientFunction | None,
    mode: str,
    default_ms: int,
    max_ms: int,
) -> Any:
    """The route's integration timeout, which a synchronous function must beat."""
    timeout_ms = route.get("timeout_ms", default_ms)
    timeout_ok = p.check_int_range(
        f"{key}.timeout_ms",
        timeout_ms,
        defaults.API_INTEGRATION_TIMEOUT_MIN_MS,
        max_ms,
        unit="ms",
        why=f"API Gateway {flavor.upper()} integration timeout",
    )
    if timeout_ok and function is not None and mode == "sync" and function.timeout * 1000 >= timeout_ms:
        p.add(
            f"{key}: function {function._name!r} times out after {function.timeout} s, not before the "
            f"integration timeout of {timeout_ms} ms: the function must give up before the gateway does"
        )
    return timeout_ms


def _check_request_validation(
    p: Problems, key: str, route: Mapping[str, Any], flavor: str
) -> tuple[Any, tuple[Any, ...]]:
    """The body schema and required parameters API Gateway checks (REST only)."""
    schema = route.get("body_schema")
    params = tuple(route.get("required_params") or ())
    if flavor == "http" and (schema is not None or params):
        p.add(
            f"{key}: request validation (body_schema, required_params) is REST only; HTTP APIs do not validate "
            "(a route of an AsyncJobWorkflow: build it with api_flavor='http')"
        )
    if schema is not None:
        _check_schema(p, f"{key}.body_schema", schema)
    for param in params:
        if not PARAM.match(str(param)):
            p.add(f"{key}.required_params entry {param!r} must be querystring.<name> or header.<name>")
    return schema, params


def _check_names(p: Problems, key: str, names: Any) -> tuple[str, ...]:
    if isinstance(names, str) or not isinstance(names, Sequence):
        p.add(f"{key}={names!r} must be a list of names")
        return ()
    for name in names:
        if not re.fullmatch(r"[A-Za-z0-9_-]{1,64}", str(name)):
            p.add(f"{key} entry {name!r} must be 1 to 64 letters, digits, - or _")
    return tuple(names)


def _check_forwarding(p: Problems, key: str, route: Mapping[str, Any], mode: str, path: str) -> dict[str, Any]:
    """Envelope headers and query, and the FIFO id sources of a queue route."""
    headers = _check_names(p, f"{key}.forward_headers", route.get("forward_headers", defaults.API_ENVELOPE_HEADERS))
    query = _check_names(p, f"{key}.forward_query", route.get("forward_query", ()))
    found: dict[str, Any] = {"headers": headers, "query": query}
    group, dedup = route.get("group_id"), route.get("dedup_id")
    target = route.get("queue")
    if mode != "queue":
        if group is not None or dedup is not None:
            p.add(f"{key}: group_id and dedup_id apply to FIFO queue targets only")
        return found
    pair = target if isinstance(target, PriorityQueuePair) else None
    fifo = pair.settings.fifo if pair is not None else (True if group is not None else None)
    content_based = pair is not None and pair.settings.content_based_deduplication
    found["fifo"] = fifo
    if fifo is False and (group is not None or dedup is not None):
        p.add(f"{key}: group_id and dedup_id apply to FIFO queue targets only")
        return found
    if fifo and group is None:
        p.add(
            f"{key}: a FIFO queue needs group_id (path.<param>, header.<Name> or body.<field>): "
            "SQS refuses a FIFO message without a MessageGroupId"
        )
    if fifo and dedup is None and not content_based:
        p.add(
            f"{key}: a FIFO queue without content-based deduplication needs dedup_id (path.<param>, "
            "header.<Name>, body.<field> or request_id): SQS refuses the message otherwise"
        )
    if group is not None:
        found["group_id"] = check_source(p, f"{key}.group_id", group, path, request_id=False)
    if dedup is not None:
        found["dedup_id"] = check_source(p, f"{key}.dedup_id", dedup, path, request_id=True)
    return found


def _check_schema(p: Problems, key: str, schema: Any) -> None:
    from jsonschema import Draft4Validator  # noqa: PLC0415 (only when a schema is given)
    from jsonschema.exceptions import SchemaError  # noqa: PLC0415

    try:
        Draft4Validator.check_schema(schema)
    except SchemaError as error:
        p.add(f"{key} is not a valid JSON schema (draft 4, as API Gateway models use): {error.message}")


def _check_paths(p: Problems, routes: Sequence[_Route]) -> None:
    seen: set[str] = set()
    for route in routes:
        if route.key in seen:
            p.add(f"duplicate route {route.key!r}")
        seen.add(route.key)
    # API Gateway rejects sibling path variables with different names (/a/{id} and /a/{key}).
    variables: dict[tuple[str, ...], str] = {}
    for route in routes:
        parts = route.path.strip("/").split("/")
        for depth, part in enumerate(parts):
            if part.startswith("{"):
                prefix = tuple(parts[:depth])
                other = variables.setdefault(prefix, part)
                if other != part:
                    p.add(
                        f"path variables {other} and {part} sit at the same place under "
                        f"/{'/'.join(prefix)}: API Gateway needs one name"
                    )


def _stage_name_check(p: Problems, key: str, value: Any) -> bool:
    if not re.fullmatch(r"\$default|[A-Za-z0-9_-]{1,128}", str(value)):
        p.add(f"{key}={value!r} must be letters, digits, - or _ (or $default on HTTP)")
        return False
    return True


# Each argument's default and its own check; what involves several arguments is in _validate.
ARGS: dict[str, Arg] = {
    "flavor": Arg(defaults.API_FLAVOR, choice(FLAVORS)),
    "tracing": Arg(lambda v: v["flavor"] == "rest"),  # X-Ray traces REST stages only
    "log_retention_days": Arg(defaults.LOG_RETENTION_DAYS, choice(defaults.LOG_RETENTION_DAYS_ALLOWED)),
    "stage_name": Arg(
        lambda v: defaults.API_REST_STAGE if v["flavor"] == "rest" else defaults.API_HTTP_STAGE, _stage_name_check
    ),
}


def _validate(name: str, args: Mapping[str, Any], transform_check: Any) -> _Settings:  # noqa: C901
    p = Problems(f"ThrottledApi {name!r}")
    p.check_known_keys(args, ThrottledApiArgs.__annotations__, what="argument")
    v: dict[str, Any] = {}
    flavor_ok = read_args(p, args, ARGS, ("flavor",), v)["flavor"]
    flavor = v["flavor"]
    stage = check_throttle(p, "throttle", args.get("throttle", {}))
    routes_in = args.get("routes")
    if not routes_in:
        p.add("routes is required: at least one route")
        routes_in = []
    routes: list[_Route] = []
    api_keys = bool(args.get("usage_plans"))  # REST: every method then needs a key (a tenant)
    if flavor_ok and stage:
        for i, route in enumerate(routes_in):
            checked = _check_route(p, i, route, flavor, stage, api_keys=api_keys)
            if checked is not None:
                routes.append(checked)
        _check_paths(p, routes)
    plans = dict(args.get("usage_plans") or {})
    if plans and flavor == "http":
        p.add("usage_plans are REST only: HTTP APIs have no API keys or usage plans")
    for client, plan in plans.items():
        if not re.fullmatch(r"[A-Za-z0-9_-]{1,64}", str(client)):
            p.add(f"usage_plans key {client!r} must be 1 to 64 letters, digits, - or _")
        check_throttle(p, f"usage_plans[{client!r}]", {k: v for k, v in plan.items() if k != "quota"})
        quota = plan.get("quota")
        if quota is not None:
            p.check_int_range(f"usage_plans[{client!r}].quota.limit", quota.get("limit"), 1, 2_000_000_000)
            p.check_choice(f"usage_plans[{client!r}].quota.period", quota.get("period"), QUOTA_PERIODS)
    read_args(p, args, ARGS, ("tracing",), v)
    if v["tracing"] and flavor == "http":
        p.add("tracing=True is REST only: HTTP APIs have no X-Ray tracing")
    read_args(p, args, ARGS, ("log_retention_days",), v)
    waf = args.get("waf_rate_limit")
    if waf is not None:
        if flavor == "http":
            p.add("waf_rate_limit is REST only: WAF cannot be attached to HTTP APIs")
        p.check_int_range("waf_rate_limit", waf, *defaults.WAF_RATE_LIMIT_RANGE, unit="requests per IP per 5 minutes")
    cors = args.get("cors")
    if cors is not None:
        _check_cors(p, cors, flavor)
    read_args(p, args, ARGS, ("stage_name",), v)
    account, account_setting = _check_account(p, args)
    transform_check(args.get("transform"), p)
    p.raise_if_any()
    assert stage is not None
    fingerprint = hashlib.sha256(
        json.dumps(
            [[r.key, r.mode, r.timeout_ms, r.body_schema, r.required_params, bool(plans)] for r in routes],
            sort_keys=True,
            default=str,
        ).encode()
    ).hexdigest()[:16]
    return _Settings(
        flavor,
        tuple(routes),
        stage[0],
        stage[1],
        v["stage_name"],
        plans,
        bool(v["tracing"]),
        v["log_retention_days"],
        waf,
        cors,
        args.get("alarm_topic_arn"),
        fingerprint,
        account=account,
        account_setting=account_setting,
    )


def _check_cors(p: Problems, cors: Mapping[str, Any], flavor: str) -> None:
    p.check_known_keys(cors, CorsArgs.__annotations__, what="cors key")
    origins = list(cors.get("allow_origins") or [])
    if not origins:
        p.add("cors.allow_origins needs at least one origin")
    elif flavor == "rest" and len(origins) > 1:
        p.add(
            f"cors.allow_origins={origins!r}: a REST API answers with one static origin (or '*'); "
            "use one origin or flavor='http'"
        )


def _check_account(p: Problems, args: Mapping[str, Any]) -> tuple[pulumi.Resource | None, str]:
    """The account-setting resource logging must wait for, and who manages the setting."""
    account, elsewhere = args.get("account"), args.get("account_managed_elsewhere", False)
    if not isinstance(elsewhere, bool):
        p.add(f"account_managed_elsewhere={elsewhere!r} must be True or False")
        return None, "none"
    if account is None:
        return None, "another stack" if elsewhere else "none"
    if elsewhere:
        p.add("account and account_managed_elsewhere=True contradict: pass one (this stack or another manages it)")
    if isinstance(account, ApiGatewayAccount):
        return account.account, "this stack"
    if isinstance(account, aws.apigateway.Account):
        return account, "this stack"
    p.add(f"account must be an ApiGatewayAccount or an aws.apigateway.Account, got {type(account).__name__}")
    return None, "none"
