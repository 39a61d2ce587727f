"""API Gateway front doors as the graph configures them: HTTP APIs (payload 1.0/2.0 Lambda proxy,
SQS-SendMessage parameter mappings) and REST APIs (Lambda proxy, AWS integrations through their
own VTL request templates, integration and gateway responses, request validation by model)."""

from __future__ import annotations

import base64
import json
import re
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from ..capture import CapturedResource, Graph
from .clock import Clock

__all__ = ["Api", "Caller", "Response", "TokenBucket", "apis_of"]

Caller = str | Mapping[str, Any] | None


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body or b"null")

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")

    def __repr__(self) -> str:
        return f"<Response {self.status} {self.text[:200]!r}>"


def _json_response(status: int, body: Any, headers: Mapping[str, str] | None = None) -> Response:
    return Response(status, {"content-type": "application/json", **dict(headers or {})}, json.dumps(body).encode())


@dataclass
class TokenBucket:
    """API Gateway's throttle: ``burst`` tokens, refilled at ``rate`` per second of the run's clock."""

    rate: float
    burst: float
    clock: Clock
    tokens: float = -1.0
    at: float = 0.0

    def take(self) -> bool:
        now = self.clock.now()
        if self.tokens < 0:
            self.tokens, self.at = self.burst, now
        self.tokens = min(self.burst, self.tokens + (now - self.at) * self.rate)
        self.at = now
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True


@dataclass
class Route:
    method: str  # "ANY" for any
    path: str  # "/orders/{order_id}", "$default"
    integration: CapturedResource | None
    auth: str  # NONE, AWS_IAM, JWT, CUSTOM
    method_resource: CapturedResource | None = None
    buckets: list[TokenBucket] = field(default_factory=list)

    def match(self, method: str, path: str) -> dict[str, str] | None:
        if self.method not in ("ANY", method):
            return None
        if self.path == "$default":
            return {}
        pattern = re.sub(r"\\\{([^}]+?)\\\+\\\}", r"(?P<\1>.+)", re.escape(self.path))
        pattern = re.sub(r"\\\{([^}]+?)\\\}", r"(?P<\1>[^/]+)", pattern)
        found = re.fullmatch(pattern, path)
        return found.groupdict() if found else None


InvokeFn = Callable[[str, Any, str], tuple[Any, dict[str, Any] | None]]  # arn, event, source -> (result, error)
SendFn = Callable[[str, str, str | None], dict[str, Any]]  # queue url, body, role arn -> SendMessage answer


@dataclass
class Api:
    """One API of the graph with its routes and stage, answering requests like API Gateway."""

    api: CapturedResource
    flavor: str  # "http" or "rest"
    stage: str
    routes: list[Route]
    graph: Graph
    clock: Clock
    account_id: str
    region: str
    stage_bucket: TokenBucket | None = None
    # Lambda authorizers' answers: (authorizer id, identity values) -> (expires at, answer)
    auth_cache: dict[tuple[Any, tuple[Any, ...]], tuple[float, Any]] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return str(self.api.inputs.get("name") or self.api.name)

    def find(self, method: str, path: str) -> tuple[Route, dict[str, str]] | None:
        # Most specific first: literal paths before parameters, parameters before greedy, $default last.
        def rank(route: Route) -> tuple[int, int, int]:
            return (route.path == "$default", "+}" in route.path, route.path.count("{"))

        for route in sorted(self.routes, key=rank):
            params = route.match(method, path)
            if params is not None:
                return route, params
        return None


def _stage_throttles(stage: CapturedResource) -> tuple[tuple[float, float] | None, dict[str, tuple[float, float]]]:
    default = stage.inputs.get("defaultRouteSettings") or {}
    stage_limits = None
    if default.get("throttlingRateLimit") is not None:
        stage_limits = (float(default["throttlingRateLimit"]), float(default.get("throttlingBurstLimit", 0)))
    per_route = {
        s["routeKey"]: (float(s.get("throttlingRateLimit", 0)), float(s.get("throttlingBurstLimit", 0)))
        for s in stage.inputs.get("routeSettings") or []
        if s.get("throttlingRateLimit") is not None
    }
    return stage_limits, per_route


def _http_api(graph: Graph, api: CapturedResource, clock: Clock, account_id: str, region: str) -> Api:
    api_id = api.outputs["id"]
    integrations = {
        i.outputs["id"]: i
        for i in graph.of_type("aws:apigatewayv2/integration:Integration")
        if i.inputs.get("apiId") == api_id
    }
    stages = [s for s in graph.of_type("aws:apigatewayv2/stage:Stage") if s.inputs.get("apiId") == api_id]
    stage = stages[0] if stages else None
    stage_limits, per_route = _stage_throttles(stage) if stage else (None, {})
    routes = []
    for route in graph.of_type("aws:apigatewayv2/route:Route"):
        if route.inputs.get("apiId") != api_id:
            continue
        key = route.inputs["routeKey"]
        method, _, path = key.partition(" ") if " " in key else ("ANY", "", key)
        target = str(route.inputs.get("target", "")).removeprefix("integrations/")
        limits = per_route.get(key) or stage_limits
        buckets = [TokenBucket(limits[0], limits[1], clock)] if limits else []
        routes.append(
            Route(method, path, integrations.get(target), route.inputs.get("authorizationType", "NONE"), route, buckets)
        )
    stage_name = stage.inputs.get("name", "$default") if stage else "$default"
    return Api(api, "http", stage_name, routes, graph, clock, account_id, region)


def _rest_api(graph: Graph, api: CapturedResource, clock: Clock, account_id: str, region: str) -> Api:
    api_id = api.outputs["id"]
    resources = {
        r.outputs["id"]: r
        for r in graph.of_type("aws:apigateway/resource:Resource")
        if r.inputs.get("restApi") == api_id
    }
    root = api.outputs["rootResourceId"]

    def path_of(resource_id: str) -> str:
        if resource_id == root or resource_id not in resources:
            return ""
        resource = resources[resource_id]
        return f"{path_of(resource.inputs['parentId'])}/{resource.inputs['pathPart']}"

    integrations = {
        (i.inputs["resourceId"], i.inputs["httpMethod"]): i
        for i in graph.of_type("aws:apigateway/integration:Integration")
        if i.inputs.get("restApi") == api_id
    }
    stages = [s for s in graph.of_type("aws:apigateway/stage:Stage") if s.inputs.get("restApi") == api_id]
    stage = stages[0] if stages else None
    settings = [
        m for m in graph.of_type("aws:apigateway/methodSettings:MethodSettings") if m.inputs.get("restApi") == api_id
    ]
    limits: dict[str, tuple[float, float]] = {}
    for setting in settings:
        values = setting.inputs.get("settings") or {}
        if values.get("throttlingRateLimit") is not None:
            limits[setting.inputs["methodPath"]] = (
                float(values["throttlingRateLimit"]),
                float(values.get("throttlingBurstLimit", 0)),
            )
    routes = []
    for method in graph.of_type("aws:apigateway/method:Method"):
        if method.inputs.get("restApi") != api_id:
            continue
        path = path_of(method.inputs["resourceId"]) or "/"
        verb = method.inputs["httpMethod"]
        method_path = f"{path.replace('/', '~1')}/{verb}" if path != "/" else f"~1/{verb}"
        route_limits = limits.get(method_path) or limits.get("*/*")
        buckets = [TokenBucket(route_limits[0], route_limits[1], clock)] if route_limits else []
        integration = integrations.get((method.inputs["resourceId"], verb))
        routes.append(Route(verb, path, integration, method.inputs.get("authorization", "NONE"), method, buckets))
    stage_name = stage.inputs.get("stageName", "prod") if stage else "prod"
    return Api(api, "rest", stage_name, routes, graph, clock, account_id, region)


def apis_of(graph: Graph, clock: Clock, account_id: str, region: str) -> list[Api]:
    found = [
        _rest_api(graph, api, clock, account_id, region) for api in graph.of_type("aws:apigateway/restApi:RestApi")
    ]
    found += [
        _http_api(graph, api, clock, account_id, region)
        for api in graph.of_type("aws:apigatewayv2/api:Api")
        if api.inputs.get("protocolType") == "HTTP"
    ]
    return found


# --- the request's context -------------------------------------------------------------------------
@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]  # lower-case names
    body: bytes
    caller: Caller
    request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    epoch_ms: int = 0
    authorizer: dict[str, Any] | None = None  # what the route's auth tells the integration

    @classmethod
    def of(
        cls, method: str, url: str, *, body: bytes, headers: Mapping[str, str] | None, caller: Caller, clock: Clock
    ) -> Request:
        parts = urlsplit(url)
        return cls(
            method.upper(),
            parts.path or "/",
            dict(parse_qsl(parts.query)),
            {k.lower(): v for k, v in (headers or {}).items()},
            body,
            caller,
            epoch_ms=int(clock.now() * 1000),
        )

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")

    def identity(self) -> dict[str, Any]:
        arn = self.caller if isinstance(self.caller, str) else None
        return {
            "sourceIp": "127.0.0.1",
            "userAgent": self.headers.get("user-agent", "local"),
            "userArn": arn,
            "caller": arn,
        }


def lambda_proxy_event(
    api: Api, route: Route, params: dict[str, str], request: Request, version: str
) -> dict[str, Any]:
    """The event API Gateway sends a Lambda proxy integration (payload 1.0 or 2.0)."""
    is_text = True
    try:
        body: str | None = request.body.decode("utf-8") if request.body else None
    except UnicodeDecodeError:
        body, is_text = base64.b64encode(request.body).decode(), False
    api_id = api.api.outputs["id"]
    resource_path = route.path if route.path != "$default" else request.path
    authorizer: dict[str, Any] = dict(request.authorizer or {})
    if request.authorizer is None and isinstance(request.caller, str):
        authorizer = {"iam": {"userArn": request.caller, "accountId": api.account_id}}
    elif request.authorizer is None and isinstance(request.caller, Mapping):
        authorizer = {"jwt": {"claims": dict(request.caller), "scopes": None}}
    if version == "2.0":
        return {
            "version": "2.0",
            "routeKey": f"{route.method} {route.path}" if route.path != "$default" else "$default",
            "rawPath": request.path,
            "rawQueryString": "&".join(f"{k}={v}" for k, v in request.query.items()),
            "headers": dict(request.headers),
            "queryStringParameters": request.query or None,
            "pathParameters": params or None,
            "requestContext": {
                "accountId": api.account_id,
                "apiId": api_id,
                "authorizer": authorizer or None,
                "domainName": f"{api_id}.execute-api.{api.region}.amazonaws.com",
                "http": {
                    "method": request.method,
                    "path": request.path,
                    "protocol": "HTTP/1.1",
                    "sourceIp": "127.0.0.1",
                    "userAgent": "local",
                },
                "requestId": request.request_id,
                "routeKey": f"{route.method} {route.path}",
                "stage": api.stage,
                "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(request.epoch_ms / 1000)),
                "timeEpoch": request.epoch_ms,
            },
            "body": body,
            "isBase64Encoded": not is_text,
        }
    return {
        "version": "1.0",
        "resource": resource_path,
        "path": request.path,
        "httpMethod": request.method,
        "headers": dict(request.headers),
        "multiValueHeaders": {k: [v] for k, v in request.headers.items()},
        "queryStringParameters": request.query or None,
        "multiValueQueryStringParameters": {k: [v] for k, v in request.query.items()} or None,
        "pathParameters": params or None,
        "stageVariables": None,
        "requestContext": {
            "accountId": api.account_id,
            "apiId": api_id,
            "authorizer": _v1_authorizer(authorizer),
            "httpMethod": request.method,
            "identity": request.identity(),
            "path": f"/{api.stage}{request.path}" if api.flavor == "rest" else request.path,
            "requestId": request.request_id,
            "requestTimeEpoch": request.epoch_ms,
            "resourcePath": resource_path,
            "stage": api.stage,
        },
        "body": body,
        "isBase64Encoded": not is_text,
    }


def _v1_authorizer(authorizer: dict[str, Any]) -> dict[str, Any] | None:
    """``requestContext.authorizer`` of a 1.0 event: a JWT's claims, or a Lambda authorizer's
    principal and context; IAM callers are in ``identity`` instead."""
    if "jwt" in authorizer:
        return dict(authorizer["jwt"]["claims"])
    if "lambda" in authorizer:
        return dict(authorizer["lambda"])
    return {k: v for k, v in authorizer.items() if k != "iam"} or None


def proxy_response(result: Any, version: str) -> Response:
    """What API Gateway makes of a Lambda proxy integration's answer."""
    if version == "2.0" and not (isinstance(result, dict) and "statusCode" in result):
        # Payload 2.0 infers a response from any JSON value.
        return _json_response(200, result)
    if not isinstance(result, dict) or "statusCode" not in result:
        return _json_response(502, {"message": "Internal server error"})
    headers = {k.lower(): str(v) for k, v in (result.get("headers") or {}).items()}
    for name, values in (result.get("multiValueHeaders") or {}).items():
        headers[name.lower()] = ",".join(str(v) for v in values)
    body = result.get("body") or ""
    raw = base64.b64decode(body) if result.get("isBase64Encoded") else str(body).encode()
    return Response(int(result["statusCode"]), headers, raw)


def _function_arn(uri: str) -> str:
    # Lambda proxy URIs are the function ARN, or API Gateway's invoke path around it.
    found = re.search(r"(arn:[^:]+:lambda:[^:]+:\d+:function:[^/]+)", uri)
    return found.group(1) if found else uri
