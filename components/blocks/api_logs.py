"""An API's access log: the log group and the JSON line API Gateway writes per request."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pulumi_aws as aws

if TYPE_CHECKING:
    from ..base import ResilientComponent

__all__ = ["access_log_format", "access_log_group"]

# The fields every flavour logs; each flavour names its integration's fields differently.
_COMMON = {
    "requestId": "$context.requestId",
    "ip": "$context.identity.sourceIp",
    "status": "$context.status",
    "latencyMs": "$context.responseLatency",
    "error": "$context.error.message",
}
_REST = {
    "client": "$context.identity.apiKeyId",
    "route": "$context.httpMethod $context.resourcePath",
    "integrationLatencyMs": "$context.integration.latency",
    "integrationError": "$context.integration.error",
    "integrationStatus": "$context.integration.status",
}
_V2 = {
    "client": "$context.identity.sourceIp",
    "route": "$context.routeKey",
    "integrationLatencyMs": "$context.integrationLatency",
    "integrationError": "$context.integrationErrorMessage",
    "integrationStatus": "$context.integrationStatus",
}
# A socket is identified by its connection, and each line by the event (CONNECT, MESSAGE, ...).
_WEBSOCKET = {**_V2, "connectionId": "$context.connectionId", "eventType": "$context.eventType"}


def access_log_format(flavor: str) -> str:
    """The access log line (JSON, sorted keys) of a ``rest``, ``http`` or ``websocket`` stage."""
    extra = {"rest": _REST, "websocket": _WEBSOCKET}.get(flavor, _V2)
    return json.dumps(_COMMON | extra, sort_keys=True)


def access_log_group(owner: ResilientComponent, retention_days: int) -> aws.cloudwatch.LogGroup:
    """The child ``<name>-access-logs``: ``/aws/apigateway/<physical name>/access``."""
    return owner._child(
        "access_logs",
        aws.cloudwatch.LogGroup,
        "access-logs",
        {
            "name": f"/aws/apigateway/{owner.physical('log_group')}/access",
            "retention_in_days": retention_days,
        },
    )
