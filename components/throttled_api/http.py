"""The HTTP flavour (API Gateway v2): integrations, routes and an auto-deployed stage."""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_aws as aws

from ..blocks import access_log_format
from .common import v2_stage_throttles
from .core import ApiCore, source_arn
from .envelope import http_envelope
from .routes import _Route


class HttpFlavor(ApiCore):
    def _create_http(self) -> None:
        s = self.settings
        api_args: dict[str, Any] = {"name": self.physical("api"), "protocol_type": "HTTP"}
        if s.cors is not None:
            api_args["cors_configuration"] = {k: v for k, v in s.cors.items()}
        self.api = self._child("api", aws.apigatewayv2.Api, "api", api_args)
        routes: list[pulumi.Resource] = []
        authorizers: dict[str, aws.apigatewayv2.Authorizer] = {}
        for route in self.routes:
            integration = self._child(
                "integration",
                aws.apigatewayv2.Integration,
                f"integration-{route.label}",
                self._http_integration_args(route),
            )
            route_resource = self._child(
                "route",
                aws.apigatewayv2.Route,
                f"route-{route.label}",
                {
                    "api_id": self.api.id,
                    "route_key": route.key,
                    "target": integration.id.apply(lambda i: f"integrations/{i}"),
                    **self._http_authorization(route, authorizers),
                },
            )
            routes.append(route_resource)
            if route.function is not None:
                self._permit(route, source_arn(self.api.execution_arn, "*", route))
        self.stage = self._child(
            "stage",
            aws.apigatewayv2.Stage,
            "stage",
            {
                "api_id": self.api.id,
                "name": s.stage_name,
                "auto_deploy": True,
                **v2_stage_throttles(s.rate, s.burst, self.routes),
                "access_log_settings": {"destination_arn": self.access_logs.arn, "format": access_log_format("http")},
            },
            # route_settings name route keys: AWS refuses them until the routes exist.
            pulumi.ResourceOptions(depends_on=routes),
        )
        self.url = self.stage.invoke_url
        self.api_id = self.api.id
        self.execution_arn = self.api.execution_arn

    def _http_authorization(self, route: _Route, authorizers: dict[str, aws.apigatewayv2.Authorizer]) -> dict[str, Any]:
        auth = route.auth
        if auth is None:
            return {}
        if auth.type == "iam":
            return {"authorization_type": "AWS_IAM"}
        if auth.key not in authorizers:
            label = f"authorizer-{len(authorizers)}"
            authorizers[auth.key] = self._child(
                "route",
                aws.apigatewayv2.Authorizer,
                label,
                {
                    "api_id": self.api.id,
                    "name": label,
                    "authorizer_type": "JWT",
                    "identity_sources": [auth.identity_source],
                    "jwt_configuration": {"issuer": auth.issuer, "audiences": list(auth.audience)},
                },
            )
        args: dict[str, Any] = {"authorization_type": "JWT", "authorizer_id": authorizers[auth.key].id}
        if auth.scopes:
            args["authorization_scopes"] = list(auth.scopes)
        return args

    @staticmethod
    def _send_message_parameters(route: _Route, queue: aws.sqs.Queue) -> dict[str, Any]:
        """SQS SendMessage: the envelope, and a FIFO target's group and dedup ids."""
        parameters: dict[str, Any] = {
            "QueueUrl": queue.url,
            "MessageBody": http_envelope(route.key, route.path, route.headers, route.query),
        }
        group = route.group_id or route.tenant  # FIFO: the ordering group; standard: the tenant
        if group is not None:
            parameters["MessageGroupId"] = group.http()
        if route.dedup_id is not None:
            parameters["MessageDeduplicationId"] = route.dedup_id.http()
        return parameters

    def _http_integration_args(self, route: _Route) -> dict[str, Any]:
        base = {"api_id": self.api.id, "timeout_milliseconds": route.timeout_ms}
        if route.function is not None:
            return base | {
                "integration_type": "AWS_PROXY",
                "integration_uri": route.function.target_arn,
                "integration_method": "POST",
                "payload_format_version": "2.0",
            }
        queue = route.queue
        assert queue is not None and self.integration_role is not None
        return base | {
            "integration_type": "AWS_PROXY",
            "integration_subtype": "SQS-SendMessage",
            "credentials_arn": self.integration_role.arn,
            "payload_format_version": "1.0",
            "request_parameters": self._send_message_parameters(route, queue),
        }
