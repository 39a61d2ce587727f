"""``run_locally``: a program's graph running on one machine, every event source wired as the
graph says, every handler in its own execution environment."""

from __future__ import annotations

import contextlib
import json
import os
import re
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..capture import CapturedResource, Graph, load_project, run_stack
from ..mocks import AwsMocks
from .apis import Api, Caller, Request, Response, _json_response, apis_of, lambda_proxy_event, proxy_response
from .backend import NOT_EMULATED, Backend, provision, start_backend
from .clock import Clock
from .fairness import install_fair_queues
from .functions import Functions, FunctionSpec, Invocation, TooManyRequests
from .stepfunctions import hook_stepfunctions
from .websocket import WebSocket, hook_connections

__all__ = ["LocalRun", "run_locally"]

# API Gateway's payload quota (REST and HTTP APIs): 10 MB.
API_PAYLOAD_MAX_BYTES = 10 * 1024 * 1024
_ACTIVE: list[LocalRun] = []  # at most one: moto's backends and the hooks are process-wide


@dataclass(frozen=True)
class Mapping_:
    """An SQS event source mapping of the graph."""

    queue_url: str
    queue_arn: str
    function: str
    batch_size: int
    partial_failures: bool
    max_concurrency: int | None


@dataclass
class AsyncInvoke:
    function: str
    event: Any
    first_at: float
    attempts: int = 0
    not_before: float = 0.0


@dataclass(frozen=True)
class AsyncConfig:
    retries: int = 2  # Lambda's defaults for async invokes
    max_age_s: int = 21600
    on_failure: str | None = None


def _code_path(function: CapturedResource, project_dir: Path | None = None, work_dir: Path | None = None) -> Path:
    """The zip a function's ``code`` names. A relative path is the program's (Pulumi runs it with
    the project directory as cwd); a directory is zipped as Pulumi zips a FileArchive of one."""
    code = function.inputs.get("code")
    path = getattr(code, "path", None) or (code.get("path") if isinstance(code, dict) else None)
    if not path:
        raise ValueError(f"{function.urn}: code={code!r} is not a package file (FileArchive of a .zip)")
    found = Path(path)
    if not found.is_absolute() and project_dir is not None:
        found = Path(project_dir) / found
    if found.is_dir() and work_dir is not None:
        return _zip_directory(found, work_dir)
    return found


def _zip_directory(directory: Path, work_dir: Path) -> Path:
    import hashlib
    import zipfile

    target = work_dir / "packages" / f"{hashlib.sha256(str(directory.resolve()).encode()).hexdigest()[:16]}.zip"
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
            for file in sorted(p for p in directory.rglob("*") if p.is_file()):
                archive.write(file, file.relative_to(directory).as_posix())
    return target


def _specs(graph: Graph, project_dir: Path | None = None, work_dir: Path | None = None) -> dict[str, FunctionSpec]:
    specs = {}
    for function in graph.of_type("aws:lambda/function:Function"):
        inputs = function.inputs
        reserved = inputs.get("reservedConcurrentExecutions")
        specs[function.outputs["name"]] = FunctionSpec(
            name=function.outputs["name"],
            arn=function.outputs["arn"],
            handler=inputs["handler"],
            package=_code_path(function, project_dir, work_dir),
            role_arn=inputs["role"],
            timeout_s=int(inputs.get("timeout", 3)),
            memory_mb=int(inputs.get("memorySize", 128)),
            environment=dict(((inputs.get("environment") or {}).get("variables")) or {}),
            reserved_concurrency=None if reserved in (None, -1) else int(reserved),
            runtime=inputs.get("runtime", "python3.12"),
        )
    return specs


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
            body = _dumps(json)
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
            return self._http_integration(target, route, params, request)
        return self._rest_integration(target, route, params, request)

    def _front_door(self, api: Api, route: Any, request: Request) -> Response | None:
        """The answer API Gateway gives before the integration: throttled, unauthorized, unwired."""
        if len(request.body) > API_PAYLOAD_MAX_BYTES:
            return self._gateway_response(api, request, "REQUEST_TOO_LARGE", 413, "Request Too Long")
        if not all(bucket.take() for bucket in route.buckets):
            return self._gateway_response(api, request, "THROTTLED", 429, "Too Many Requests")
        if route.auth in ("AWS_IAM", "JWT", "CUSTOM", "COGNITO_USER_POOLS") and request.caller is None:
            if api.flavor == "rest" and route.auth == "AWS_IAM":
                return self._gateway_response(
                    api, request, "MISSING_AUTHENTICATION_TOKEN", 403, "Missing Authentication Token"
                )
            jwt = route.auth == "JWT"
            return _json_response(401 if jwt else 403, {"message": "Unauthorized" if jwt else "Forbidden"})
        if route.integration is None:
            return _json_response(500, {"message": "Internal Server Error"})
        return None

    def _gateway_response(self, api: Api, request: Request, kind: str, status: int, message: str) -> Response:
        if api.flavor == "rest":
            from .rest import gateway_response

            return gateway_response(self, api, request, route=None, kind=kind, status=status, message=message)
        return _json_response(status, {"message": message})

    def _http_integration(self, api: Api, route: Any, params: dict[str, str], request: Request) -> Response:
        integration = route.integration.inputs
        if integration.get("integrationSubtype") == "SQS-SendMessage":
            mapped = {
                k: _http_parameter(v, request, params) for k, v in (integration.get("requestParameters") or {}).items()
            }
            try:
                answer = self._send(
                    mapped["QueueUrl"], mapped["MessageBody"], integration.get("credentialsArn"), mapped
                )
            except Exception as error:
                return _json_response(500, {"message": "Internal Server Error", "local": str(error)})
            return _json_response(200, answer)
        version = str(integration.get("payloadFormatVersion", "2.0"))
        event = lambda_proxy_event(api, route, params, request, version)
        invocation = self._invoke_sync(integration["integrationUri"], event, f"api {request.method} {request.path}")
        if isinstance(invocation, Response):
            return invocation
        if invocation.failed:
            return _json_response(500, {"message": "Internal Server Error"})
        return proxy_response(invocation.result, version)

    def _rest_integration(self, api: Api, route: Any, params: dict[str, str], request: Request) -> Response:
        from .rest import rest_integration

        return rest_integration(self, api, route, params, request)

    def _invoke_sync(self, uri: str, event: Any, source: str) -> Invocation | Response:
        arn = _function_arn(uri)
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
            return 400, _dumps({"Error": {"Code": "InvalidAction", "Message": f"action {action!r} is not run locally"}})
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
            return status, _dumps({"Error": error.response.get("Error", {})})
        answer.pop("ResponseMetadata", None)
        return 200, _dumps({"SendMessageResponse": {"SendMessageResult": answer}})

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
            moved = self._poll_mappings() + self._run_async() + self._watch_executions()
            if moved:
                continue
            if self._executions_running():
                time.sleep(0.05)
                continue
            wait = self._next_wakeup() if advance_clock else None
            if wait is None:
                return step
            self.clock.advance(wait)
        raise RuntimeError(f"settle: work still pending after {max_steps} steps")

    def _poll_mappings(self) -> int:
        delivered = 0
        sqs = self.backend.client("sqs")
        for mapping in self.mappings:
            if not self.backend.sqs_queue(mapping.queue_url.rsplit("/", 1)[-1]).messages:
                continue
            answer = sqs.receive_message(
                QueueUrl=mapping.queue_url,
                MaxNumberOfMessages=min(mapping.batch_size, 10),
                AttributeNames=["All"],
                MessageAttributeNames=["All"],
            )
            messages = answer.get("Messages") or []
            if not messages:
                continue
            delivered += len(messages)
            event = {"Records": [_sqs_record(m, mapping.queue_arn, self.backend.region) for m in messages]}
            try:
                invocation = self.functions.invoke(mapping.function, event, source=f"sqs {mapping.queue_arn}")
            except TooManyRequests:
                continue  # the messages return after their visibility timeout, as with a throttled poller
            failed_ids: set[str] | None
            if invocation.failed:
                failed_ids = None  # the whole batch returns to the queue
            elif mapping.partial_failures and isinstance(invocation.result, dict):
                failed_ids = {f.get("itemIdentifier") for f in invocation.result.get("batchItemFailures") or []}
            else:
                failed_ids = set()
            done = [m for m in messages if failed_ids is not None and m["MessageId"] not in failed_ids]
            for chunk in range(0, len(done), 10):
                sqs.delete_message_batch(
                    QueueUrl=mapping.queue_url,
                    Entries=[
                        {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]}
                        for i, m in enumerate(done[chunk : chunk + 10])
                    ],
                )
        return delivered

    def _run_async(self) -> int:
        now = self.clock.now()
        due = [a for a in self.pending_async if a.not_before <= now]
        for item in due:
            self.pending_async.remove(item)
            config = self.async_config.get(item.function, AsyncConfig())
            if now - item.first_at > config.max_age_s:
                self._async_failed(item, config, None, "EventAgeExceeded")
                continue
            item.attempts += 1
            try:
                invocation = self.functions.invoke(item.function, item.event, source="async")
            except TooManyRequests:
                item.attempts -= 1
                item.not_before = now + 1
                self.pending_async.append(item)
                continue
            if not invocation.failed:
                continue
            if item.attempts <= config.retries:
                # Lambda waits about a minute before the first retry and two before the second.
                item.not_before = now + 60 * item.attempts
                self.pending_async.append(item)
            else:
                self._async_failed(item, config, invocation, "RetriesExhausted")
        return len(due)

    def _async_failed(
        self, item: AsyncInvoke, config: AsyncConfig, invocation: Invocation | None, condition: str
    ) -> None:
        spec = self.functions.resolve(item.function)
        record = {
            "version": "1.0",
            "timestamp": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(self.clock.now())),
            "requestContext": {
                "requestId": str(uuid.uuid4()),
                "functionArn": f"{spec.arn}:$LATEST",
                "condition": condition,
                "approximateInvokeCount": item.attempts,
            },
            "requestPayload": item.event,
            "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
            "responsePayload": invocation.error if invocation else None,
        }
        self.dead_async.append(record)
        if config.on_failure and ":sqs:" in config.on_failure:
            self._send(config.on_failure, _dumps(record), spec.role_arn)

    # -- Step Functions -----------------------------------------------------------------------------
    def _executions(self) -> list[dict[str, Any]]:
        found = []
        for execution in self.backend.executions():
            status = execution.exec_status.value if execution.exec_status is not None else "RUNNING"
            found.append(
                {
                    "executionArn": execution.exec_arn,
                    "stateMachineArn": execution.state_machine_arn,
                    "name": execution.name,
                    "status": status,
                    "type": self._machine_types.get(execution.state_machine_arn, "STANDARD"),
                }
            )
        return found

    def _executions_running(self) -> bool:
        """Whether an execution is busy: running, and not parked on a task token no one answered."""
        running = sum(1 for e in self._executions() if e["status"] == "RUNNING")
        with self._parked_lock:
            waiting = sum(1 for endpoint in self._parked if endpoint.get_outcome() is None)
        return running > waiting

    @contextlib.contextmanager
    def _parked_task(self, callback_endpoint: Any) -> Iterator[None]:
        with self._parked_lock:
            self._parked.append(callback_endpoint)
        try:
            yield
        finally:
            with self._parked_lock:
                self._parked.remove(callback_endpoint)

    def _watch_executions(self) -> int:
        """Emit each Standard execution's status changes to the EventBridge rules that match
        (moto does not); Express executions emit none, as in AWS."""
        emitted = 0
        for execution in self._executions():
            arn, status = execution["executionArn"], execution["status"]
            if self._execution_status.get(arn) == status:
                continue
            self._execution_status[arn] = status
            if execution["type"] != "STANDARD":
                continue
            self._emit_event(_status_event(self.backend, execution))
            emitted += 1
        return emitted

    def _emit_event(self, event: dict[str, Any]) -> None:
        # moto's TestEventPattern is not implemented; its rule matcher is, in process.
        from moto.events.models import EventPattern

        events = self.backend.client("events")
        for rule in events.list_rules().get("Rules", []):
            if not rule.get("EventPattern"):
                continue
            if not EventPattern.load(rule["EventPattern"]).matches_event(event):  # type: ignore[arg-type]
                continue
            for target in events.list_targets_by_rule(Rule=rule["Name"]).get("Targets", []):
                self._deliver_event(rule["Name"], target, event)

    def _deliver_event(self, rule: str, target: dict[str, Any], event: dict[str, Any]) -> None:
        """One EventBridge delivery: to a function (an async invoke) or a queue. A target that
        cannot take it (its function or queue is gone) fails every retry of its policy; then the
        event goes to the target's dead-letter queue, or is dropped (``dropped_events``)."""
        payload = json.loads(target["Input"]) if target.get("Input") else event
        try:
            if ":lambda:" in target["Arn"]:
                self.backend.lambda_function(target["Arn"].split(":")[6])
                self.invoke_async(target["Arn"], payload)
            elif ":sqs:" in target["Arn"]:
                self._send(target["Arn"], _dumps(payload), None)
            return
        except Exception as error:
            failure = f"{type(error).__name__}: {error}"
        dead_letter = (target.get("DeadLetterConfig") or {}).get("Arn")
        if dead_letter:
            self._send(dead_letter, _dumps(event), None)
        else:
            self.dropped_events.append({"rule": rule, "target": target["Arn"], "event": event, "error": failure})

    def _next_wakeup(self) -> float | None:
        """Seconds until the next queued work is due: an async retry, or the first in-flight or
        delayed message of a mapped queue to become visible again."""
        now = self.clock.now()
        waits = [a.not_before - now for a in self.pending_async]
        for mapping in self.mappings:
            queue = self.backend.sqs_queue(mapping.queue_url.rsplit("/", 1)[-1])
            for message in list(queue._messages):
                due_ms = max(float(message.visible_at or 0), float(getattr(message, "delayed_until", 0) or 0))
                waits.append(due_ms / 1000 - now + 0.001)
        positive = [w for w in waits if w > 0]
        if waits and not positive:
            return 0.0
        return min(positive) if positive else None

    def close(self) -> None:
        self.functions.close()


# --- helpers ----------------------------------------------------------------------------------------
def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


def _function_arn(uri: str) -> str:
    # Lambda proxy URIs are the function ARN, or API Gateway's invoke path around it.
    found = re.search(r"(arn:[^:]+:lambda:[^:]+:\d+:function:[^/]+)", uri)
    return found.group(1) if found else uri


def _http_parameter(template: str, request: Request, params: dict[str, str]) -> str:
    """An HTTP API parameter mapping value: ``$request.body``, ``${request.header.x}``, ``${context.requestId}``..."""
    fixed = {
        "request.body": lambda: request.text,
        "context.requestId": lambda: request.request_id,
        "context.requestTimeEpoch": lambda: str(request.epoch_ms),
        "context.identity.sourceIp": lambda: "127.0.0.1",
    }
    sources = {
        "request.header.": lambda name: request.headers.get(name.lower(), ""),
        "request.querystring.": lambda name: request.query.get(name, ""),
        "request.path.": lambda name: params.get(name, ""),
        "request.body.": lambda name: _json_field(request.text, name),
    }

    def value(expression: str) -> str:
        if expression in fixed:
            return fixed[expression]()
        for prefix, read in sources.items():
            if expression.startswith(prefix):
                return read(expression[len(prefix) :])
        return ""

    if template.startswith("$") and not template.startswith("${") and " " not in template:
        return value(template[1:])
    return re.sub(r"\$\{([^}]+)\}", lambda m: value(m.group(1)), template)


def _json_field(text: str, dotted: str) -> str:
    found: Any = json.loads(text or "null")
    for part in dotted.split("."):
        found = found.get(part) if isinstance(found, dict) else None
    return "" if found is None else (found if isinstance(found, str) else _dumps(found))


def _sqs_record(message: dict[str, Any], queue_arn: str, region: str) -> dict[str, Any]:
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": message.get("Attributes", {}),
        "messageAttributes": {
            name: {
                "stringValue": value.get("StringValue"),
                "binaryValue": value.get("BinaryValue"),
                "stringListValues": [],
                "binaryListValues": [],
                "dataType": value["DataType"],
            }
            for name, value in (message.get("MessageAttributes") or {}).items()
        },
        "md5OfBody": message.get("MD5OfBody"),
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": region,
    }


def _status_event(backend: Backend, execution: dict[str, Any]) -> dict[str, Any]:
    described = backend.client("stepfunctions").describe_execution(executionArn=execution["executionArn"])

    def millis(value: Any) -> int | None:
        return int(value.timestamp() * 1000) if value is not None else None

    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Step Functions Execution Status Change",
        "source": "aws.states",
        "account": backend.account_id,
        "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(backend.clock.now())),
        "region": backend.region,
        "resources": [execution["executionArn"]],
        "detail": {
            "executionArn": execution["executionArn"],
            "stateMachineArn": execution["stateMachineArn"],
            "name": execution["name"],
            "status": described["status"],
            "startDate": millis(described.get("startDate")),
            "stopDate": millis(described.get("stopDate")),
            "input": described.get("input"),
            "output": described.get("output"),
            "error": described.get("error"),
            "cause": described.get("cause"),
        },
    }


def refusals(graph: Graph) -> dict[str, str]:
    """Resources of the graph that AWS refuses to create though moto accepts them, with the reason."""
    found = {}
    for machine in graph.of_type("aws:sfn/stateMachine:StateMachine"):
        definition = machine.inputs.get("definition")
        text = definition if isinstance(definition, str) else json.dumps(definition)
        patterns = sorted({p for p in (".waitForTaskToken", ".sync") if f'{p}"' in text or f"{p}:" in text})
        if machine.inputs.get("type") == "EXPRESS" and patterns:
            found[machine.urn] = (
                "an EXPRESS state machine may use Request Response integrations only; "
                f"this one uses {', '.join(patterns)} (CreateStateMachine refuses it)"
            )
    return found


def _mappings(run: LocalRun) -> list[Mapping_]:
    found = []
    for mapping in run.graph.of_type("aws:lambda/eventSourceMapping:EventSourceMapping"):
        source = str(mapping.inputs.get("eventSourceArn", ""))
        if ":sqs:" not in source:
            continue
        scaling = mapping.inputs.get("scalingConfig") or {}
        found.append(
            Mapping_(
                queue_url=run._local_queue_url(source),
                queue_arn=source,
                function=run.functions.resolve(str(mapping.inputs["functionName"])).name,
                batch_size=int(mapping.inputs.get("batchSize", 10)),
                partial_failures="ReportBatchItemFailures" in (mapping.inputs.get("functionResponseTypes") or []),
                max_concurrency=scaling.get("maximumConcurrency"),
            )
        )
    return found


def _async_configs(run: LocalRun) -> dict[str, AsyncConfig]:
    found = {}
    for config in run.graph.of_type("aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig"):
        name = run.functions.resolve(str(config.inputs["functionName"])).name
        on_failure = ((config.inputs.get("destinationConfig") or {}).get("onFailure") or {}).get("destination")
        found[name] = AsyncConfig(
            retries=int(config.inputs.get("maximumRetryAttempts", 2)),
            max_age_s=int(config.inputs.get("maximumEventAgeInSeconds", 21600)),
            on_failure=on_failure,
        )
    return found


def _hook_moto(run: LocalRun) -> None:
    hook_connections(run)
    _hook_lambda(run)
    _hook_sqs_clock(run)
    hook_stepfunctions(run)


def _hook_lambda(run: LocalRun) -> None:
    """Lambda invokes that reach moto (from handlers, Step Functions tasks) run the handler."""
    from moto.awslambda import models as lambda_models
    from moto.awslambda_simple import models as simple_models

    functions, backend = run.functions, run.backend

    def invoke(  # noqa: PLR0917 - moto's signature
        self: Any, function_name: str, qualifier: str | None, body: Any, headers: Any, response_headers: Any
    ) -> Any:
        event = json.loads(body) if body else {}
        kind = headers.get("X-Amz-Invocation-Type", "RequestResponse")
        if kind == "Event":
            run.invoke_async(function_name, event)
            return b""
        try:
            invocation = functions.invoke(function_name, event, source="lambda:Invoke")
        except TooManyRequests as error:
            from moto.awslambda.exceptions import LambdaClientError

            raise LambdaClientError("TooManyRequestsException", str(error)) from None
        if invocation.failed:
            response_headers["x-amz-function-error"] = "Unhandled"
            payload = _dumps(invocation.error).encode()
        else:
            payload = _dumps(invocation.result).encode()
        response_headers["Content-Length"] = str(len(payload))
        return payload

    backend.patch(lambda_models.LambdaBackend, "invoke", invoke)
    backend.patch(simple_models.LambdaSimpleBackend, "invoke", invoke)


def _hook_sqs_clock(run: LocalRun) -> None:
    """moto's SQS times visibility, delays and message ages on the run's clock."""
    from moto.sqs import models as sqs_models

    clock, backend = run.clock, run.backend
    real_time, real_millis = sqs_models.unix_time, sqs_models.unix_time_millis
    backend.patch(sqs_models, "unix_time", lambda *a: real_time(*a) + clock.offset_s)
    backend.patch(sqs_models, "unix_time_millis", lambda *a: real_millis(*a) + clock.offset_s * 1000)


@contextlib.contextmanager
def run_locally(
    stack: str | Graph,
    project_dir: str | os.PathLike[str] = ".",
    *,
    overrides: Mapping[str, Any] | None = None,
) -> Iterator[LocalRun]:
    """Run a stack of the project at ``project_dir`` (or an already captured ``Graph``) on this
    machine: its resources in moto, every handler in its own execution environment.

        with run_locally("dev") as stack:
            assert stack.request("POST", "/orders", json=order, caller=ROLE).status == 200
            stack.settle()
    """
    if _ACTIVE:
        raise RuntimeError(
            "run_locally: a local run is already open in this process (moto's backends are process-wide)"
        )
    if isinstance(stack, Graph):
        graph = stack
        region, program_dir = "eu-west-1", None
        for resource in graph.of_type("aws:lambda/function:Function")[:1]:
            region = resource.outputs["arn"].split(":")[3]
    else:
        program_dir = Path(project_dir).resolve()
        project = load_project(project_dir)
        config, _ = project.stack_config(stack)
        region = str((overrides or {}).get("aws:region") or config.get("aws:region", "us-east-1"))
        graph = run_stack(stack, project_dir, mocks=AwsMocks(region=region), overrides=overrides)
    clock = Clock()
    with (
        tempfile.TemporaryDirectory(prefix="local-run-") as work,
        start_backend(region, "123456789012", clock) as backend,
    ):
        specs = _specs(graph, program_dir, Path(work))
        functions = Functions(
            specs, Path(work), backend.endpoint_url, region, backend.account_id, backend.environment_credentials, clock
        )
        not_running = {r.urn: NOT_EMULATED[r.type] for r in graph if r.type in NOT_EMULATED}
        run = LocalRun(graph, backend, functions, apis_of(graph, clock, backend.account_id, region), clock, not_running)
        _ACTIVE.append(run)
        try:
            provision(backend, graph, lambda function: _code_path(function, program_dir, Path(work)).read_bytes())
            run.refused = refusals(graph)
            run._machine_types = {
                m.outputs["arn"]: str(m.inputs.get("type", "STANDARD"))
                for m in graph.of_type("aws:sfn/stateMachine:StateMachine")
            }
            run.mappings = _mappings(run)
            run.async_config = _async_configs(run)
            _hook_moto(run)
            install_fair_queues(backend, clock.now)  # moto delivers in arrival order only
            backend.enforce_iam()
            yield run
        finally:
            _ACTIVE.remove(run)
            run.close()
