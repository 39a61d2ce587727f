"""What the API Gateway flavours share (REST, HTTP, and WebSocketNotifier's stage): the throttle
check, the v2 stage's throttle settings, names from paths, the role API Gateway assumes. The
access log group and format are a building block (``blocks.api_logs``); the state every flavour's
builder shares is ``core.ApiCore``."""

from __future__ import annotations

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


ASSUME_APIGATEWAY = assume_role_policy("apigateway.amazonaws.com")
