"""WebSocket APIs: throttled stages, and @connections permissions scoped to this stack's APIs."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import TYPE_CHECKING

from .. import aws_facts
from .common import HTTP_STAGE, POLICY_TYPES, WS_ROUTE, _as_list, _statements, _throttled, _websocket_api_ids
from .registry import rule

if TYPE_CHECKING:
    from ..offline import CapturedResource, Graph


WS_ACCOUNT_CONNECT_QUOTA = int(aws_facts.quota("websocket_new_connections_per_s"))


MANAGE_CONNECTIONS_ARN = re.compile(
    r"^arn:[^:]+:execute-api:[a-z0-9-]+:\d{12}:[A-Za-z0-9]+/[A-Za-z0-9_-]+/(POST|GET|DELETE)/@connections/\*?$"
)


@rule(
    "websocket-throttled",
    "error",
    (HTTP_STAGE,),
    "A WebSocket stage throttles every route by name, and $connect within the account's 500 connections/s",
)
def websocket_throttled(stage: CapturedResource, graph: Graph) -> Iterator[str]:
    api_id = stage.inputs.get("apiId")
    if api_id not in _websocket_api_ids(graph):
        return
    settings = {s.get("routeKey"): s for s in stage.inputs.get("routeSettings") or []}
    for route in graph.of_type(WS_ROUTE):
        key = route.inputs.get("routeKey")
        if route.inputs.get("apiId") != api_id:
            continue
        if key not in settings:
            yield f"route {key} has no route settings: it takes the stage default, unnamed in the plan"
        elif not _throttled(settings[key], "throttlingRateLimit", "throttlingBurstLimit"):
            yield f"route {key} lacks a non-zero rate and burst: AWS throttles it to 0"
    connect = (settings.get("$connect") or {}).get("throttlingRateLimit") or 0
    if connect > WS_ACCOUNT_CONNECT_QUOTA:
        yield (
            f"$connect admits {connect} new connections/s, above the account quota of {WS_ACCOUNT_CONNECT_QUOTA}/s "
            "per region: the account refuses the excess, not this stage"
        )


@rule(
    "manage-connections-scoped",
    "error",
    POLICY_TYPES,
    "execute-api:ManageConnections names one API, stage and method on @connections",
)
def manage_connections_scoped(policy: CapturedResource, graph: Graph) -> Iterator[str]:
    for statement in _statements(policy.inputs.get("policy")):
        actions = [str(a) for a in _as_list(statement.get("Action"))]
        if statement.get("Effect") != "Allow" or not any(
            a in ("execute-api:ManageConnections", "execute-api:*") for a in actions
        ):
            continue
        for resource in _as_list(statement.get("Resource")):
            if not MANAGE_CONNECTIONS_ARN.match(str(resource)):
                yield (
                    f"ManageConnections on {resource!r}: name one API, stage and method on @connections "
                    "(arn:...:execute-api:<region>:<account>:<api>/<stage>/POST/@connections/*), so a function "
                    "can reach only its own clients"
                )
