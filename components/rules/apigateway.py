"""API Gateway: throttled stages with access logs, timeouts that fit their functions, scoped
invoke permissions, capacity; the account's logging role, escaped method paths, grouped FIFO
sends and guarded write routes.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import TYPE_CHECKING

from .common import (
    ACCOUNT,
    FUNCTION,
    HTTP_INTEGRATION,
    HTTP_ROUTE,
    HTTP_STAGE,
    LAMBDA_DEFAULT_TIMEOUT_S,
    METHOD_SETTINGS,
    PERMISSION,
    QUEUE,
    REST_INTEGRATION,
    REST_METHOD,
    REST_STAGE,
    THROTTLED_API,
    WAF_ASSOCIATION,
    _is_websocket_route_arn,
    _throttled,
)
from .registry import rule

if TYPE_CHECKING:
    from ..offline import CapturedResource, Graph


@rule(
    "api-stage-throttled",
    "error",
    (REST_STAGE, HTTP_STAGE, METHOD_SETTINGS),
    "Every API stage and route has a non-zero throttle (rate and burst)",
)
def api_stage_throttled(resource: CapturedResource, graph: Graph) -> Iterator[str]:
    if resource.type == METHOD_SETTINGS:
        if not _throttled(resource.inputs.get("settings"), "throttlingRateLimit", "throttlingBurstLimit"):
            yield f"method settings {resource.inputs.get('methodPath')} lack a non-zero rate and burst"
        return
    if resource.type == REST_STAGE:
        api, stage = resource.inputs.get("restApi"), resource.inputs.get("stageName")
        stage_wide = [
            m
            for m in graph.of_type(METHOD_SETTINGS)
            if m.inputs.get("restApi") == api
            and m.inputs.get("stageName") == stage
            and m.inputs.get("methodPath") == "*/*"
        ]
        if not any(
            _throttled(m.inputs.get("settings"), "throttlingRateLimit", "throttlingBurstLimit") for m in stage_wide
        ):
            yield f"stage {stage} has no '*/*' method settings with a throttle: only the account limit applies"
        return
    if not _throttled(resource.inputs.get("defaultRouteSettings"), "throttlingRateLimit", "throttlingBurstLimit"):
        yield "default route settings lack a rate and burst: AWS throttles such a stage to 0"
    for setting in resource.inputs.get("routeSettings") or []:
        if not _throttled(setting, "throttlingRateLimit", "throttlingBurstLimit"):
            yield f"route {setting.get('routeKey')} omits a throttle value: AWS throttles it to 0"


@rule("api-access-logs", "error", (REST_STAGE, HTTP_STAGE), "Every API stage writes access logs")
def api_access_logs(stage: CapturedResource, graph: Graph) -> Iterator[str]:
    settings = stage.inputs.get("accessLogSettings") or {}
    if not (settings.get("destinationArn") and settings.get("format")):
        yield "no access log settings: rejected and failed requests leave no trace"


def _function_behind(uri: str, graph: Graph) -> CapturedResource | None:
    for fn in graph.of_type(FUNCTION):
        arn = fn.outputs.get("arn")
        if arn and (f"{arn}/" in uri or f"{arn}:" in uri or uri == arn):
            return fn
    return None


@rule(
    "api-timeout-chain",
    "error",
    (REST_INTEGRATION, HTTP_INTEGRATION),
    "A synchronous Lambda integration outlasts its function and stays within the gateway's limit",
)
def api_timeout_chain(integration: CapturedResource, graph: Graph) -> Iterator[str]:
    rest = integration.type == REST_INTEGRATION
    kind = integration.inputs.get("type" if rest else "integrationType")
    if kind != "AWS_PROXY" or integration.inputs.get("integrationSubtype"):
        return
    ceiling = 29_000 if rest else 30_000
    timeout = integration.inputs.get("timeoutMilliseconds", ceiling)
    if timeout > ceiling:
        yield f"integration timeout {timeout} ms is above the {'REST' if rest else 'HTTP'} limit of {ceiling} ms"
    fn = _function_behind(str(integration.inputs.get("uri" if rest else "integrationUri", "")), graph)
    if fn is not None and fn.inputs.get("timeout", LAMBDA_DEFAULT_TIMEOUT_S) * 1000 >= timeout:
        yield (
            f"function {fn.name} may run {fn.inputs.get('timeout', 3)} s, not less than the {timeout} ms "
            "integration timeout: the gateway gives up while the function still works"
        )


@rule(
    "lambda-permission-scoped",
    "error",
    (PERMISSION,),
    "API Gateway may invoke a function only from one API, stage, method and path",
)
def lambda_permission_scoped(permission: CapturedResource, graph: Graph) -> Iterator[str]:
    if permission.inputs.get("principal") != "apigateway.amazonaws.com":
        return
    source = str(permission.inputs.get("sourceArn") or "")
    parts = source.split(":", 5)[5].split("/") if source.count(":") >= 5 else []
    # A Lambda authorizer is invoked as <api>/authorizers/<id>: one API, one authorizer.
    one_authorizer = len(parts) == 3 and parts[1] == "authorizers" and all(p not in ("", "*") for p in parts)
    if (len(parts) < 4 or parts[0] in ("", "*")) and not (one_authorizer or _is_websocket_route_arn(parts, graph)):
        yield f"source ARN {source or '(none)'} does not name one API, stage, method and path"


@rule(
    "api-capacity",
    "warning",
    (THROTTLED_API,),
    "A route admits no more than its function can serve (Little's law: rate x latency)",
)
def api_capacity(api: CapturedResource, graph: Graph) -> Iterator[str]:
    for route in graph.outputs_of(api).get("routes", []):
        limit, needed = route.get("concurrency_limit"), route.get("concurrency_needed")
        if limit is not None and needed is not None and needed > limit:
            yield (
                f"{route['route']}: {route['rate']} rps x {route['expected_latency_ms']} ms needs "
                f"{needed} concurrent executions, the function reserves {limit}: excess is throttled by Lambda, "
                "not shed at the edge"
            )


@rule(
    "api-account-role",
    "warning",
    (THROTTLED_API,),
    "A logging REST API's stack manages the region's API Gateway role, or says another stack does",
)
def api_account_role(api: CapturedResource, graph: Graph) -> Iterator[str]:
    outputs = graph.outputs_of(api)
    if outputs.get("flavor") != "rest" or outputs.get("account_setting") in ("this stack", "another stack"):
        return
    if graph.of_type(ACCOUNT):
        yield "the stack sets the API Gateway account role but the API does not wait for it: pass it as account"
        return
    yield (
        "REST access and execution logs need the region's API Gateway CloudWatch role: pass an "
        "ApiGatewayAccount as account, or set account_managed_elsewhere=True if another stack manages it"
    )


# A method path is "*/*" or an escaped resource path and a method: ~1orders~1{id}/GET, ~1/GET.
ESCAPED_METHOD_PATH = re.compile(r"^\*/\*$|^(~1[^/~]*(~[01][^/~]*)*)+/(\*|GET|POST|PUT|PATCH|DELETE|HEAD|OPTIONS)$")


@rule(
    "api-method-path-escaped",
    "error",
    (METHOD_SETTINGS,),
    "A REST method setting names its method with every / of the resource path written ~1",
)
def api_method_path_escaped(settings: CapturedResource, graph: Graph) -> Iterator[str]:
    path = str(settings.inputs.get("methodPath", ""))
    if not ESCAPED_METHOD_PATH.match(path):
        yield (
            f"method path {path!r} matches no method: API Gateway keys methods as the resource path with "
            "every / written ~1, then the method (~1orders~1{order_id}/GET, ~1/GET for the root, */* for all)"
        )


def _fifo_send(integration: CapturedResource) -> tuple[str, bool, bool] | None:
    """``(queue name, sends a group id, sends a dedup id)`` of an integration sending to a FIFO queue."""
    if integration.type == REST_INTEGRATION:
        uri = str(integration.inputs.get("uri") or "")
        sent = " ".join(str(t) for t in (integration.inputs.get("requestTemplates") or {}).values())
        queue = uri.rsplit("/", 1)[-1] if ":sqs:path/" in uri else ""
        group, dedup = "MessageGroupId=" in sent, "MessageDeduplicationId=" in sent
    else:
        params = integration.inputs.get("requestParameters") or {}
        queue = str(params.get("QueueUrl") or "").rsplit("/", 1)[-1]
        if not str(integration.inputs.get("integrationSubtype") or "").startswith("SQS-SendMessage"):
            queue = ""
        group, dedup = "MessageGroupId" in params, "MessageDeduplicationId" in params
    return (queue, group, dedup) if queue.endswith(".fifo") else None


@rule(
    "api-fifo-target-grouped",
    "error",
    (REST_INTEGRATION, HTTP_INTEGRATION),
    "An API sending to a FIFO queue sends a message group id (and a dedup id unless content-based)",
)
def api_fifo_target_grouped(integration: CapturedResource, graph: Graph) -> Iterator[str]:
    found = _fifo_send(integration)
    if found is None:
        return
    name, group, dedup = found
    if not group:
        yield f"sends to FIFO queue {name} without a MessageGroupId: SQS refuses every message (route group_id)"
    # A queue Pulumi names itself has its physical name in its outputs only.
    queue = next((q for q in graph.of_type(QUEUE) if name in (q.inputs.get("name"), q.outputs.get("name"))), None)
    content_based = queue is not None and bool(queue.inputs.get("contentBasedDeduplication"))
    if not dedup and not content_based:
        yield (
            f"sends to FIFO queue {name} without a MessageDeduplicationId and the queue has no content-based "
            "deduplication: SQS refuses every message (route dedup_id)"
        )


WRITE_METHODS = ("POST", "PUT", "PATCH", "DELETE", "ANY")


@rule(
    "api-write-route-guarded",
    "warning",
    (REST_METHOD, HTTP_ROUTE),
    "A write route has authorization or a per-client limit (API key usage plan, WAF rate per IP)",
)
def api_write_route_guarded(route: CapturedResource, graph: Graph) -> Iterator[str]:
    if route.type == REST_METHOD:
        method = str(route.inputs.get("httpMethod"))
        if method not in WRITE_METHODS or route.inputs.get("authorization", "NONE") != "NONE":
            return
        api = str(route.inputs.get("restApi"))
        waf = any(api in str(a.inputs.get("resourceArn", "")) for a in graph.of_type(WAF_ASSOCIATION))
        if not route.inputs.get("apiKeyRequired") and not waf:
            yield (
                f"{method} is open to anyone with no per-client limit: one client can spend the stage's whole "
                "rate (add auth, usage_plans or waf_rate_limit)"
            )
        return
    method = str(route.inputs.get("routeKey", "")).split(" ")[0]
    if method in WRITE_METHODS and route.inputs.get("authorizationType", "NONE") == "NONE":
        yield (
            f"{route.inputs.get('routeKey')} is open to anyone, and HTTP APIs have no per-client limit (only the "
            "route throttle shared by every client): add auth"
        )
