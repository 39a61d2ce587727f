"""What the API Gateway flavours share (REST, HTTP, and WebSocketNotifier's stage): the throttle
check, Lambda permissions scoped to one route, the role API Gateway assumes. The access log
group and format are a building block (``blocks.api_logs``)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import pulumi
import pulumi_aws as aws

from .. import defaults
from ..base import ResilientComponent
from ..grants import assume_role_policy, policy_json
from ..validation import Problems

if TYPE_CHECKING:
    from .routes import _Route, _Settings


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


def source_arn(execution_arn: pulumi.Output[str], stage: str, route: _Route) -> pulumi.Output[str]:
    """The one API, stage, method and path that may invoke the route's function."""
    return execution_arn.apply(lambda arn: f"{arn}/{stage}/{route.arn_method}{route.arn_path}")


ASSUME_APIGATEWAY = assume_role_policy("apigateway.amazonaws.com")


class ApiCore(ResilientComponent):
    """State and helpers every flavour's builder uses."""

    settings: _Settings
    routes: tuple[_Route, ...]
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
    access_logs: aws.cloudwatch.LogGroup
    integration_role: aws.iam.Role | None
    permissions: list[aws.lambda_.Permission]

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
                "assume_role_policy": ASSUME_APIGATEWAY,
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
