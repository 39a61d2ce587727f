"""Every WebSocketNotifier argument checked before the first child: one ConfigError names every
problem, and the result is the ``_Settings`` the component builds from."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pulumi

from .. import defaults
from ..packaging import LIBRARY_ROOT, library_code_problem, library_handlers_for
from ..resilient_function import ResilientFunction, ResilientFunctionArgs, check_handler_and_code
from ..resilient_function import _validate as validate_function

# Shared with ThrottledApi (the same checks and log fields for every flavour of the front door).
from ..throttled_api.common import check_throttle
from ..validation import Arg, ConfigError, Problems, choice, int_range, read_args
from .args import ANSWERING_ROUTES, CONNECT_AUTH, HANDLERS, ROUTE_KEYS, WebSocketNotifierArgs


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


def _stage_name_check(p: Problems, key: str, value: Any) -> bool:
    if not isinstance(value, str) or not value.replace("-", "").replace("_", "").isalnum():
        p.add(f"{key}={value!r} must be letters, digits, - or _")
        return False
    return True


# Each argument's default and its own check; what involves several arguments is a function below.
ARGS: dict[str, Arg] = {
    "stage_name": Arg(defaults.WS_STAGE, _stage_name_check),
    "inline_max_bytes": Arg(
        defaults.WS_INLINE_MAX_BYTES,
        int_range(256, defaults.WS_MESSAGE_BYTES, unit="bytes", why="WebSocket message limit"),
    ),
    "result_url_ttl_s": Arg(
        defaults.WS_RESULT_URL_TTL_S,
        int_range(60, defaults.PRESIGNED_URL_MAX_S, unit="s", why="S3 pre-signed URL limit"),
    ),
    "notify_concurrency": Arg(defaults.WS_NOTIFY_CONCURRENCY, int_range(1, 64)),
    "log_retention_days": Arg(defaults.LOG_RETENTION_DAYS, choice(defaults.LOG_RETENTION_DAYS_ALLOWED)),
}


def _check_connect_auth(p: Problems, args: Mapping[str, Any]) -> tuple[str, Any, tuple[str, ...]]:
    """How ``$connect`` is authorized: the mode, its authorizer and where the authorizer reads."""
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
    return auth, authorizer, sources


def _validate(name: str, args: Mapping[str, Any], transform_check: Any) -> _Settings:
    p = Problems(f"WebSocketNotifier {name!r}")
    p.check_known_keys(args, WebSocketNotifierArgs.__annotations__, what="argument")
    code_ok = _check_code(p, args.get("code"))
    # Without a usable code the functions are judged against the library's own handlers, so their
    # other arguments are still checked and the code's problem is named once.
    given_code = args.get("code") if code_ok else None
    function, timeout = _check_function(p, name, given_code or LIBRARY_ROOT, args.get("function"))
    _check_types(p, args)
    auth, authorizer, sources = _check_connect_auth(p, args)
    v: dict[str, Any] = {}
    read_args(p, args, ARGS, ("stage_name",), v)
    stage = _throttle_of(p, "throttle", args.get("throttle", {}), defaults.WS_THROTTLE_RATE, defaults.WS_THROTTLE_BURST)
    routes = _check_routes(p, args, stage)
    read_args(p, args, ARGS, ("inline_max_bytes", "result_url_ttl_s", "notify_concurrency", "log_retention_days"), v)
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
        stage_name=v["stage_name"],
        rate=stage[0],
        burst=stage[1],
        routes=routes,
        inline_max_bytes=v["inline_max_bytes"],
        result_url_ttl_s=v["result_url_ttl_s"],
        notify_concurrency=v["notify_concurrency"],
        log_retention_days=v["log_retention_days"],
        gateway_account=account,
        alarm_topic_arn=args.get("alarm_topic_arn"),
    )
