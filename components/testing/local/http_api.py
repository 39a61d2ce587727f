"""HTTP API integrations: SQS-SendMessage through the route's parameter mapping, as the
integration's role, and Lambda proxy (payload 1.0 or 2.0)."""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any

from .apis import Api, Request, Response, _json_response, lambda_proxy_event, proxy_response
from .common import dumps

if TYPE_CHECKING:
    from .host import LocalRunHost as LocalRun

__all__ = ["http_integration", "http_parameter"]


def http_integration(run: LocalRun, api: Api, route: Any, params: dict[str, str], request: Request) -> Response:
    integration = route.integration.inputs
    if integration.get("integrationSubtype") == "SQS-SendMessage":
        mapped = {
            k: http_parameter(v, request, params) for k, v in (integration.get("requestParameters") or {}).items()
        }
        try:
            answer = run._send(mapped["QueueUrl"], mapped["MessageBody"], integration.get("credentialsArn"), mapped)
        except Exception as error:
            return _json_response(500, {"message": "Internal Server Error", "local": str(error)})
        return _json_response(200, answer)
    version = str(integration.get("payloadFormatVersion", "2.0"))
    event = lambda_proxy_event(api, route, params, request, version)
    invocation = run._invoke_sync(integration["integrationUri"], event, f"api {request.method} {request.path}")
    if isinstance(invocation, Response):
        return invocation
    if invocation.failed:
        return _json_response(500, {"message": "Internal Server Error"})
    return proxy_response(invocation.result, version)


def http_parameter(template: str, request: Request, params: dict[str, str]) -> str:
    """An HTTP API parameter mapping value: ``$request.body``, ``${request.header.x}``, ``${context.requestId}``..."""
    fixed = {
        "request.body": lambda: request.text,
        "context.requestId": lambda: request.request_id,
        "context.requestTimeEpoch": lambda: str(request.epoch_ms),
        "context.identity.sourceIp": lambda: "127.0.0.1",
    }
    sources = {
        "request.header.": lambda name: request.headers.get(name.lower(), ""),
        "request.querystring.": lambda name: request.query.get(name, ""),
        "request.path.": lambda name: params.get(name, ""),
        "request.body.": lambda name: _json_field(request.text, name),
    }

    def value(expression: str) -> str:
        if expression in fixed:
            return fixed[expression]()
        for prefix, read in sources.items():
            if expression.startswith(prefix):
                return read(expression[len(prefix) :])
        return ""

    if template.startswith("$") and not template.startswith("${") and " " not in template:
        return value(template[1:])
    return re.sub(r"\$\{([^}]+)\}", lambda m: value(m.group(1)), template)


def _json_field(text: str, dotted: str) -> str:
    found: Any = json.loads(text or "null")
    for part in dotted.split("."):
        found = found.get(part) if isinstance(found, dict) else None
    return "" if found is None else (found if isinstance(found, str) else dumps(found))
