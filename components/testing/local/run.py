"""``run_locally``: a program's graph running on one machine, every event source wired as the
graph says, every handler in its own execution environment."""

from __future__ import annotations

import contextlib
import os
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..capture import Graph, load_project, run_stack
from ..mocks import AwsMocks
from .apis import Api, Caller, Request, Response, _json_response, apis_of
from .backend import NOT_EMULATED, Backend, provision, start_backend
from .clock import Clock
from .common import dumps, function_arn
from .executions import executions_of, refusals, watch_executions
from .fairness import install_fair_queues
from .functions import Functions, Hold, Invocation, TooManyRequests, Zygote
from .hooks import hook_moto
from .http_api import http_integration
from .packages import code_path, function_specs
from .queued import (
    AsyncConfig,
    AsyncInvoke,
    Mapping_,
    async_configs_of,
    mappings_of,
    next_wakeup,
    poll_mappings,
    run_async,
)
from .receiver import WebhookReceiver, start_receiver
from .websocket import WebSocket

__all__ = ["LocalRun", "capture_stack", "run_locally"]

# API Gateway's payload quota (REST and HTTP APIs): 10 MB.
API_PAYLOAD_MAX_BYTES = 10 * 1024 * 1024
_ACTIVE: list[LocalRun] = []  # at most one: moto's backends and the hooks are process-wide


@dataclass
class LocalRun:
    """The running stack. ``request`` calls its APIs, ``settle`` delivers queued work, ``clock``
    moves time, ``client`` reaches the local AWS backend, ``outputs`` are the stack exports."""

    graph: Graph
    backend: Backend
    functions: Functions
    apis: list[Api]
    clock: Clock
    not_running: dict[str, str]
    mappings: list[Mapping_] = field(default_factory=list)
    async_config: dict[str, AsyncConfig] = field(default_factory=dict)
    pending_async: list[AsyncInvoke] = field(default_factory=list)
    dead_async: list[dict[str, Any]] = field(default_factory=list)
    refused: dict[str, str] = field(default_factory=dict)  # urn -> why AWS would refuse to create it
    connections: dict[str, WebSocket] = field(default_factory=dict)
    dropped_events: list[dict[str, Any]] = field(default_factory=list)  # EventBridge: no target took them
    _execution_status: dict[str, str] = field(default_factory=dict)
    _machine_types: dict[str, str] = field(default_factory=dict)
    _parked: list[Any] = field(default_factory=list)  # callback endpoints of task-token waits in progress
    _parked_lock: threading.Lock = field(default_factory=threading.Lock)
    receivers: list[WebhookReceiver] = field(default_factory=list)
    deadlines: dict[int, float] = field(default_factory=dict)  # running executions' timeouts, run's clock

    # -- what the program exported --------------------------------------------------------------
    @property
    def outputs(self) -> dict[str, Any]:
        return dict(self.graph.exports)

    @property
    def invocations(self) -> list[Invocation]:
        return self.functions.invocations

    def client(self, service: str, *, role_arn: str | None = None) -> Any:
        """A boto3 client on the local backend: as the runner (allowed everything), or with the
        temporary credentials of ``role_arn`` (allowed what that role's policies allow)."""
        if role_arn is None:
            return self.backend.client(service)
        return self.backend.client(service, **self.backend.credentials_of(role_arn))

    def log_of(self, function: str) -> str:
        """Everything a function's environments printed (its logger's JSON lines, tracebacks)."""
        return self.functions.log_of(function)

    # -- API Gateway ------------------------------------------------------------------------------
    def _api(self, name: str | None) -> Api:
        if name is None:
            if len(self.apis) != 1:
                raise ValueError(
                    f"api= is needed: the program has {len(self.apis)} APIs: {[a.name for a in self.apis]}"
                )
            return self.apis[0]
        for api in self.apis:
            if name in (api.name, api.api.name, api.api.outputs.get("id")):
                return api
        raise ValueError(f"no API {name!r}; APIs: {[a.name for a in self.apis]}")

    def request(  # noqa: PLR0917 - the signature of requests and of the brief's API
        self,
        method: str,
        path: str,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
        caller: Caller = None,
        api: str | None = None,
        body: bytes | str | None = None,
    ) -> Response:
        """One request to an API, answered as API Gateway answers it (throttle, auth, integration).

        ``caller``: an IAM principal ARN for IAM-authorized routes, or a dict of JWT claims;
        ``api``: the API's name, needed only where the program has more than one."""
        target = self._api(api)
        headers = dict(headers or {})
        if json is not None:
            body = dumps(json)
            headers.setdefault("content-type", "application/json")
        raw = body.encode() if isinstance(body, str) else (body or b"")
        request = Request.of(method, path, body=raw, headers=headers, caller=caller, clock=self.clock)
        found = target.find(request.method, request.path)
        if found is None:
            if target.flavor == "rest":
                return self._gateway_response(
                    target, request, "MISSING_AUTHENTICATION_TOKEN", 403, "Missing Authentication Token"
                )
            return _json_response(404, {"message": "Not Found"})
        route, params = found
        refused = self._front_door(target, route, request)
        if refused is not None:
            return refused
        if target.flavor == "http":
            return http_integration(self, target, route, params, request)
        return self._rest_integration(target, route, params, request)

    def _front_door(self, api: Api, route: Any, request: Request) -> Response | None:
        """The answer API Gateway gives before the integration: throttled, unauthorized, unwired."""
        if len(request.body) > API_PAYLOAD_MAX_BYTES:
            return self._gateway_response(api, request, "REQUEST_TOO_LARGE", 413, "Request Too Long")
        if not all(bucket.take() for bucket in route.buckets):
            return self._gateway_response(api, request, "THROTTLED", 429, "Too Many Requests")
        from .auth import authorize

        refused = authorize(self, api, route, request)
        if refused is not None:
            return refused
        if route.integration is None:
            return _json_response(500, {"message": "Internal Server Error"})
        return None

    def _gateway_response(self, api: Api, request: Request, kind: str, status: int, message: str) -> Response:
        if api.flavor == "rest":
            from .rest import gateway_response

            return gateway_response(self, api, request, route=None, kind=kind, status=status, message=message)
        return _json_response(status, {"message": message})

    def _rest_integration(self, api: Api, route: Any, params: dict[str, str], request: Request) -> Response:
        from .rest import rest_integration

        return rest_integration(self, api, route, params, request)

    def _invoke_sync(self, uri: str, event: Any, source: str) -> Invocation | Response:
        arn = function_arn(uri)
        try:
            return self.functions.invoke(arn, event, source=source)
        except TooManyRequests:
            return _json_response(429, {"message": "Too Many Requests"})

    def _send(
        self, queue_url: str, body: str, role_arn: str | None, extra: Mapping[str, str] | None = None
    ) -> dict[str, Any]:
        credentials = self.backend.credentials_of(role_arn) if role_arn else {}
        sqs = self.backend.client("sqs", **credentials)
        request: dict[str, Any] = {"QueueUrl": self._local_queue_url(queue_url), "MessageBody": body}
        for key in ("MessageGroupId", "MessageDeduplicationId", "DelaySeconds"):
            if extra and extra.get(key):
                request[key] = int(extra[key]) if key == "DelaySeconds" else extra[key]
        answer = sqs.send_message(**request)
        answer.pop("ResponseMetadata", None)
        return dict(answer)

    def _post_sqs_form(self, queue_path: str, form: str, role_arn: str | None) -> tuple[int, str]:
        """The query-protocol request an API Gateway AWS integration sends SQS (the rendered
        template, parsed as SQS parses it), made with the integration's role. Returns the status
        and the body SQS answered."""
        from urllib.parse import parse_qs

        from botocore.exceptions import ClientError

        fields = {k: v[0] for k, v in parse_qs(form, keep_blank_values=True).items()}
        action = fields.pop("Action", "")
        if action != "SendMessage":
            return 400, dumps({"Error": {"Code": "InvalidAction", "Message": f"action {action!r} is not run locally"}})
        credentials = self.backend.credentials_of(role_arn) if role_arn else {}
        sqs = self.backend.client("sqs", **credentials)
        request: dict[str, Any] = {
            "QueueUrl": self._local_queue_url(queue_path),
            "MessageBody": fields.get("MessageBody", ""),
        }
        for key in ("MessageGroupId", "MessageDeduplicationId"):
            if fields.get(key):
                request[key] = fields[key]
        if fields.get("DelaySeconds"):
            request["DelaySeconds"] = int(fields["DelaySeconds"])
        try:
            answer = sqs.send_message(**request)
        except ClientError as error:
            status = int(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 400))
            return status, dumps({"Error": error.response.get("Error", {})})
        answer.pop("ResponseMetadata", None)
        return 200, dumps({"SendMessageResponse": {"SendMessageResult": answer}})

    def _local_queue_url(self, url_or_arn: str) -> str:
        name = (
            url_or_arn.rsplit(":", 1)[-1]
            if url_or_arn.startswith("arn:")
            else url_or_arn.rstrip("/").rsplit("/", 1)[-1]
        )
        # The queue's URL on the local backend, built (not looked up) so a deleted queue answers
        # its own error to the caller.
        return f"{self.backend.endpoint_url}/{self.backend.account_id}/{name}"

    # -- WebSocket APIs ----------------------------------------------------------------------------
    def websocket(self, query: Mapping[str, str] | None = None, *, api: str | None = None) -> WebSocket:
        """Open a client connection to the program's WebSocket API (``$connect`` with ``query``);
        raises ``WebSocketRefused`` when ``$connect`` answers other than 2xx."""
        sockets = [
            a for a in self.graph.of_type("aws:apigatewayv2/api:Api") if a.inputs.get("protocolType") == "WEBSOCKET"
        ]
        if api is not None:
            sockets = [a for a in sockets if api in (a.name, a.inputs.get("name"), a.outputs.get("id"))]
        if len(sockets) != 1:
            raise ValueError(f"websocket: {len(sockets)} WebSocket APIs match api={api!r}")
        connection = WebSocket(self, sockets[0], f"{uuid.uuid4().hex[:14]}=", dict(query or {}))
        self.connections[connection.connection_id] = connection
        connection.connect()
        return connection

    # -- invocations held mid-flight -----------------------------------------------------------------
    def hold(self, function: str) -> contextlib.AbstractContextManager[Hold]:
        """Hold the function's invocations mid-flight for the block: each starts (its Lambda
        deadline counts from then, on the run's clock) and waits to run its handler until the
        block ends, so a test can move the clock or cancel while work is running. ``settle``
        counts an execution waiting on a held task as settled. Released past its timeout, an
        invocation ends as Lambda ends it (``Sandbox.Timedout``) without running the handler."""
        return self.functions.hold(function)

    # -- webhook receivers ------------------------------------------------------------------------
    def webhook_receiver(self) -> WebhookReceiver:
        """A new HTTPS webhook endpoint (``receiver.url``) the handlers can call as they would a
        public one: its name resolves, for them only, to a public address the local network routes
        to a server on 127.0.0.1, whose CA they trust. The sender's checks stay as they are (a
        callback on 127.0.0.1 is still refused). Deliveries are kept in ``receiver.deliveries``."""
        receiver = start_receiver(len(self.receivers) + 1)
        self.receivers.append(receiver)
        self.functions.routes.append(receiver.route())
        return receiver

    # -- queued work --------------------------------------------------------------------------------
    def invoke_async(self, function: str, event: Any) -> None:
        """Queue an asynchronous invoke (``InvocationType=Event``); ``settle`` runs it."""
        name = self.functions.resolve(function).name
        now = self.clock.now()
        self.pending_async.append(AsyncInvoke(name, event, now, 0, now))

    def settle(self, max_steps: int = 200, *, advance_clock: bool = True) -> int:
        """Deliver queued work until nothing is pending: SQS mappings, async invokes, executions
        and their status events. With ``advance_clock``, when the only work left waits on time
        (messages in flight after a failure, async retries), the clock jumps to it, as time would
        pass. Returns the steps taken; raises ``RuntimeError`` past ``max_steps``."""
        for step in range(max_steps):
            moved = poll_mappings(self) + run_async(self) + watch_executions(self)
            if moved:
                continue
            if self._executions_running():
                time.sleep(0.05)
                continue
            wait = next_wakeup(self) if advance_clock else None
            if wait is None:
                return step
            self.clock.advance(wait)
        raise RuntimeError(f"settle: work still pending after {max_steps} steps")

    # -- Step Functions -----------------------------------------------------------------------------
    def _executions_running(self) -> bool:
        """Whether an execution is busy: running, and not parked on a task token no one answered
        nor on a held invocation; or past its timeout on the run's clock, about to end."""
        now = self.clock.now()
        if any(deadline < now for deadline in list(self.deadlines.values())):
            return True
        running = sum(1 for e in executions_of(self) if e["status"] == "RUNNING")
        with self._parked_lock:
            waiting = sum(1 for endpoint in self._parked if endpoint.get_outcome() is None)
        return running > waiting + self.functions.held()

    @contextlib.contextmanager
    def _parked_task(self, callback_endpoint: Any) -> Iterator[None]:
        with self._parked_lock:
            self._parked.append(callback_endpoint)
        try:
            yield
        finally:
            with self._parked_lock:
                self._parked.remove(callback_endpoint)

    def close(self) -> None:
        self.functions.close()
        for receiver in self.receivers:
            receiver.close()


def capture_stack(
    stack: str, project_dir: str | os.PathLike[str] = ".", *, overrides: Mapping[str, Any] | None = None
) -> Graph:
    """The graph ``run_locally(stack, project_dir)`` runs: the program under the kit's mocks, in
    its stack's region (a test may capture it once and run it several times)."""
    config, _ = load_project(project_dir).stack_config(stack)
    region = str((overrides or {}).get("aws:region") or config.get("aws:region", "us-east-1"))
    return run_stack(stack, project_dir, mocks=AwsMocks(region=region), overrides=overrides)


@contextlib.contextmanager
def run_locally(
    stack: str | Graph,
    project_dir: str | os.PathLike[str] = ".",
    *,
    overrides: Mapping[str, Any] | None = None,
) -> Iterator[LocalRun]:
    """Run a stack of the project at ``project_dir`` (or an already captured ``Graph`` of the
    program there) on this machine: its resources in moto, every handler in its own execution
    environment.

        with run_locally("dev") as stack:
            assert stack.request("POST", "/orders", json=order, caller=ROLE).status == 200
            stack.settle()
    """
    if _ACTIVE:
        raise RuntimeError(
            "run_locally: a local run is already open in this process (moto's backends are process-wide)"
        )
    graph = stack if isinstance(stack, Graph) else capture_stack(stack, project_dir, overrides=overrides)
    # A graph's relative package paths are its program's (Pulumi runs it from its directory).
    program_dir = Path(project_dir).resolve()
    region = "eu-west-1"
    for resource in graph.of_type("aws:lambda/function:Function")[:1]:
        region = resource.outputs["arn"].split(":")[3]
    clock = Clock()
    with (
        tempfile.TemporaryDirectory(prefix="local-run-") as work,
        start_backend(region, "123456789012", clock) as backend,
    ):
        specs = function_specs(graph, program_dir, Path(work))
        functions = Functions(
            specs, Path(work), backend.endpoint_url, region, backend.account_id, backend.environment_credentials, clock
        )
        functions.zygote = Zygote()
        not_running = {r.urn: NOT_EMULATED[r.type] for r in graph if r.type in NOT_EMULATED}
        run = LocalRun(graph, backend, functions, apis_of(graph, clock, backend.account_id, region), clock, not_running)
        _ACTIVE.append(run)
        try:
            provision(backend, graph, lambda function: code_path(function, program_dir, Path(work)).read_bytes())
            run.refused = refusals(graph)
            run._machine_types = {
                m.outputs["arn"]: str(m.inputs.get("type", "STANDARD"))
                for m in graph.of_type("aws:sfn/stateMachine:StateMachine")
            }
            run.mappings = mappings_of(run)
            run.async_config = async_configs_of(run)
            hook_moto(run)
            install_fair_queues(backend, clock.now)  # moto delivers in arrival order only
            backend.enforce_iam()
            yield run
        finally:
            _ACTIVE.remove(run)
            run.close()
