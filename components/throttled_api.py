"""ThrottledApi: an API Gateway front door that turns away excess and malformed work at the edge.

Two flavours behind ``flavor``:

- ``rest`` (API Gateway v1): usage plans with API keys and quotas per client, request validation
  against JSON-schema models (a malformed body gets 400 with no Lambda invocation), X-Ray,
  asynchronous Lambda invocation (202 at once), direct SQS integration, execution logging and
  WAF. Higher latency and price than HTTP.
- ``http`` (API Gateway v2): lower latency and about a third of the price; no usage plans, no
  request validation, no X-Ray, no asynchronous Lambda integration, no WAF. It still throttles
  per stage and route, logs access and sends straight to SQS.

What you get by default (``defaults.py``, each pinned by a test): a stage throttle of 50 rps with
bursts of 100 and an explicit throttle on every route (an HTTP route setting without both values
throttles to 0 on AWS: this component never emits one); JSON access logs with the client, route,
status, latency and integration error, kept 30 days; REST execution logs at ERROR with metrics;
X-Ray on REST; sync integration timeouts one second above the function's timeout (the function
gives up first) capped at 29 s (REST) or 30 s (HTTP); Lambda permissions scoped to the API, stage,
method and path; alarms on the 5XX rate (1%), the 4XX rate (10%, throttles included) and p99
latency (80% of the longest integration timeout). Both flavours accept payloads up to 10 MB; a
synchronous Lambda takes at most 6 MB and an SQS message 256 KiB.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, TypedDict

import pulumi
import pulumi_aws as aws
from typing_extensions import Unpack

from . import defaults
from .base import ResilientComponent, Transform
from .grants import assume_role_policy, policy_json
from .resilient_function import ResilientFunction
from .validation import Problems, component_args

__all__ = ["ApiGatewayAccount", "ThrottledApi", "ThrottledApiArgs"]

FLAVORS = ("rest", "http")
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "ANY")
PATH = re.compile(r"^/$|^(/([A-Za-z0-9._-]+|\{[A-Za-z_][A-Za-z0-9_]*\}))*(/\{[A-Za-z_][A-Za-z0-9_]*\+\})?$")
PARAM = re.compile(r"^(querystring|header)\.[A-Za-z0-9._-]+$")
QUOTA_PERIODS = ("DAY", "WEEK", "MONTH")


def _slug(text: str) -> str:
    """A route or path as a resource-name part: ``GET /orders/{id}`` -> ``get-orders-id``."""
    return re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-").lower() or "root"


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
    queue: aws.sqs.Queue
    """Send the body to this queue (fire and forget, no Lambda on the request path)."""
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

    @property
    def label(self) -> str:
        return _slug(f"{self.method}{self.path}")

    @property
    def arn_path(self) -> str:
        """The path as it appears in an execute-api ARN: parameters become ``*``."""
        return re.sub(r"\{[^}]+\}", "*", self.path)

    @property
    def arn_method(self) -> str:
        return "*" if self.method == "ANY" else self.method

    def summary(self) -> dict[str, Any]:
        target = (
            f"queue {self.queue._name}" if self.queue is not None else f"function {self.function._name} ({self.mode})"  # type: ignore[union-attr]
        )
        row: dict[str, Any] = {
            "route": self.key,
            "target": target,
            "integration_timeout_ms": self.timeout_ms,
            "rate": self.rate,
            "burst": self.burst,
        }
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


def _check_throttle(p: Problems, key: str, throttle: Any) -> tuple[float, int] | None:
    if not isinstance(throttle, Mapping):
        p.add(f"{key}={throttle!r} must be a dict with rate and burst")
        return None
    p.check_known_keys(throttle, ("rate", "burst"), what=f"{key} key")
    rate = throttle.get("rate", defaults.API_THROTTLE_RATE)
    burst = throttle.get("burst", defaults.API_THROTTLE_BURST)
    rate_ok = p.check_range(
        f"{key}.rate",
        rate,
        0.001,
        defaults.API_ACCOUNT_RATE_MAX,
        unit="requests per second",
        why="never 0: a zero throttle rejects every request",
    )
    burst_ok = p.check_int_range(
        f"{key}.burst", burst, 1, defaults.API_ACCOUNT_BURST_MAX, why="API Gateway account burst"
    )
    if rate_ok and burst_ok and burst < rate:
        p.add(
            f"{key}.burst={burst!r} is below {key}.rate={rate!r}: the bucket must hold at least one second of the rate"
        )
        return None
    return (float(rate), int(burst)) if rate_ok and burst_ok else None


def _check_target(
    p: Problems, key: str, route: Mapping[str, Any], flavor: str, max_ms: int
) -> tuple[ResilientFunction | None, aws.sqs.Queue | None, str, int] | None:
    """``(function, queue, mode, default timeout ms)`` of a route, or None after recording why."""
    function, queue = route.get("function"), route.get("queue")
    if (function is None) == (queue is None):
        p.add(f"{key} needs exactly one target: function or queue")
        return None
    if queue is not None:
        is_queue = isinstance(queue, aws.sqs.Queue)
        if not is_queue:
            p.add(f"{key}.queue must be an aws.sqs.Queue, got {type(queue).__name__}")
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


def _check_route(  # noqa: C901
    p: Problems, i: int, route: Any, flavor: str, stage: tuple[float, int]
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
    throttle = _check_throttle(p, f"{key}.throttle", route["throttle"]) if "throttle" in route else stage
    latency = route.get("expected_latency_ms")
    if latency is not None:
        p.check_int_range(f"{key}.expected_latency_ms", latency, 1, 900_000, unit="ms")
    schema = route.get("body_schema")
    params = tuple(route.get("required_params") or ())
    if flavor == "http" and (schema is not None or params):
        p.add(f"{key}: request validation (body_schema, required_params) is REST only; HTTP APIs do not validate")
    if schema is not None:
        _check_schema(p, f"{key}.body_schema", schema)
    for param in params:
        if not PARAM.match(str(param)):
            p.add(f"{key}.required_params entry {param!r} must be querystring.<name> or header.<name>")
    if not (method_ok and path_ok and throttle):
        return None
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
    )


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


def _validate(name: str, args: Mapping[str, Any], transform_check: Any) -> _Settings:  # noqa: C901, PLR0912
    p = Problems(f"ThrottledApi {name!r}")
    p.check_known_keys(args, ThrottledApiArgs.__annotations__, what="argument")
    flavor = args.get("flavor", defaults.API_FLAVOR)
    flavor_ok = p.check_choice("flavor", flavor, FLAVORS)
    stage = _check_throttle(p, "throttle", args.get("throttle", {}))
    routes_in = args.get("routes")
    if not routes_in:
        p.add("routes is required: at least one route")
        routes_in = []
    routes: list[_Route] = []
    if flavor_ok and stage:
        for i, route in enumerate(routes_in):
            checked = _check_route(p, i, route, flavor, stage)
            if checked is not None:
                routes.append(checked)
        _check_paths(p, routes)
    plans = dict(args.get("usage_plans") or {})
    if plans and flavor == "http":
        p.add("usage_plans are REST only: HTTP APIs have no API keys or usage plans")
    for client, plan in plans.items():
        if not re.fullmatch(r"[A-Za-z0-9_-]{1,64}", str(client)):
            p.add(f"usage_plans key {client!r} must be 1 to 64 letters, digits, - or _")
        _check_throttle(p, f"usage_plans[{client!r}]", {k: v for k, v in plan.items() if k != "quota"})
        quota = plan.get("quota")
        if quota is not None:
            p.check_int_range(f"usage_plans[{client!r}].quota.limit", quota.get("limit"), 1, 2_000_000_000)
            p.check_choice(f"usage_plans[{client!r}].quota.period", quota.get("period"), QUOTA_PERIODS)
    tracing = args.get("tracing", flavor == "rest")
    if tracing and flavor == "http":
        p.add("tracing=True is REST only: HTTP APIs have no X-Ray tracing")
    retention = args.get("log_retention_days", defaults.LOG_RETENTION_DAYS)
    p.check_choice("log_retention_days", retention, defaults.LOG_RETENTION_DAYS_ALLOWED)
    waf = args.get("waf_rate_limit")
    if waf is not None:
        if flavor == "http":
            p.add("waf_rate_limit is REST only: WAF cannot be attached to HTTP APIs")
        p.check_int_range("waf_rate_limit", waf, *defaults.WAF_RATE_LIMIT_RANGE, unit="requests per IP per 5 minutes")
    cors = args.get("cors")
    if cors is not None:
        p.check_known_keys(cors, CorsArgs.__annotations__, what="cors key")
        origins = list(cors.get("allow_origins") or [])
        if not origins:
            p.add("cors.allow_origins needs at least one origin")
        elif flavor == "rest" and len(origins) > 1:
            p.add(
                f"cors.allow_origins={origins!r}: a REST API answers with one static origin (or '*'); "
                "use one origin or flavor='http'"
            )
    stage_name = args.get("stage_name", defaults.API_REST_STAGE if flavor == "rest" else defaults.API_HTTP_STAGE)
    if not re.fullmatch(r"\$default|[A-Za-z0-9_-]{1,128}", str(stage_name)):
        p.add(f"stage_name={stage_name!r} must be letters, digits, - or _ (or $default on HTTP)")
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
        stage_name,
        plans,
        bool(tracing),
        retention,
        waf,
        cors,
        args.get("alarm_topic_arn"),
        fingerprint,
    )


def _access_log_format(flavor: str) -> str:
    fields = {
        "requestId": "$context.requestId",
        "ip": "$context.identity.sourceIp",
        "status": "$context.status",
        "latencyMs": "$context.responseLatency",
        "error": "$context.error.message",
    }
    if flavor == "rest":
        fields |= {
            "client": "$context.identity.apiKeyId",
            "route": "$context.httpMethod $context.resourcePath",
            "integrationLatencyMs": "$context.integration.latency",
            "integrationError": "$context.integration.error",
            "integrationStatus": "$context.integration.status",
        }
    else:
        fields |= {
            "client": "$context.identity.sourceIp",
            "route": "$context.routeKey",
            "integrationLatencyMs": "$context.integrationLatency",
            "integrationError": "$context.integrationErrorMessage",
            "integrationStatus": "$context.integrationStatus",
        }
    return json.dumps(fields, sort_keys=True)


def _source_arn(execution_arn: pulumi.Output[str], stage: str, route: _Route) -> pulumi.Output[str]:
    """The one API, stage, method and path that may invoke the route's function."""
    return execution_arn.apply(lambda arn: f"{arn}/{stage}/{route.arn_method}{route.arn_path}")


_ASSUME_APIGATEWAY = assume_role_policy("apigateway.amazonaws.com")


class ThrottledApi(ResilientComponent):
    """API Gateway (REST or HTTP) in front of ResilientFunctions and SQS queues."""

    TRANSFORM_KEYS: ClassVar[tuple[str, ...]] = (
        "api",
        "stage",
        "access_logs",
        "execution_logs",
        "deployment",
        "method_settings",
        "method",
        "integration",
        "route",
        "permission",
        "integration_role",
        "usage_plan",
        "api_key",
        "waf",
        "alarm",
        "gateway_response",
    )

    api: Any
    """The ``aws.apigateway.RestApi`` (REST) or ``aws.apigatewayv2.Api`` (HTTP)."""
    stage: Any
    """The ``aws.apigateway.Stage`` (REST) or ``aws.apigatewayv2.Stage`` (HTTP)."""
    url: pulumi.Output[str]
    api_id: pulumi.Output[str]
    stage_name: str
    execution_arn: pulumi.Output[str]
    usage_plan_ids: dict[str, pulumi.Output[str]]
    api_keys: dict[str, pulumi.Output[str]]
    """API key values per client, as secrets."""

    def __init__(
        self,
        name: str,
        args: ThrottledApiArgs | None = None,
        opts: pulumi.ResourceOptions | None = None,
        **keywords: Unpack[ThrottledApiArgs],
    ) -> None:
        # Both ThrottledApi(name, {...}) and the Pulumi style ThrottledApi(name, key=...)
        given = component_args("ThrottledApi", name, args, keywords)
        settings = _validate(name, given, self.check_transform_keys)
        super().__init__(name, tags=given.get("tags"), transform=given.get("transform"), opts=opts)
        self.settings = settings
        self.flavor = settings.flavor
        self.stage_name = settings.stage_name
        self.routes = settings.routes
        self.usage_plan_ids = {}
        self.api_keys = {}
        self.permissions: list[aws.lambda_.Permission] = []
        self.access_logs = self._child(
            "access_logs",
            aws.cloudwatch.LogGroup,
            "access-logs",
            {
                "name": f"/aws/apigateway/{self.physical('log_group')}/access",
                "retention_in_days": settings.log_retention_days,
            },
        )
        self.integration_role = self._create_integration_role()
        if settings.flavor == "rest":
            self._create_rest()
        else:
            self._create_http()
        self.alarms = self._create_alarms()
        self.register_outputs(
            {
                "url": self.url,
                "api_id": self.api_id,
                "stage_name": self.stage_name,
                "execution_arn": self.execution_arn,
                "usage_plan_ids": self.usage_plan_ids,
                "api_keys": self.api_keys,
                "flavor": settings.flavor,
                "stage_throttle": {"rate": settings.rate, "burst": settings.burst},
                "routes": [r.summary() for r in settings.routes],
            }
        )

    # -- shared ------------------------------------------------------------------------------------
    def _create_integration_role(self) -> aws.iam.Role | None:
        queues = [r.queue for r in self.routes if r.queue is not None]
        if not queues:
            return None
        role = self._child(
            "integration_role",
            aws.iam.Role,
            "integration-role",
            {
                "name": self.physical("iam_role", "integration"),
                "assume_role_policy": _ASSUME_APIGATEWAY,
            },
        )
        unique = {q._name: q for q in queues}
        self.integration_policy = self._child(
            "integration_role",
            aws.iam.RolePolicy,
            "integration-send",
            {
                "role": role.id,
                "policy": policy_json(
                    [{"Effect": "Allow", "Action": ["sqs:SendMessage"], "Resource": [q.arn for q in unique.values()]}]
                ),
            },
        )
        return role

    def _permit(self, route: _Route, source_arn: pulumi.Output[str]) -> None:
        function = route.function
        assert function is not None
        args: dict[str, Any] = {
            "action": "lambda:InvokeFunction",
            "function": function.function.name,
            "principal": "apigateway.amazonaws.com",
            "source_arn": source_arn,
        }
        if function.alias is not None:
            args["qualifier"] = function.alias.name
        self.permissions.append(self._child("permission", aws.lambda_.Permission, f"invoke-{route.label}", args))

    # -- REST --------------------------------------------------------------------------------------
    def _create_rest(self) -> None:
        s = self.settings
        self.api = self._child(
            "api",
            aws.apigateway.RestApi,
            "api",
            {
                "name": self.physical("api"),
                "endpoint_configuration": {"types": "REGIONAL"},
            },
        )
        self.execution_logs = self._child(
            "execution_logs",
            aws.cloudwatch.LogGroup,
            "execution-logs",
            {
                "name": self.api.id.apply(lambda api_id: f"API-Gateway-Execution-Logs_{api_id}/{s.stage_name}"),
                "retention_in_days": s.log_retention_days,
            },
        )
        resources = self._rest_resources()
        validator = None
        if any(r.body_schema is not None or r.required_params for r in self.routes):
            validator = self._child(
                "method",
                aws.apigateway.RequestValidator,
                "validator",
                {
                    "rest_api": self.api.id,
                    "name": "body-and-parameters",
                    "validate_request_body": True,
                    "validate_request_parameters": True,
                },
            )
        deps: list[pulumi.Resource] = []
        for route in self.routes:
            deps += self._rest_route(route, resources, validator)
        deps += self._gateway_responses()
        if s.cors is not None:
            deps += self._rest_preflight(resources)
        self.deployment = self._child(
            "deployment",
            aws.apigateway.Deployment,
            "deployment",
            {
                "rest_api": self.api.id,
                "triggers": {"routes": s.fingerprint},
            },
            pulumi.ResourceOptions(depends_on=deps),
        )
        self.stage = self._child(
            "stage",
            aws.apigateway.Stage,
            "stage",
            {
                "rest_api": self.api.id,
                "deployment": self.deployment.id,
                "stage_name": s.stage_name,
                "xray_tracing_enabled": s.tracing,
                "access_log_settings": {"destination_arn": self.access_logs.arn, "format": _access_log_format("rest")},
            },
            pulumi.ResourceOptions(depends_on=[self.execution_logs]),
        )
        self.method_settings = [
            self._child(
                "method_settings",
                aws.apigateway.MethodSettings,
                "stage-settings",
                {
                    "rest_api": self.api.id,
                    "stage_name": self.stage.stage_name,
                    "method_path": "*/*",
                    "settings": {
                        "throttling_rate_limit": s.rate,
                        "throttling_burst_limit": s.burst,
                        "logging_level": "ERROR",
                        "metrics_enabled": True,
                        "data_trace_enabled": False,
                    },
                },
            )
        ]
        for route in self.routes:
            method_path = f"{route.path.lstrip('/')}/{route.arn_method}"
            self.method_settings.append(
                self._child(
                    "method_settings",
                    aws.apigateway.MethodSettings,
                    f"settings-{route.label}",
                    {
                        "rest_api": self.api.id,
                        "stage_name": self.stage.stage_name,
                        "method_path": method_path,
                        "settings": {
                            "throttling_rate_limit": route.rate,
                            "throttling_burst_limit": route.burst,
                            "logging_level": "ERROR",
                            "metrics_enabled": True,
                        },
                    },
                )
            )
        for route in self.routes:
            if route.function is not None:
                self._permit(route, _source_arn(self.api.execution_arn, s.stage_name, route))
        self._usage_plans()
        if s.waf_rate_limit is not None:
            self._waf(s.waf_rate_limit)
        self.url = self.stage.invoke_url
        self.api_id = self.api.id
        self.execution_arn = self.api.execution_arn

    def _rest_resources(self) -> dict[str, pulumi.Output[str]]:
        """One API Gateway resource per path prefix; ``{"/": root id, "/orders": id, ...}``."""
        ids: dict[str, pulumi.Output[str]] = {"/": self.api.root_resource_id}
        for route in self.routes:
            parent = "/"
            for part in route.path.strip("/").split("/") if route.path != "/" else []:
                path = f"{parent.rstrip('/')}/{part}"
                if path not in ids:
                    label = _slug(path)
                    resource = self._child(
                        "method",
                        aws.apigateway.Resource,
                        f"path-{label}",
                        {
                            "rest_api": self.api.id,
                            "parent_id": ids[parent],
                            "path_part": part,
                        },
                    )
                    ids[path] = resource.id
                parent = path
        return ids

    def _rest_route(
        self, route: _Route, resources: dict[str, pulumi.Output[str]], validator: aws.apigateway.RequestValidator | None
    ) -> list[pulumi.Resource]:
        method_args: dict[str, Any] = {
            "rest_api": self.api.id,
            "resource_id": resources[route.path],
            "http_method": route.method,
            "authorization": "NONE",
            "api_key_required": bool(self.settings.usage_plans),
        }
        params = {f"method.request.path.{v}": True for v in re.findall(r"\{([A-Za-z0-9_]+)\+?\}", route.path)}
        params |= {f"method.request.{p}": True for p in route.required_params}
        if params:
            method_args["request_parameters"] = params
        if validator is not None and (route.body_schema is not None or route.required_params):
            method_args["request_validator_id"] = validator.id
        if route.body_schema is not None:
            model = self._child(
                "method",
                aws.apigateway.Model,
                f"model-{route.label}",
                {
                    "rest_api": self.api.id,
                    "name": re.sub(r"[^A-Za-z0-9]", "", route.label.title()) + "Body",
                    "content_type": "application/json",
                    "schema": json.dumps(route.body_schema, sort_keys=True),
                },
            )
            method_args["request_models"] = {"application/json": model.name}
        method = self._child("method", aws.apigateway.Method, f"method-{route.label}", method_args)
        integration = self._child(
            "integration",
            aws.apigateway.Integration,
            f"integration-{route.label}",
            self._rest_integration_args(route, method),
            pulumi.ResourceOptions(depends_on=[method]),
        )
        made: list[pulumi.Resource] = [method, integration]
        if route.mode in ("async", "queue"):
            cors = self._cors_headers() if self.settings.cors is not None else {}
            origin = {k: v for k, v in cors.items() if k == "Access-Control-Allow-Origin"}
            response = self._child(
                "integration",
                aws.apigateway.MethodResponse,
                f"response-{route.label}",
                {
                    "rest_api": self.api.id,
                    "resource_id": method.resource_id,
                    "http_method": method.http_method,
                    "status_code": "202",
                    "response_parameters": {f"method.response.header.{h}": True for h in origin},
                },
            )
            made.append(response)
            made.append(
                self._child(
                    "integration",
                    aws.apigateway.IntegrationResponse,
                    f"accepted-{route.label}",
                    {
                        "rest_api": self.api.id,
                        "resource_id": method.resource_id,
                        "http_method": method.http_method,
                        "status_code": "202",
                        "selection_pattern": "",
                        "response_parameters": {f"method.response.header.{h}": v for h, v in origin.items()},
                        "response_templates": {
                            "application/json": '{"accepted": true, "requestId": "$context.requestId"}'
                        },
                    },
                    pulumi.ResourceOptions(depends_on=[integration, response]),
                )
            )
        return made

    def _rest_integration_args(self, route: _Route, method: aws.apigateway.Method) -> dict[str, Any]:
        base = {
            "rest_api": self.api.id,
            "resource_id": method.resource_id,
            "http_method": method.http_method,
            "integration_http_method": "POST",
            "timeout_milliseconds": route.timeout_ms,
        }
        if route.function is not None and route.mode == "sync":
            return base | {"type": "AWS_PROXY", "uri": route.function.invoke_arn}
        if route.function is not None:
            # Lambda's Invoke API with InvocationType=Event: 202 at once, the async config takes over.
            return base | {
                "type": "AWS",
                "uri": route.function.invoke_arn,
                "passthrough_behavior": "WHEN_NO_TEMPLATES",
                "request_parameters": {"integration.request.header.X-Amz-Invocation-Type": "'Event'"},
                "request_templates": {"application/json": "$input.json('$')"},
            }
        queue = route.queue
        assert queue is not None and self.integration_role is not None
        identity = aws.get_caller_identity_output(opts=pulumi.InvokeOutputOptions(parent=self))
        region = aws.get_region_output(opts=pulumi.InvokeOutputOptions(parent=self))
        partition = aws.get_partition_output(opts=pulumi.InvokeOutputOptions(parent=self))
        uri = pulumi.Output.all(partition.partition, region.region, identity.account_id, queue.name).apply(
            lambda v: f"arn:{v[0]}:apigateway:{v[1]}:sqs:path/{v[2]}/{v[3]}"
        )
        return base | {
            "type": "AWS",
            "uri": uri,
            "credentials": self.integration_role.arn,
            "passthrough_behavior": "NEVER",
            "request_parameters": {"integration.request.header.Content-Type": "'application/x-www-form-urlencoded'"},
            "request_templates": {"application/json": "Action=SendMessage&MessageBody=$util.urlEncode($input.body)"},
        }

    def _cors_headers(self) -> dict[str, str]:
        cors = self.settings.cors or {}
        methods = ",".join(cors.get("allow_methods") or ["OPTIONS", *METHODS[:-1]])
        headers = ",".join(cors.get("allow_headers") or ["Content-Type", "X-Api-Key"])
        return {
            "Access-Control-Allow-Origin": f"'{next(iter(cors.get('allow_origins') or ['*']))}'",
            "Access-Control-Allow-Methods": f"'{methods}'",
            "Access-Control-Allow-Headers": f"'{headers}'",
            "Access-Control-Max-Age": f"'{cors.get('max_age', 600)}'",
        }

    def _rest_preflight(self, resources: dict[str, pulumi.Output[str]]) -> list[pulumi.Resource]:
        """OPTIONS on every routed path, answered by API Gateway itself (MOCK): no invocation."""
        made: list[pulumi.Resource] = []
        headers = self._cors_headers()
        for path in sorted({r.path for r in self.routes}):
            label = _slug(path)
            method = self._child(
                "method",
                aws.apigateway.Method,
                f"preflight-{label}",
                {
                    "rest_api": self.api.id,
                    "resource_id": resources[path],
                    "http_method": "OPTIONS",
                    "authorization": "NONE",
                    "api_key_required": False,
                },
            )
            where = {"rest_api": self.api.id, "resource_id": method.resource_id, "http_method": method.http_method}
            integration = self._child(
                "integration",
                aws.apigateway.Integration,
                f"preflight-{label}",
                {
                    **where,
                    "type": "MOCK",
                    "request_templates": {"application/json": '{"statusCode": 200}'},
                },
            )
            response = self._child(
                "integration",
                aws.apigateway.MethodResponse,
                f"preflight-response-{label}",
                {
                    **where,
                    "status_code": "200",
                    "response_parameters": {f"method.response.header.{h}": True for h in headers},
                },
            )
            answer = self._child(
                "integration",
                aws.apigateway.IntegrationResponse,
                f"preflight-answer-{label}",
                {
                    **where,
                    "status_code": "200",
                    "response_parameters": {f"method.response.header.{h}": v for h, v in headers.items()},
                },
                pulumi.ResourceOptions(depends_on=[integration, response]),
            )
            made += [method, integration, response, answer]
        return made

    def _gateway_responses(self) -> list[pulumi.Resource]:
        """Bodies clients can act on: which field failed validation; when to retry after a throttle."""
        responses = {
            "BAD_REQUEST_BODY": ("400", '{"message": "$context.error.validationErrorString"}', {}),
            "BAD_REQUEST_PARAMETERS": ("400", '{"message": "$context.error.validationErrorString"}', {}),
            "THROTTLED": (
                "429",
                '{"message": "too many requests, retry with backoff"}',
                {"gatewayresponse.header.Retry-After": "'1'"},
            ),
        }
        origin: dict[str, str] = {}
        if self.settings.cors is not None:
            # Browsers can read an error only when it carries the origin header too.
            origin = {
                "gatewayresponse.header.Access-Control-Allow-Origin": self._cors_headers()[
                    "Access-Control-Allow-Origin"
                ]
            }
            responses |= {
                "DEFAULT_4XX": ("", '{"message": "$context.error.messageString"}', {}),
                "DEFAULT_5XX": ("", '{"message": "$context.error.messageString"}', {}),
            }
        made: list[pulumi.Resource] = []
        for kind, (status, body, headers) in responses.items():
            args: dict[str, Any] = {
                "rest_api_id": self.api.id,
                "response_type": kind,
                "response_templates": {"application/json": body},
                "response_parameters": headers | origin,
            }
            if status:
                args["status_code"] = status
            made.append(self._child("gateway_response", aws.apigateway.Response, f"response-{kind.lower()}", args))
        return made

    def _usage_plans(self) -> None:
        for client, plan in self.settings.usage_plans.items():
            plan_args: dict[str, Any] = {
                "name": self.physical("api", client),
                "api_stages": [{"api_id": self.api.id, "stage": self.stage.stage_name}],
                "throttle_settings": {
                    "rate_limit": plan.get("rate", defaults.API_THROTTLE_RATE),
                    "burst_limit": plan.get("burst", defaults.API_THROTTLE_BURST),
                },
            }
            if "quota" in plan:
                plan_args["quota_settings"] = {"limit": plan["quota"]["limit"], "period": plan["quota"]["period"]}
            usage_plan = self._child("usage_plan", aws.apigateway.UsagePlan, f"plan-{client}", plan_args)
            key = self._child(
                "api_key",
                aws.apigateway.ApiKey,
                f"key-{client}",
                {"name": self.physical("api", client), "enabled": True},
            )
            self._child(
                "usage_plan",
                aws.apigateway.UsagePlanKey,
                f"plan-key-{client}",
                {"key_id": key.id, "key_type": "API_KEY", "usage_plan_id": usage_plan.id},
            )
            self.usage_plan_ids[client] = usage_plan.id
            self.api_keys[client] = pulumi.Output.secret(key.value)

    def _waf(self, limit: int) -> None:
        metric = self.physical("dashboard", "waf")
        self.web_acl = self._child(
            "waf",
            aws.wafv2.WebAcl,
            "waf",
            {
                "name": self.physical("api", "waf"),
                "scope": "REGIONAL",
                "default_action": {"allow": {}},
                "rules": [
                    {
                        "name": "rate-per-ip",
                        "priority": 0,
                        "action": {"block": {}},
                        "statement": {"rate_based_statement": {"limit": limit, "aggregate_key_type": "IP"}},
                        "visibility_config": {
                            "cloudwatch_metrics_enabled": True,
                            "metric_name": f"{metric}-rate-per-ip",
                            "sampled_requests_enabled": True,
                        },
                    }
                ],
                "visibility_config": {
                    "cloudwatch_metrics_enabled": True,
                    "metric_name": metric,
                    "sampled_requests_enabled": True,
                },
            },
        )
        self._child(
            "waf",
            aws.wafv2.WebAclAssociation,
            "waf-association",
            {"resource_arn": self.stage.arn, "web_acl_arn": self.web_acl.arn},
        )

    # -- HTTP --------------------------------------------------------------------------------------
    def _create_http(self) -> None:
        s = self.settings
        api_args: dict[str, Any] = {"name": self.physical("api"), "protocol_type": "HTTP"}
        if s.cors is not None:
            api_args["cors_configuration"] = {k: v for k, v in s.cors.items()}
        self.api = self._child("api", aws.apigatewayv2.Api, "api", api_args)
        for route in self.routes:
            integration = self._child(
                "integration",
                aws.apigatewayv2.Integration,
                f"integration-{route.label}",
                self._http_integration_args(route),
            )
            self._child(
                "route",
                aws.apigatewayv2.Route,
                f"route-{route.label}",
                {
                    "api_id": self.api.id,
                    "route_key": route.key,
                    "target": integration.id.apply(lambda i: f"integrations/{i}"),
                },
            )
            if route.function is not None:
                self._permit(route, _source_arn(self.api.execution_arn, "*", route))
        self.stage = self._child(
            "stage",
            aws.apigatewayv2.Stage,
            "stage",
            {
                "api_id": self.api.id,
                "name": s.stage_name,
                "auto_deploy": True,
                # Both values on every setting: an omitted value throttles that route to 0 on AWS.
                "default_route_settings": {
                    "throttling_rate_limit": s.rate,
                    "throttling_burst_limit": s.burst,
                    "detailed_metrics_enabled": True,
                },
                "route_settings": [
                    {
                        "route_key": r.key,
                        "throttling_rate_limit": r.rate,
                        "throttling_burst_limit": r.burst,
                        "detailed_metrics_enabled": True,
                    }
                    for r in self.routes
                ],
                "access_log_settings": {"destination_arn": self.access_logs.arn, "format": _access_log_format("http")},
            },
        )
        self.url = self.stage.invoke_url
        self.api_id = self.api.id
        self.execution_arn = self.api.execution_arn

    def _http_integration_args(self, route: _Route) -> dict[str, Any]:
        base = {"api_id": self.api.id, "timeout_milliseconds": route.timeout_ms}
        if route.function is not None:
            return base | {
                "integration_type": "AWS_PROXY",
                "integration_uri": route.function.target_arn,
                "integration_method": "POST",
                "payload_format_version": "2.0",
            }
        queue = route.queue
        assert queue is not None and self.integration_role is not None
        return base | {
            "integration_type": "AWS_PROXY",
            "integration_subtype": "SQS-SendMessage",
            "credentials_arn": self.integration_role.arn,
            "payload_format_version": "1.0",
            "request_parameters": {"QueueUrl": queue.url, "MessageBody": "$request.body"},
        }

    # -- alarms ------------------------------------------------------------------------------------
    def _create_alarms(self) -> dict[str, pulumi.Resource]:
        s = self.settings
        if s.flavor == "rest":
            dims: dict[str, Any] = {"ApiName": self.api.name, "Stage": s.stage_name}
            names = {"5xx": "5XXError", "4xx": "4XXError"}
        else:
            dims = {"ApiId": self.api.id, "Stage": s.stage_name}
            names = {"5xx": "5xx", "4xx": "4xx"}
        longest_ms = max(r.timeout_ms for r in self.routes)
        latency_ms = longest_ms * defaults.API_LATENCY_ALARM_SHARE
        specs = [
            (
                "5xx-rate",
                names["5xx"],
                "Average",
                defaults.API_5XX_RATE_ALARM,
                f"More than {defaults.API_5XX_RATE_ALARM:.0%} of requests fail on the server side",
            ),
            (
                "4xx-rate",
                names["4xx"],
                "Average",
                defaults.API_4XX_RATE_ALARM,
                f"More than {defaults.API_4XX_RATE_ALARM:.0%} of requests are rejected (throttles included)",
            ),
            (
                "latency-p99",
                "Latency",
                "p99",
                latency_ms,
                f"p99 latency above {defaults.API_LATENCY_ALARM_SHARE:.0%} of the longest integration timeout",
            ),
        ]
        return {
            suffix: self._alarm(
                suffix,
                s.alarm_topic_arn,
                namespace="AWS/ApiGateway",
                metric_name=metric,
                dimensions=dims,
                threshold=threshold,
                alarm_description=description,
                **({"extended_statistic": stat} if stat.startswith("p") else {"statistic": stat}),
            )
            for suffix, metric, stat, threshold, description in specs
        }


class ApiGatewayAccount(ResilientComponent):
    """The region's API Gateway account setting: the role REST APIs use to write execution and
    access logs. It is one setting per account and region: deploy it from one stack only."""

    TRANSFORM_KEYS: ClassVar[tuple[str, ...]] = ("role", "account")
    PUSH_POLICY = "arn:{partition}:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs"

    def __init__(self, name: str, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(name, opts=opts)
        partition = aws.get_partition_output(opts=pulumi.InvokeOutputOptions(parent=self)).partition
        self.role = self._child(
            "role",
            aws.iam.Role,
            "role",
            {
                "name": self.physical("iam_role"),
                "assume_role_policy": _ASSUME_APIGATEWAY,
            },
        )
        attachment = self._child(
            "role",
            aws.iam.RolePolicyAttachment,
            "push-logs",
            {
                "role": self.role.name,
                "policy_arn": partition.apply(lambda p: self.PUSH_POLICY.format(partition=p)),
            },
        )
        self.account = self._child(
            "account",
            aws.apigateway.Account,
            "account",
            {"cloudwatch_role_arn": self.role.arn},
            pulumi.ResourceOptions(depends_on=[attachment]),
        )
        self.register_outputs({"role_arn": self.role.arn})
