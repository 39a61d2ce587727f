"""Who may call a route, decided as API Gateway decides it: IAM (a named principal), JWT (claims
checked against the authorizer's issuer, audiences, expiry on the run's clock, and the route's
scopes) and Lambda authorizers of the graph (REST TOKEN and REQUEST, HTTP REQUEST with payload
1.0 or 2.0, simple or IAM-policy answers), their answers cached for the authorizer's TTL on the
run's clock, their context passed on to the integration.

Where it differs from AWS: a JWT's signature is not checked (the test names the claims), and an
IAM caller is not checked against its policies for ``execute-api:Invoke`` (any principal named is
a signed caller).
"""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ..capture import CapturedResource
from .apis import Api, Request, Response, Route, _json_response, lambda_proxy_event
from .functions import TooManyRequests

if TYPE_CHECKING:
    from .host import LocalRunHost as LocalRun

__all__ = ["authorize"]

# API Gateway's default TTL of a REST authorizer's answer; HTTP APIs cache only when told.
REST_AUTHORIZER_TTL_S = 300


def _forbidden() -> Response:
    """An HTTP API's refusal of a caller it knows (IAM unsigned, a Lambda authorizer's no)."""
    return _json_response(403, {"message": "Forbidden"})


def authorize(run: LocalRun, api: Api, route: Route, request: Request) -> Response | None:
    """None when the request may reach the integration (``request.authorizer`` then holds what the
    integration is told); otherwise API Gateway's answer."""
    kind = route.auth
    if kind == "AWS_IAM":
        if isinstance(request.caller, str):
            request.authorizer = {"iam": {"userArn": request.caller, "accountId": api.account_id}}
            return None
        if api.flavor == "rest":
            return _refuse(
                run, api, request, "MISSING_AUTHENTICATION_TOKEN", status=403, message="Missing Authentication Token"
            )
        return _forbidden()
    if kind in ("JWT", "COGNITO_USER_POOLS"):
        return _jwt(run, api, route, request)
    if kind == "CUSTOM":
        return _lambda(run, api, route, request)
    return None


def _refuse(run: LocalRun, api: Api, request: Request, kind: str, *, status: int, message: str | None) -> Response:
    if api.flavor == "rest":
        from .rest import gateway_response

        return gateway_response(run, api, request, route=None, kind=kind, status=status, message=message or "")
    return _json_response(status, {"message": message})


def _authorizer(run: LocalRun, api: Api, route: Route) -> CapturedResource | None:
    wanted = (route.method_resource.inputs if route.method_resource else {}).get("authorizerId")
    kind = "aws:apigateway/authorizer:Authorizer" if api.flavor == "rest" else "aws:apigatewayv2/authorizer:Authorizer"
    return next((a for a in run.graph.of_type(kind) if a.outputs.get("id") == wanted), None)


def _jwt(run: LocalRun, api: Api, route: Route, request: Request) -> Response | None:
    unauthorized = _refuse(run, api, request, "UNAUTHORIZED", status=401, message="Unauthorized")
    claims = request.caller
    if not isinstance(claims, Mapping):
        return unauthorized
    authorizer = _authorizer(run, api, route)
    config = (authorizer.inputs.get("jwtConfiguration") or {}) if authorizer is not None else {}
    if config:
        audiences = set(config.get("audiences") or ())
        given = claims.get("aud", claims.get("client_id"))
        given_set = {given} if isinstance(given, str) else set(given or ())
        if claims.get("iss") != config.get("issuer") or not audiences & given_set:
            return unauthorized
    expires = claims.get("exp")
    if isinstance(expires, int | float) and expires <= run.clock.now():
        return unauthorized
    scopes = set((route.method_resource.inputs if route.method_resource else {}).get("authorizationScopes") or ())
    held = set(str(claims.get("scope", claims.get("scp", ""))).split())
    if scopes and not scopes & held:
        return _refuse(run, api, request, "ACCESS_DENIED", status=403, message="Forbidden")
    request.authorizer = {"jwt": {"claims": dict(claims), "scopes": sorted(held) or None}}
    return None


def _sources(authorizer: CapturedResource, flavor: str) -> list[str]:
    if flavor == "rest":
        return [s.strip() for s in str(authorizer.inputs.get("identitySource") or "").split(",") if s.strip()]
    return [str(s) for s in authorizer.inputs.get("identitySources") or []]


def _identity(source: str, request: Request, api: Api) -> str | None:
    name = source.removeprefix("$").removeprefix("method.")
    for prefix, found in (
        ("request.header.", lambda n: request.headers.get(n.lower())),
        ("request.querystring.", request.query.get),
        ("context.", {"stage": api.stage, "requestId": request.request_id}.get),
    ):
        if name.startswith(prefix):
            value = found(name[len(prefix) :])
            return value or None
    return None


def _arn(api: Api, request: Request) -> str:
    where = f"{api.region}:{api.account_id}:{api.api.outputs['id']}"
    return f"arn:aws:execute-api:{where}/{api.stage}/{request.method}/{request.path.lstrip('/')}"


def _lambda(run: LocalRun, api: Api, route: Route, request: Request) -> Response | None:
    authorizer = _authorizer(run, api, route)
    if authorizer is None:
        return _refuse(run, api, request, "AUTHORIZER_CONFIGURATION_ERROR", status=500, message=None)
    values = [_identity(s, request, api) for s in _sources(authorizer, api.flavor)]
    if any(v is None for v in values):
        return _refuse(run, api, request, "UNAUTHORIZED", status=401, message="Unauthorized")
    answer = _answer(run, api, request, authorizer, [str(v) for v in values], route=route)
    if isinstance(answer, Response):
        return answer
    if api.flavor == "http" and authorizer.inputs.get("enableSimpleResponses"):
        return _decide_simple(run, api, request, answer)
    return _decide(run, api, request, authorizer, answer)


def _answer(
    run: LocalRun, api: Api, request: Request, authorizer: CapturedResource, values: list[str], *, route: Route
) -> Any:
    """The authorizer's answer for these identity values: cached for its TTL on the run's clock
    (as API Gateway caches it, then judged against each request's ARN), or from its function now;
    API Gateway's refusal when the function fails."""
    default_ttl = REST_AUTHORIZER_TTL_S if api.flavor == "rest" else 0
    ttl = int(authorizer.inputs.get("authorizerResultTtlInSeconds", default_ttl) or 0)
    key = (authorizer.outputs.get("id"), tuple(values))
    cached = api.auth_cache.get(key)
    if ttl and values and cached is not None and cached[0] > run.clock.now():
        answer = cached[1]
    else:
        event = _event(api, route, request, authorizer, values)
        try:
            invocation = run.functions.invoke(
                str(authorizer.inputs.get("authorizerUri")).split("/functions/")[-1].removesuffix("/invocations"),
                event,
                source=f"authorizer {request.method} {request.path}",
            )
        except TooManyRequests:
            return _refuse(run, api, request, "AUTHORIZER_FAILURE", status=500, message=None)
        if invocation.failed:
            if (invocation.error or {}).get("errorMessage") == "Unauthorized":
                return _refuse(run, api, request, "UNAUTHORIZED", status=401, message="Unauthorized")
            return _refuse(run, api, request, "AUTHORIZER_FAILURE", status=500, message=None)
        answer = invocation.result
        if ttl and values:
            api.auth_cache[key] = (run.clock.now() + ttl, answer)
    return answer


def _event(api: Api, route: Route, request: Request, authorizer: CapturedResource, values: list[str]) -> dict[str, Any]:
    arn = _arn(api, request)
    if api.flavor == "rest" and authorizer.inputs.get("type", "TOKEN") == "TOKEN":
        return {"type": "TOKEN", "authorizationToken": values[0] if values else "", "methodArn": arn}
    version = "1.0" if api.flavor == "rest" else str(authorizer.inputs.get("authorizerPayloadFormatVersion", "2.0"))
    event = lambda_proxy_event(api, route, {}, request, version)
    event.pop("body", None)
    event.pop("isBase64Encoded", None)
    event["type"] = "REQUEST"
    if version == "2.0":
        event |= {"routeArn": arn, "identitySource": values}
    else:
        event |= {"methodArn": arn, "identitySource": ",".join(values)}
    return event


def _decide_simple(run: LocalRun, api: Api, request: Request, answer: Any) -> Response | None:
    """An HTTP authorizer's simple answer: ``{"isAuthorized": bool, "context": {...}}``."""
    if not isinstance(answer, Mapping) or not isinstance(answer.get("isAuthorized"), bool):
        return _refuse(run, api, request, "AUTHORIZER_CONFIGURATION_ERROR", status=500, message="Internal Server Error")
    if not answer["isAuthorized"]:
        return _forbidden()
    request.authorizer = {"lambda": dict(answer.get("context") or {})}
    return None


def _decide(run: LocalRun, api: Api, request: Request, authorizer: CapturedResource, answer: Any) -> Response | None:
    """An IAM policy answer: ``{"principalId", "policyDocument", "context"}``, judged on the route's ARN."""
    if not isinstance(answer, Mapping) or not isinstance(answer.get("policyDocument"), Mapping):
        return _refuse(run, api, request, "AUTHORIZER_CONFIGURATION_ERROR", status=500, message=None)
    effect = _effect(answer["policyDocument"], _arn(api, request))
    if effect != "Allow":
        if api.flavor == "http":
            return _forbidden()
        message = "User is not authorized to access this resource" + (
            " with an explicit deny" if effect == "Deny" else ""
        )
        return _refuse(run, api, request, "ACCESS_DENIED", status=403, message=message)
    context = dict(answer.get("context") or {})
    if api.flavor == "rest":
        # REST passes the context's values to the integration as strings.
        context = {k: _text(v) for k, v in context.items()}
        request.authorizer = {"principalId": answer.get("principalId"), **context}
    elif authorizer.inputs.get("authorizerPayloadFormatVersion", "2.0") == "2.0":
        request.authorizer = {"lambda": context}
    else:
        request.authorizer = {"principalId": answer.get("principalId"), **context}
    return None


def _text(value: Any) -> str:
    return ("true" if value else "false") if isinstance(value, bool) else str(value)


def _effect(document: Mapping[str, Any], arn: str) -> str | None:
    """The policy's verdict on invoking ``arn``: an explicit Deny wins, then an Allow, else none."""
    statements = document.get("Statement") or []
    if isinstance(statements, Mapping):
        statements = [statements]
    verdicts = set()
    for statement in statements:
        actions = statement.get("Action") or []
        resources = statement.get("Resource") or []
        actions = [actions] if isinstance(actions, str) else list(actions)
        resources = [resources] if isinstance(resources, str) else list(resources)
        if any(fnmatch.fnmatchcase("execute-api:Invoke", a) for a in actions) and any(
            fnmatch.fnmatchcase(arn, r) for r in resources
        ):
            verdicts.add(statement.get("Effect"))
    return "Deny" if "Deny" in verdicts else ("Allow" if "Allow" in verdicts else None)
