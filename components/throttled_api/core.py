"""The state and helpers every flavour's builder shares: the settings and routes, the children
the flavours read, the integration role, and Lambda permissions scoped to one route."""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_aws as aws

from ..base import ResilientComponent
from ..grants import policy_json
from .common import ASSUME_APIGATEWAY
from .routes import _Route, _Settings


def source_arn(execution_arn: pulumi.Output[str], stage: str, route: _Route) -> pulumi.Output[str]:
    """The one API, stage, method and path that may invoke the route's function."""
    return execution_arn.apply(lambda arn: f"{arn}/{stage}/{route.arn_method}{route.arn_path}")


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
