"""The WebSocketNotifier component: the connection table, the WebSocket API, its routes, stage,
functions, alarms, and the PushChannel methods AsyncJobWorkflow calls."""

from __future__ import annotations

import hashlib
import json
from typing import Any, ClassVar

import pulumi
import pulumi_aws as aws

from .. import defaults
from ..base import ResilientComponent
from ..blocks import AlarmSpec, access_log_format, access_log_group, api_gateway_alarms
from ..grants import policy_json
from ..resilient_function import ResilientFunction

# Shared with ThrottledApi (the same checks and log fields for every flavour of the front door).
from ..throttled_api.common import v2_stage_throttles
from ..validation import ConfigError
from .args import ANSWERING_ROUTES, HANDLERS, WebSocketNotifierArgs
from .push import NO_JOB_TABLE, NOTIFY_TASK_MARGIN_S, PUSHED_STATUSES, push_states
from .validation import _Route, _validate


def websocket_access_log_format() -> str:
    """ThrottledApi's v2 fields plus what identifies a socket: the connection and the event."""
    return access_log_format("websocket")


class WebSocketNotifier(ResilientComponent):
    """API Gateway WebSocket API, connection registry and push of job results."""

    TRANSFORM_KEYS: ClassVar[tuple[str, ...]] = (
        "api",
        "route",
        "route_response",
        "integration",
        "deployment",
        "stage",
        "access_logs",
        "permission",
        "table",
        "policy",
        "alarm",
    )

    url: pulumi.Output[str]
    """The ``wss://`` URL clients connect to (stage included)."""
    connections_url: pulumi.Output[str]
    """The ``https://`` management endpoint (``@connections``) of the stage."""
    api_id: pulumi.Output[str]
    connection_table_name: pulumi.Output[str]

    def __init__(self, name: str, args: WebSocketNotifierArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        settings = _validate(name, args, self.check_transform_keys)
        super().__init__(name, tags=args.get("tags"), transform=args.get("transform"), opts=opts)
        self.settings = settings
        self.stage_name = settings.stage_name
        self.routes = settings.routes
        self._jobs_table_name: pulumi.Input[str] | None = None
        self._jobs_table_read = False
        self._result_grants = 0
        self._partition = aws.get_partition_output(opts=pulumi.InvokeOutputOptions(parent=self)).partition

        self.table = self._create_table()
        self.access_logs = access_log_group(self, settings.log_retention_days)
        self.api = self._child(
            "api",
            aws.apigatewayv2.Api,
            "api",
            {
                "name": self.physical("api"),
                "protocol_type": "WEBSOCKET",
                "route_selection_expression": "$request.body.action",
            },
        )
        self.api_id = self.api.id
        self.url = pulumi.Output.concat(self.api.api_endpoint, "/", settings.stage_name)
        self.connections_url = self.url.apply(lambda u: "https://" + u.split("://", 1)[1])
        self.functions = self._create_functions()
        self.route_resources = self._create_routes()
        self.stage = self._create_stage()
        self.manage_connections_arn = pulumi.Output.concat(
            self.api.execution_arn, "/", settings.stage_name, "/POST/@connections/*"
        )
        self._create_policies()
        self.alarms = self._create_alarms()
        self.connection_table_name = self.table.name
        self.register_outputs(
            {
                "url": self.url,
                "connections_url": self.connections_url,
                "api_id": self.api_id,
                "stage_name": settings.stage_name,
                "connection_table": self.table.name,
                "stage_throttle": {"rate": settings.rate, "burst": settings.burst},
                "routes": [r.summary(settings.connect_auth, settings.integration_timeout_ms) for r in settings.routes],
                "connect_quota": settings.connect_quota(),
                "push": {
                    "pattern": "request_response",
                    "after": "the terminal status is recorded",
                    "notify_task_timeout_s": settings.function_timeout + NOTIFY_TASK_MARGIN_S,
                },
                "delivery": {
                    "inline_max_bytes": settings.inline_max_bytes,
                    "result_url_ttl_s": settings.result_url_ttl_s,
                    "notify_concurrency": settings.notify_concurrency,
                },
            }
        )

    # -- create steps ------------------------------------------------------------------------------
    def _create_table(self) -> aws.dynamodb.Table:
        return self._child(
            "table",
            aws.dynamodb.Table,
            "connections",
            {
                "name": self.physical("dynamodb", "connections"),
                "billing_mode": "PAY_PER_REQUEST",
                "hash_key": "connection_id",
                # Who to notify lives on the job item (read consistently after the status write);
                # this table holds connections and token claims only.
                "attributes": [{"name": "connection_id", "type": "S"}],
                "ttl": {"attribute_name": "expires_at", "enabled": True},
                "server_side_encryption": {"enabled": True},
            },
        )

    def _jobs_table_env(self) -> pulumi.Output[str]:
        """The job table's name, known once ``bind_jobs`` ran: resolved after the program body, so
        AsyncJobWorkflow may bind it after this constructor returns; ``NO_JOB_TABLE`` when none did."""

        def read(_: Any) -> pulumi.Input[str]:
            self._jobs_table_read = True
            return self._jobs_table_name if self._jobs_table_name is not None else NO_JOB_TABLE

        return pulumi.Output.from_input("").apply(read)

    def _create_functions(self) -> dict[str, ResilientFunction]:
        s = self.settings
        common = {k: v for k, v in s.function.items() if k != "environment"}
        extra_env = dict(s.function.get("environment") or {})
        env: dict[str, dict[str, pulumi.Input[str]]] = {
            "socket": {
                "CONNECTIONS_TABLE": self.table.name,
                "PUSH_CONNECT_AUTH": s.connect_auth,
                # a subscriber that comes after the job ended gets the result in the answer
                "PUSH_INLINE_MAX_BYTES": str(s.inline_max_bytes),
                "PUSH_RESULT_URL_TTL_S": str(s.result_url_ttl_s),
            },
            "notify": {
                "CONNECTIONS_TABLE": self.table.name,
                "PUSH_ENDPOINT": self.url.apply(lambda u: "https://" + u.split("://", 1)[1]),
                "PUSH_INLINE_MAX_BYTES": str(s.inline_max_bytes),
                "PUSH_RESULT_URL_TTL_S": str(s.result_url_ttl_s),
                "PUSH_NOTIFY_CONCURRENCY": str(s.notify_concurrency),
            },
        }
        functions = {}
        for role, handler in HANDLERS.items():
            functions[role] = ResilientFunction(
                f"{self._name}-{role}",
                {  # type: ignore[arg-type]
                    **common,
                    "handler": handler,
                    "code": s.code,
                    "invocation": "sync",
                    "alarm_topic_arn": s.alarm_topic_arn,
                    "environment": {**extra_env, **env[role], "JOBS_TABLE": self._jobs_table_env()},
                },
                pulumi.ResourceOptions(parent=self),
            )
        table_actions = {
            "socket": ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"],
            "notify": ["dynamodb:DeleteItem"],
        }
        for role, actions in table_actions.items():
            functions[role].grants.allow("connections", actions, [self.table.arn])
        return functions

    def _create_routes(self) -> dict[str, aws.apigatewayv2.Route]:
        s = self.settings
        socket = self.functions["socket"]
        integration = self._child(
            "integration",
            aws.apigatewayv2.Integration,
            "integration-socket",
            {
                "api_id": self.api.id,
                "integration_type": "AWS_PROXY",
                "integration_method": "POST",
                "integration_uri": socket.invoke_arn,
                "timeout_milliseconds": s.integration_timeout_ms,
            },
        )
        self.integration = integration
        routes: dict[str, aws.apigatewayv2.Route] = {}
        self.route_responses: list[aws.apigatewayv2.RouteResponse] = []
        self.permissions: list[aws.lambda_.Permission] = []
        for route in s.routes:
            args: dict[str, Any] = {
                "api_id": self.api.id,
                "route_key": route.key,
                "target": integration.id.apply(lambda i: f"integrations/{i}"),
            }
            if route.key == "$connect":
                args["authorization_type"] = {"iam": "AWS_IAM", "authorizer": "CUSTOM"}.get(s.connect_auth, "NONE")
                if s.connect_auth == "authorizer":
                    args["authorizer_id"] = self._create_authorizer().id
                if s.connect_auth == "token":
                    # API Gateway refuses a connect without them before any invocation.
                    args["request_parameters"] = [
                        {"request_parameter_key": f"route.request.querystring.{q}", "required": True}
                        for q in ("job_id", "token")
                    ]
            if route.key in ANSWERING_ROUTES:
                args["route_response_selection_expression"] = "$default"
            routes[route.key] = self._child("route", aws.apigatewayv2.Route, f"route-{route.label}", args)
            if route.key in ANSWERING_ROUTES:
                self.route_responses.append(
                    self._child(
                        "route_response",
                        aws.apigatewayv2.RouteResponse,
                        f"route-response-{route.label}",
                        {"api_id": self.api.id, "route_id": routes[route.key].id, "route_response_key": "$default"},
                    )
                )
            self.permissions.append(self._permit(socket, route))
        return routes

    def _create_authorizer(self) -> aws.apigatewayv2.Authorizer:
        s = self.settings
        assert s.authorizer is not None
        self.authorizer = self._child(
            "route",
            aws.apigatewayv2.Authorizer,
            "authorizer",
            {
                "api_id": self.api.id,
                "name": self.physical("api", "authorizer"),
                "authorizer_type": "REQUEST",
                "authorizer_uri": s.authorizer.invoke_arn,
                "identity_sources": list(s.identity_sources),
            },
        )
        args: dict[str, Any] = {
            "action": "lambda:InvokeFunction",
            "function": s.authorizer.function.name,
            "principal": "apigateway.amazonaws.com",
            # This API's one authorizer: arn:...:execute-api:<region>:<account>:<api>/authorizers/<id>.
            "source_arn": pulumi.Output.concat(self.api.execution_arn, "/authorizers/", self.authorizer.id),
        }
        if s.authorizer.alias is not None:
            args["qualifier"] = s.authorizer.alias.name
        self.permissions.append(self._child("permission", aws.lambda_.Permission, "invoke-authorizer", args))
        return self.authorizer

    def _permit(self, function: ResilientFunction, route: _Route) -> aws.lambda_.Permission:
        args: dict[str, Any] = {
            "action": "lambda:InvokeFunction",
            "function": function.function.name,
            "principal": "apigateway.amazonaws.com",
            # One API, stage and route: arn:...:execute-api:<region>:<account>:<api>/<stage>/<route key>.
            "source_arn": pulumi.Output.concat(self.api.execution_arn, "/", self.settings.stage_name, "/", route.key),
        }
        if function.alias is not None:
            args["qualifier"] = function.alias.name
        return self._child("permission", aws.lambda_.Permission, f"invoke-{route.label}", args)

    def _create_stage(self) -> aws.apigatewayv2.Stage:
        s = self.settings
        routes = list(self.route_resources.values())
        fingerprint = hashlib.sha256(
            json.dumps([[r.key, s.connect_auth, s.integration_timeout_ms] for r in s.routes], sort_keys=True).encode()
        ).hexdigest()[:16]
        # A WebSocket stage has no auto-deploy: a deployment snapshots the routes, so it waits for
        # every route, integration and route response, and is replaced when they change.
        self.deployment = self._child(
            "deployment",
            aws.apigatewayv2.Deployment,
            "deployment",
            {"api_id": self.api.id, "triggers": {"routes": fingerprint}},
            pulumi.ResourceOptions(depends_on=[*routes, self.integration, *self.route_responses]),
        )
        # route_settings name route keys that must exist (else NotFoundException on create).
        depends: list[pulumi.Resource] = [*routes, *self.permissions]
        if s.gateway_account is not None:
            depends.append(s.gateway_account)
        return self._child(
            "stage",
            aws.apigatewayv2.Stage,
            "stage",
            {
                "api_id": self.api.id,
                "name": s.stage_name,
                "deployment_id": self.deployment.id,
                **v2_stage_throttles(s.rate, s.burst, s.routes),
                "access_log_settings": {
                    "destination_arn": self.access_logs.arn,
                    "format": websocket_access_log_format(),
                },
            },
            pulumi.ResourceOptions(depends_on=depends),
        )

    def _create_policies(self) -> None:
        """Rights that are not a table grant: post to this stage's connections."""
        notify = self.functions["notify"]
        self.manage_connections_policy = self._child(
            "policy",
            aws.iam.RolePolicy,
            "notify-manage-connections",
            {
                "role": notify.role.id,
                "policy": policy_json(
                    [
                        {
                            "Effect": "Allow",
                            "Action": ["execute-api:ManageConnections"],
                            "Resource": [self.manage_connections_arn],
                        }
                    ]
                ),
            },
        )

    def _create_alarms(self) -> dict[str, pulumi.Resource]:
        s = self.settings
        dims = {"ApiId": self.api.id, "Stage": s.stage_name}
        share = defaults.WS_RATE_ALARM_SHARE
        connect = next(r for r in s.routes if r.key == "$connect")
        period = defaults.ALARM_PERIOD_S
        specs = [
            AlarmSpec(
                "integration-errors", "IntegrationError", "Sum", 0, "The socket function failed to answer a route"
            ),
            AlarmSpec("execution-errors", "ExecutionError", "Sum", 0, "API Gateway failed to run a route"),
            AlarmSpec(
                "connect-rate",
                "ConnectCount",
                "Sum",
                round(connect.rate * period * share),
                f"New connections above {share:.0%} of the $connect throttle ({connect.rate}/s; account quota "
                f"{defaults.WS_ACCOUNT_CONNECT_QUOTA}/s)",
            ),
            AlarmSpec(
                "message-rate",
                "MessageCount",
                "Sum",
                round(s.rate * period * share),
                f"Messages above {share:.0%} of the stage throttle ({s.rate}/s)",
            ),
        ]
        alarms = api_gateway_alarms(self, s.alarm_topic_arn, dims, specs)
        # notify's EMF metric (Powertools: the function's namespace, dimension "service"): a result
        # that reached no subscriber after retries; the job still falls back to polling.
        notify = self.functions["notify"].settings
        alarms["push-failed"] = self._alarm(
            "push-failed",
            s.alarm_topic_arn,
            namespace=notify.metrics_namespace,
            metric_name="PushFailed",
            dimensions={"service": notify.service_name},
            statistic="Sum",
            threshold=0,
            alarm_description="Posts to subscribers failed after retries (throttled or erroring management API)",
        )
        return alarms

    # -- PushChannel (AsyncJobWorkflow) ---------------------------------------------------------------
    def bind_jobs(self, table_name: pulumi.Input[str], table_arn: pulumi.Input[str]) -> None:
        """Give the functions read and update access to the job table, and its name (``JOBS_TABLE``).

        One notifier serves one job table: binding a second, different one is a ``ConfigError``
        (its subscribers' tokens would be checked against the wrong jobs). Binding the same table
        again does nothing."""
        if self._jobs_table_name is not None:
            if table_name is self._jobs_table_name:
                return
            raise ConfigError(
                f"WebSocketNotifier {self._name!r}",
                [
                    "is already bound to a job table: one notifier serves one AsyncJobWorkflow (give each "
                    "workflow its own WebSocketNotifier)"
                ],
            )
        if self._jobs_table_read:
            raise ConfigError(
                f"WebSocketNotifier {self._name!r}",
                ["bind_jobs must be called while the program runs, before the notifier's outputs resolve"],
            )
        self._jobs_table_name = table_name
        for function in self.functions.values():
            function.grants.allow("jobs", ["dynamodb:GetItem", "dynamodb:UpdateItem"], [table_arn])

    @property
    def jobs_bound(self) -> bool:
        """True once a workflow bound its job table (``bind_jobs``)."""
        return self._jobs_table_name is not None

    def read_results(self, bucket_arn: pulumi.Input[str], prefix: str = "") -> None:
        """Let notify and the socket function (a subscriber after the end is answered at once) read
        results under ``prefix`` in the bucket and pre-sign URLs to them."""
        resource = pulumi.Output.concat(bucket_arn, "/", prefix, "*")
        self._result_grants += 1
        label = "results" if self._result_grants == 1 else f"results-{self._result_grants}"
        for role in ("socket", "notify"):
            self.functions[role].grants.allow(label, ["s3:GetObject"], [resource])

    def workflow_states(self, *, status: str, entry: str, next_state: str, fallback_state: str) -> dict[str, Any]:
        """ASL states for AsyncJobWorkflow, entered at ``entry`` once ``status`` is recorded; see
        ``push_states``."""
        if status not in PUSHED_STATUSES:
            raise ConfigError(
                f"WebSocketNotifier {self._name!r}",
                [f"status={status!r} is not one of {', '.join(repr(s) for s in PUSHED_STATUSES)}"],
            )
        return push_states(
            notify_function=self.functions["notify"].target_arn,
            partition=self._partition,
            notify_timeout_s=self.settings.function_timeout,
            status=status,
            entry=entry,
            next_state=next_state,
            fallback_state=fallback_state,
        )

    def state_machine_statements(self) -> list[dict[str, Any]]:
        """What the state machine's role needs to run ``workflow_states``: invoke notify."""
        arn = self.functions["notify"].function_arn
        resources = [arn, pulumi.Output.concat(arn, ":*")]
        return [{"Effect": "Allow", "Action": ["lambda:InvokeFunction"], "Resource": resources}]
