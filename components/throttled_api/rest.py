"""The REST flavour (API Gateway v1): resources, methods, integrations, deployment, stage,
method settings, CORS preflight, gateway responses, usage plans and WAF."""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any, ClassVar

import pulumi
import pulumi_aws as aws

from .. import defaults
from ..blocks import access_log_format
from .auth import Auth
from .common import slug
from .core import ApiCore, source_arn
from .envelope import rest_envelope_form, rest_envelope_json
from .routes import METHODS, _Route

# $context.error.messageString is already a quoted JSON string: it goes in bare. (The
# validation detail, $context.error.validationErrorString, is unquoted and holds quotes of its
# own, so it cannot be placed in JSON safely; clients get the message and the request id.)
ERROR_BODY = '{"message": $context.error.messageString, "requestId": "$context.requestId"}'
ACCEPTED = '{"accepted": true, "requestId": "$context.requestId"}'
# (status, selection pattern, body) per answer of a fire-and-forget route. The SQS integration
# selects by the backend's HTTP status: only 2xx is accepted; SQS refusals (AccessDenied, a
# message over 256 KiB, throttling: 4xx) and outages (5xx) are errors the 5XX alarm counts.
QUEUE_ANSWERS = (
    ("202", r"2\d{2}", ACCEPTED),
    (
        "502",
        r"4\d{2}",
        '{"accepted": false, "message": "the queue refused the message (access, size or throttling): it was '
        'not stored", "requestId": "$context.requestId"}',
    ),
    (
        "503",
        r"5\d{2}",
        '{"accepted": false, "message": "the queue is unavailable: the message was not stored, retry with '
        'backoff", "requestId": "$context.requestId"}',
    ),
)
# A Lambda (non-proxy) integration selects by the error message instead: a successful Event
# invocation has none and takes the default answer, so the default is 202 and any error message
# at all maps to 502. (Lambda service failures such as TooManyRequests never reach a mapping:
# API Gateway answers them 500 itself.)
ASYNC_ANSWERS = (
    ("202", "", ACCEPTED),
    (
        "502",
        r"(\n|.)+",
        '{"accepted": false, "message": "the function could not take the request: it was not queued", '
        '"requestId": "$context.requestId"}',
    ),
)


def _digest(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()[:16]


class RestFlavor(ApiCore):
    # What a REST deployment snapshots, by resource type. Each is recorded as it is created
    # (``_child`` calls ``_before_child``), so a resource added later cannot be left out of the
    # deployment's triggers: a stage keeps serving its old snapshot until the deployment is replaced.
    SNAPSHOT: ClassVar[dict[type[pulumi.Resource], str]] = {
        aws.apigateway.Resource: "methods",
        aws.apigateway.Method: "methods",
        aws.apigateway.Integration: "integrations",
        aws.apigateway.MethodResponse: "responses",
        aws.apigateway.IntegrationResponse: "responses",
        aws.apigateway.Response: "gateway_responses",
        aws.apigateway.Model: "models",
        aws.apigateway.RequestValidator: "models",
        aws.lambda_.Permission: "permissions",
        aws.apigateway.Authorizer: "authorizers",
    }
    _snapshots: dict[str, list[Any]]

    def _before_child(self, resource_cls: type, suffix: str, args: dict[str, Any]) -> None:
        kind = self.SNAPSHOT.get(resource_cls)
        if kind is not None and hasattr(self, "_snapshots"):
            self._snapshots.setdefault(kind, []).append({"name": suffix, **args})

    def _deployment_triggers(self) -> dict[str, Any]:
        """One digest per kind of snapshotted input; any change replaces the deployment."""
        s = self.settings
        triggers: dict[str, Any] = {
            "routes": s.fingerprint,
            "cors": _digest(s.cors),
            "queues": pulumi.Output.all(*[r.queue.arn for r in self.routes if r.queue is not None]).apply(_digest),
        }
        for kind, made in sorted(self._snapshots.items()):
            triggers[kind] = pulumi.Output.from_input(made).apply(_digest)
        return triggers

    def _create_rest(self) -> None:
        s = self.settings
        self._snapshots = {}
        self._authorizers: dict[str, aws.apigateway.Authorizer] = {}
        self.api = self._child(
            "api",
            aws.apigateway.RestApi,
            "api",
            {
                "name": self.physical("api"),
                "endpoint_configuration": {"types": "REGIONAL"},
            },
        )
        self.execution_logs = self._child(
            "execution_logs",
            aws.cloudwatch.LogGroup,
            "execution-logs",
            {
                "name": self.api.id.apply(lambda api_id: f"API-Gateway-Execution-Logs_{api_id}/{s.stage_name}"),
                "retention_in_days": s.log_retention_days,
            },
        )
        account = [s.account] if s.account is not None else []
        resources = self._rest_resources()
        validator = self._request_validator()
        deps: list[pulumi.Resource] = []
        for route in self.routes:
            deps += self._rest_route(route, resources, validator)
        deps += self._gateway_responses()
        if s.cors is not None:
            deps += self._rest_preflight(resources)
        # Before the deployment: a stage that serves a new integration before its permission
        # exists answers 500 "Invalid permissions on Lambda function".
        for route in self.routes:
            if route.function is not None:
                self._permit(route, source_arn(self.api.execution_arn, s.stage_name, route))
        deps += self.permissions
        self._rest_stage(deps, account)
        self.method_settings = self._rest_method_settings(account)
        self._usage_plans()
        if s.waf_rate_limit is not None:
            self._waf(s.waf_rate_limit)
        self.url = self.stage.invoke_url
        self.api_id = self.api.id
        self.execution_arn = self.api.execution_arn

    def _request_validator(self) -> aws.apigateway.RequestValidator | None:
        """One validator for the API, where a route has a body schema or required parameters."""
        if not any(r.body_schema is not None or r.required_params for r in self.routes):
            return None
        return self._child(
            "method",
            aws.apigateway.RequestValidator,
            "validator",
            {
                "rest_api": self.api.id,
                "name": "body-and-parameters",
                "validate_request_body": True,
                "validate_request_parameters": True,
            },
        )

    def _rest_stage(self, deps: list[pulumi.Resource], account: list[pulumi.Resource]) -> None:
        """The deployment (after every snapshotted resource in ``deps``) and the stage serving it."""
        s = self.settings
        self.deployment = self._child(
            "deployment",
            aws.apigateway.Deployment,
            "deployment",
            {"rest_api": self.api.id, "triggers": self._deployment_triggers()},
            pulumi.ResourceOptions(depends_on=deps),
        )
        self.stage = self._child(
            "stage",
            aws.apigateway.Stage,
            "stage",
            {
                "rest_api": self.api.id,
                "deployment": self.deployment.id,
                "stage_name": s.stage_name,
                "xray_tracing_enabled": s.tracing,
                "access_log_settings": {"destination_arn": self.access_logs.arn, "format": access_log_format("rest")},
            },
            # Access logging needs the region's CloudWatch role first (BadRequestException otherwise).
            pulumi.ResourceOptions(depends_on=[self.execution_logs, *account]),
        )

    def _rest_method_settings(self, account: list[pulumi.Resource]) -> list[aws.apigateway.MethodSettings]:
        """The stage's throttle on ``*/*``, then each route's own (method-level logging, like
        access logging, needs the region's CloudWatch role first)."""
        s = self.settings
        rows = [("stage-settings", "*/*", s.rate, s.burst)]
        rows += [(f"settings-{r.label}", r.method_path, r.rate, r.burst) for r in self.routes]
        made = []
        for suffix, method_path, rate, burst in rows:
            settings: dict[str, Any] = {
                "throttling_rate_limit": rate,
                "throttling_burst_limit": burst,
                "logging_level": "ERROR",
                "metrics_enabled": True,
            }
            if method_path == "*/*":
                settings["data_trace_enabled"] = False
            made.append(
                self._child(
                    "method_settings",
                    aws.apigateway.MethodSettings,
                    suffix,
                    {
                        "rest_api": self.api.id,
                        "stage_name": self.stage.stage_name,
                        "method_path": method_path,
                        "settings": settings,
                    },
                    pulumi.ResourceOptions(depends_on=account),
                )
            )
        return made

    def _rest_resources(self) -> dict[str, pulumi.Output[str]]:
        """One API Gateway resource per path prefix; ``{"/": root id, "/orders": id, ...}``."""
        ids: dict[str, pulumi.Output[str]] = {"/": self.api.root_resource_id}
        for route in self.routes:
            parent = "/"
            for part in route.path.strip("/").split("/") if route.path != "/" else []:
                path = f"{parent.rstrip('/')}/{part}"
                if path not in ids:
                    label = slug(path)
                    resource = self._child(
                        "method",
                        aws.apigateway.Resource,
                        f"path-{label}",
                        {
                            "rest_api": self.api.id,
                            "parent_id": ids[parent],
                            "path_part": part,
                        },
                    )
                    ids[path] = resource.id
                parent = path
        return ids

    def _rest_route(
        self, route: _Route, resources: dict[str, pulumi.Output[str]], validator: aws.apigateway.RequestValidator | None
    ) -> list[pulumi.Resource]:
        method_args: dict[str, Any] = {
            "rest_api": self.api.id,
            "resource_id": resources[route.path],
            "http_method": route.method,
            "authorization": "NONE",
            "api_key_required": bool(self.settings.usage_plans),
        }
        if route.auth is not None:
            method_args |= self._rest_authorization(route)
        params = {f"method.request.path.{v}": True for v in re.findall(r"\{([A-Za-z0-9_]+)\+?\}", route.path)}
        params |= {f"method.request.{p}": True for p in route.required_params}
        if params:
            method_args["request_parameters"] = params
        if validator is not None and (route.body_schema is not None or route.required_params):
            method_args["request_validator_id"] = validator.id
        if route.body_schema is not None:
            model = self._child(
                "method",
                aws.apigateway.Model,
                f"model-{route.label}",
                {
                    "rest_api": self.api.id,
                    "name": re.sub(r"[^A-Za-z0-9]", "", route.label.title()) + "Body",
                    "content_type": "application/json",
                    "schema": json.dumps(route.body_schema, sort_keys=True),
                },
            )
            method_args["request_models"] = {"application/json": model.name}
        method = self._child("method", aws.apigateway.Method, f"method-{route.label}", method_args)
        integration = self._child(
            "integration",
            aws.apigateway.Integration,
            f"integration-{route.label}",
            self._rest_integration_args(route, method),
            pulumi.ResourceOptions(depends_on=[method]),
        )
        made: list[pulumi.Resource] = [method, integration]
        if route.mode in ("async", "queue"):
            made += self._rest_answers(route, method, integration)
        return made

    def _rest_authorization(self, route: _Route) -> dict[str, Any]:
        auth = route.auth
        assert auth is not None
        if auth.type == "iam":
            return {"authorization": "AWS_IAM"}
        authorizer = self._rest_authorizer(auth)
        args: dict[str, Any] = {
            "authorization": "COGNITO_USER_POOLS" if auth.type == "cognito" else "CUSTOM",
            "authorizer_id": authorizer.id,
        }
        if auth.scopes:
            args["authorization_scopes"] = list(auth.scopes)
        return args

    def _rest_authorizer(self, auth: Auth) -> aws.apigateway.Authorizer:
        """One authorizer per configuration, shared by the routes that name it."""
        if auth.key in self._authorizers:
            return self._authorizers[auth.key]
        label = f"authorizer-{len(self._authorizers)}"
        args: dict[str, Any] = {
            "rest_api": self.api.id,
            "name": label,
            "authorizer_result_ttl_in_seconds": auth.cache_ttl_s,
        }
        if auth.type == "cognito":
            args |= {"type": "COGNITO_USER_POOLS", "provider_arns": list(auth.user_pool_arns)}
        else:
            fn = auth.function
            assert fn is not None
            args |= {"type": "TOKEN", "authorizer_uri": fn.invoke_arn, "identity_source": auth.identity_source}
        authorizer = self._child("method", aws.apigateway.Authorizer, label, args)
        if auth.function is not None:
            permit: dict[str, Any] = {
                "action": "lambda:InvokeFunction",
                "function": auth.function.function.name,
                "principal": "apigateway.amazonaws.com",
                "source_arn": pulumi.Output.all(self.api.execution_arn, authorizer.id).apply(
                    lambda v: f"{v[0]}/authorizers/{v[1]}"
                ),
            }
            if auth.function.alias is not None:
                permit["qualifier"] = auth.function.alias.name
            self.permissions.append(self._child("permission", aws.lambda_.Permission, f"invoke-{label}", permit))
        self._authorizers[auth.key] = authorizer
        return authorizer

    def _rest_answers(
        self, route: _Route, method: aws.apigateway.Method, integration: aws.apigateway.Integration
    ) -> list[pulumi.Resource]:
        """The answers of a fire-and-forget route: 202 only when the backend accepted the work."""
        cors = self._cors_headers() if self.settings.cors is not None else {}
        origin = {k: v for k, v in cors.items() if k == "Access-Control-Allow-Origin"}
        where = {"rest_api": self.api.id, "resource_id": method.resource_id, "http_method": method.http_method}
        made: list[pulumi.Resource] = []
        for status, pattern, body in QUEUE_ANSWERS if route.mode == "queue" else ASYNC_ANSWERS:
            response = self._child(
                "integration",
                aws.apigateway.MethodResponse,
                f"response-{route.label}" if status == "202" else f"response-{status}-{route.label}",
                {
                    **where,
                    "status_code": status,
                    "response_parameters": {f"method.response.header.{h}": True for h in origin},
                },
            )
            answer = self._child(
                "integration",
                aws.apigateway.IntegrationResponse,
                f"accepted-{route.label}" if status == "202" else f"failed-{status}-{route.label}",
                {
                    **where,
                    "status_code": status,
                    "selection_pattern": pattern,
                    "response_parameters": {f"method.response.header.{h}": v for h, v in origin.items()},
                    "response_templates": {"application/json": body},
                },
                pulumi.ResourceOptions(depends_on=[integration, response]),
            )
            made += [response, answer]
        return made

    def _rest_integration_args(self, route: _Route, method: aws.apigateway.Method) -> dict[str, Any]:
        base = {
            "rest_api": self.api.id,
            "resource_id": method.resource_id,
            "http_method": method.http_method,
            "integration_http_method": "POST",
            "timeout_milliseconds": route.timeout_ms,
        }
        if route.function is not None and route.mode == "sync":
            return base | {"type": "AWS_PROXY", "uri": route.function.invoke_arn}
        if route.function is not None:
            # Lambda's Invoke API with InvocationType=Event: 202 at once, the async config takes over.
            return base | {
                "type": "AWS",
                "uri": route.function.invoke_arn,
                "passthrough_behavior": "WHEN_NO_TEMPLATES",
                "request_parameters": {"integration.request.header.X-Amz-Invocation-Type": "'Event'"},
                # The event is the envelope: the path, query and headers mean as much as the body.
                "request_templates": {"application/json": rest_envelope_json(route.key, route.headers)},
            }
        queue = route.queue
        assert queue is not None and self.integration_role is not None
        identity = aws.get_caller_identity_output(opts=pulumi.InvokeOutputOptions(parent=self))
        region = aws.get_region_output(opts=pulumi.InvokeOutputOptions(parent=self))
        partition = aws.get_partition_output(opts=pulumi.InvokeOutputOptions(parent=self))
        uri = pulumi.Output.all(partition.partition, region.region, identity.account_id, queue.name).apply(
            lambda v: f"arn:{v[0]}:apigateway:{v[1]}:sqs:path/{v[2]}/{v[3]}"
        )
        return base | {
            "type": "AWS",
            "uri": uri,
            "credentials": self.integration_role.arn,
            "passthrough_behavior": "NEVER",
            "request_parameters": {"integration.request.header.Content-Type": "'application/x-www-form-urlencoded'"},
            "request_templates": {"application/json": self._send_message_template(route)},
        }

    @staticmethod
    def _send_message_template(route: _Route) -> str:
        """SQS SendMessage as a form: the envelope, and a FIFO target's group and dedup ids."""
        form = "Action=SendMessage"
        group = route.group_id or route.tenant  # FIFO: the ordering group; standard: the tenant
        if group is not None:
            form += f"&MessageGroupId=$util.urlEncode({group.rest()})"
        if route.dedup_id is not None:
            form += f"&MessageDeduplicationId=$util.urlEncode({route.dedup_id.rest()})"
        return f"{form}&MessageBody={rest_envelope_form(route.key, route.headers)}"

    def _cors_headers(self) -> dict[str, str]:
        cors = self.settings.cors or {}
        methods = ",".join(cors.get("allow_methods") or ["OPTIONS", *METHODS[:-1]])
        headers = ",".join(cors.get("allow_headers") or ["Content-Type", "X-Api-Key"])
        return {
            "Access-Control-Allow-Origin": f"'{next(iter(cors.get('allow_origins') or ['*']))}'",
            "Access-Control-Allow-Methods": f"'{methods}'",
            "Access-Control-Allow-Headers": f"'{headers}'",
            "Access-Control-Max-Age": f"'{cors.get('max_age', 600)}'",
        }

    def _rest_preflight(self, resources: dict[str, pulumi.Output[str]]) -> list[pulumi.Resource]:
        """OPTIONS on every routed path, answered by API Gateway itself (MOCK): no invocation."""
        made: list[pulumi.Resource] = []
        headers = self._cors_headers()
        for path in sorted({r.path for r in self.routes}):
            label = slug(path)
            method = self._child(
                "method",
                aws.apigateway.Method,
                f"preflight-{label}",
                {
                    "rest_api": self.api.id,
                    "resource_id": resources[path],
                    "http_method": "OPTIONS",
                    "authorization": "NONE",
                    "api_key_required": False,
                },
            )
            where = {"rest_api": self.api.id, "resource_id": method.resource_id, "http_method": method.http_method}
            integration = self._child(
                "integration",
                aws.apigateway.Integration,
                f"preflight-{label}",
                {
                    **where,
                    "type": "MOCK",
                    "request_templates": {"application/json": '{"statusCode": 200}'},
                },
            )
            response = self._child(
                "integration",
                aws.apigateway.MethodResponse,
                f"preflight-response-{label}",
                {
                    **where,
                    "status_code": "200",
                    "response_parameters": {f"method.response.header.{h}": True for h in headers},
                },
            )
            answer = self._child(
                "integration",
                aws.apigateway.IntegrationResponse,
                f"preflight-answer-{label}",
                {
                    **where,
                    "status_code": "200",
                    "response_parameters": {f"method.response.header.{h}": v for h, v in headers.items()},
                },
                pulumi.ResourceOptions(depends_on=[integration, response]),
            )
            made += [method, integration, response, answer]
        return made

    def _gateway_responses(self) -> list[pulumi.Resource]:
        """JSON bodies clients can parse: the message and request id; when to retry after a throttle."""
        responses = {
            "BAD_REQUEST_BODY": ("400", ERROR_BODY, {}),
            "BAD_REQUEST_PARAMETERS": ("400", ERROR_BODY, {}),
            "THROTTLED": (
                "429",
                '{"message": "too many requests, retry with backoff", "requestId": "$context.requestId"}',
                {"gatewayresponse.header.Retry-After": "'1'"},
            ),
            # Every other gateway error as JSON with the request id (the default is not JSON).
            "DEFAULT_4XX": ("", ERROR_BODY, {}),
            "DEFAULT_5XX": ("", ERROR_BODY, {}),
        }
        origin: dict[str, str] = {}
        if self.settings.cors is not None:
            # Browsers can read an error only when it carries the origin header too.
            origin = {
                "gatewayresponse.header.Access-Control-Allow-Origin": self._cors_headers()[
                    "Access-Control-Allow-Origin"
                ]
            }
        made: list[pulumi.Resource] = []
        for kind, (status, body, headers) in responses.items():
            args: dict[str, Any] = {
                "rest_api_id": self.api.id,
                "response_type": kind,
                "response_templates": {"application/json": body},
                "response_parameters": headers | origin,
            }
            if status:
                args["status_code"] = status
            made.append(self._child("gateway_response", aws.apigateway.Response, f"response-{kind.lower()}", args))
        return made

    def _usage_plans(self) -> None:
        for client, plan in self.settings.usage_plans.items():
            plan_args: dict[str, Any] = {
                "name": self.physical("api", client),
                "api_stages": [{"api_id": self.api.id, "stage": self.stage.stage_name}],
                "throttle_settings": {
                    "rate_limit": plan.get("rate", defaults.API_THROTTLE_RATE),
                    "burst_limit": plan.get("burst", defaults.API_THROTTLE_BURST),
                },
            }
            if "quota" in plan:
                plan_args["quota_settings"] = {"limit": plan["quota"]["limit"], "period": plan["quota"]["period"]}
            usage_plan = self._child("usage_plan", aws.apigateway.UsagePlan, f"plan-{client}", plan_args)
            key = self._child(
                "api_key",
                aws.apigateway.ApiKey,
                f"key-{client}",
                {"name": self.physical("api", client), "enabled": True},
            )
            self._child(
                "usage_plan",
                aws.apigateway.UsagePlanKey,
                f"plan-key-{client}",
                {"key_id": key.id, "key_type": "API_KEY", "usage_plan_id": usage_plan.id},
            )
            self.usage_plan_ids[client] = usage_plan.id
            self.api_keys[client] = pulumi.Output.secret(key.value)

    def _waf(self, limit: int) -> None:
        metric = self.physical("dashboard", "waf")
        self.web_acl = self._child(
            "waf",
            aws.wafv2.WebAcl,
            "waf",
            {
                "name": self.physical("api", "waf"),
                "scope": "REGIONAL",
                "default_action": {"allow": {}},
                "rules": [
                    {
                        "name": "rate-per-ip",
                        "priority": 0,
                        "action": {"block": {}},
                        "statement": {"rate_based_statement": {"limit": limit, "aggregate_key_type": "IP"}},
                        "visibility_config": {
                            "cloudwatch_metrics_enabled": True,
                            "metric_name": f"{metric}-rate-per-ip",
                            "sampled_requests_enabled": True,
                        },
                    }
                ],
                "visibility_config": {
                    "cloudwatch_metrics_enabled": True,
                    "metric_name": metric,
                    "sampled_requests_enabled": True,
                },
            },
        )
        self._child(
            "waf",
            aws.wafv2.WebAclAssociation,
            "waf-association",
            {"resource_arn": self.stage.arn, "web_acl_arn": self.web_acl.arn},
        )
