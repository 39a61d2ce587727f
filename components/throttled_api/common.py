"""What every API Gateway flavour shares (REST, HTTP, and WebSocketNotifier's API): the throttle
check, the access log format, the role API Gateway assumes. The builders' shared state and the
Lambda permissions scoped to one route are ``core``."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from .. import defaults
from ..grants import assume_role_policy
from ..validation import Problems


def slug(text: str) -> str:
    """A route or path as a resource-name part: ``GET /orders/{id}`` -> ``get-orders-id``."""
    return re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-").lower() or "root"


def check_throttle(p: Problems, key: str, throttle: Any) -> tuple[float, int] | None:
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


def v2_stage_throttles(rate: float, burst: int, routes: Any) -> dict[str, Any]:
    """``default_route_settings`` and ``route_settings`` of an HTTP or WebSocket stage: both values
    on every setting, because an omitted value throttles that route to 0 on AWS. ``routes`` are
    objects with ``key``, ``rate`` and ``burst``; every key must name a route that exists before
    the stage (else ``NotFoundException: Unable to find Route by key``)."""
    return {
        "default_route_settings": {
            "throttling_rate_limit": rate,
            "throttling_burst_limit": burst,
            "detailed_metrics_enabled": True,
        },
        "route_settings": [
            {
                "route_key": r.key,
                "throttling_rate_limit": r.rate,
                "throttling_burst_limit": r.burst,
                "detailed_metrics_enabled": True,
            }
            for r in routes
        ],
    }


def access_log_format(flavor: str) -> str:
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


ASSUME_APIGATEWAY = assume_role_policy("apigateway.amazonaws.com")
