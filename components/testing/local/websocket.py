"""WebSocket APIs of the graph: ``$connect`` with its query, messages routed by the API's route
selection expression, ``$disconnect``, and ``@connections`` posts captured per connection (a
post to a closed connection answers 410 Gone, as AWS answers it)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from ..capture import CapturedResource
from .common import function_arn

if TYPE_CHECKING:
    from .host import LocalRunHost as LocalRun

__all__ = ["WebSocket", "WebSocketRefused"]


class WebSocketRefused(ConnectionError):
    """``$connect`` answered other than 2xx: the client's handshake fails."""

    def __init__(self, status: int, body: Any) -> None:
        self.status, self.body = status, body
        super().__init__(f"$connect refused with {status}: {body}")


@dataclass
class WebSocket:
    """One client connection: ``send`` a message, read ``frames`` (route responses and posts)."""

    run: LocalRun
    api: CapturedResource
    connection_id: str
    query: dict[str, str]
    frames: list[Any] = field(default_factory=list)
    open: bool = True
    # Told each frame's text as it is sent to the client (``resilient-serverless run`` writes it
    # to the network connection).
    listener: Callable[[str], None] | None = None

    def deliver(self, data: Any) -> Any:
        """A frame to the client: a route response, or an ``@connections`` post."""
        frame = _frame(data)
        self.frames.append(frame)
        if self.listener is not None:
            self.listener(data.decode() if isinstance(data, bytes) else str(data))
        return frame

    def _event(self, route_key: str, event_type: str, body: str | None = None) -> dict[str, Any]:
        api_id = self.api.outputs["id"]
        stage = next(
            (
                s.inputs.get("name")
                for s in self.run.graph.of_type("aws:apigatewayv2/stage:Stage")
                if s.inputs.get("apiId") == api_id
            ),
            "$default",
        )
        epoch_ms = int(self.run.clock.now() * 1000)
        event: dict[str, Any] = {
            "requestContext": {
                "routeKey": route_key,
                "eventType": event_type,
                "connectionId": self.connection_id,
                "apiId": api_id,
                "stage": stage,
                "domainName": f"{api_id}.execute-api.{self.run.backend.region}.amazonaws.com",
                "requestId": str(uuid.uuid4()),
                "requestTimeEpoch": epoch_ms,
                "connectedAt": epoch_ms,
                "identity": {"sourceIp": "127.0.0.1"},
            },
            "isBase64Encoded": False,
        }
        if event_type == "CONNECT":
            event["queryStringParameters"] = dict(self.query) or None
            event["headers"] = {"Host": event["requestContext"]["domainName"]}
        if body is not None:
            event["body"] = body
        return event

    def _route(self, route_key: str) -> CapturedResource | None:
        api_id = self.api.outputs["id"]
        routes = {
            r.inputs["routeKey"]: r
            for r in self.run.graph.of_type("aws:apigatewayv2/route:Route")
            if r.inputs.get("apiId") == api_id
        }
        return routes.get(route_key)

    def _invoke(self, route: CapturedResource, event: dict[str, Any]) -> Any:
        target = str(route.inputs.get("target", "")).removeprefix("integrations/")
        integration = next(
            i for i in self.run.graph.of_type("aws:apigatewayv2/integration:Integration") if i.outputs["id"] == target
        )
        invocation = self.run.functions.invoke(
            function_arn(integration.inputs["integrationUri"]), event, source=f"websocket {route.inputs['routeKey']}"
        )
        if invocation.failed:
            return {"statusCode": 500, "body": json.dumps({"message": "Internal server error"})}
        return invocation.result

    def connect(self) -> None:
        route = self._route("$connect")
        if route is None:
            return
        missing = [
            p["requestParameterKey"].rsplit(".", 1)[-1]
            for p in route.inputs.get("requestParameters") or []
            if p.get("required") and p["requestParameterKey"].rsplit(".", 1)[-1] not in self.query
        ]
        if missing:
            raise WebSocketRefused(400, {"message": f"Missing required request parameters: {missing}"})
        answer = self._invoke(route, self._event("$connect", "CONNECT"))
        status = int(answer.get("statusCode", 200)) if isinstance(answer, dict) else 200
        if not 200 <= status < 300:
            self.open = False
            raise WebSocketRefused(status, answer.get("body") if isinstance(answer, dict) else answer)

    def send(self, message: Any) -> Any:
        """Send one message; returns the route's response frame (also appended to ``frames``) or None."""
        if not self.open:
            raise ConnectionError(f"connection {self.connection_id} is closed")
        body = message if isinstance(message, str) else json.dumps(message)
        expression = str(self.api.inputs.get("routeSelectionExpression", "$request.body.action"))
        key = "$default"
        if expression.startswith("$request.body."):
            try:
                parsed = json.loads(body)
            except ValueError:
                parsed = None
            selected = parsed.get(expression.removeprefix("$request.body.")) if isinstance(parsed, dict) else None
            if isinstance(selected, str) and self._route(selected) is not None:
                key = selected
        route = self._route(key)
        if route is None:
            return None
        answer = self._invoke(route, self._event(key, "MESSAGE", body))
        if (
            route.inputs.get("routeResponseSelectionExpression")
            and isinstance(answer, dict)
            and answer.get("body") is not None
        ):
            return self.deliver(answer["body"])
        return None

    def close(self) -> None:
        if not self.open:
            return
        self.open = False
        route = self._route("$disconnect")
        if route is not None:
            self._invoke(route, self._event("$disconnect", "DISCONNECT"))


def _frame(data: Any) -> Any:
    text = data.decode() if isinstance(data, bytes) else str(data)
    try:
        return json.loads(text)
    except ValueError:
        return text


def hook_connections(run: LocalRun) -> None:
    """``@connections`` posts reach the run's connection objects; a closed or unknown connection
    answers 410 Gone (moto stores any post and never answers Gone)."""
    from moto.apigatewaymanagementapi.models import ApiGatewayManagementApiBackend
    from moto.core.exceptions import JsonRESTError

    class GoneException(JsonRESTError):
        code = 410

        def __init__(self, connection_id: str) -> None:
            super().__init__("GoneException", f"connection {connection_id} is gone")

    def post_to_connection(self: Any, data: bytes, connection_id: str) -> None:
        connection = run.connections.get(unquote(connection_id))
        if connection is None or not connection.open:
            raise GoneException(connection_id)
        connection.deliver(data)

    def delete_connection(self: Any, connection_id: str) -> None:
        connection = run.connections.get(unquote(connection_id))
        if connection is None or not connection.open:
            raise GoneException(connection_id)
        connection.close()

    run.backend.patch(ApiGatewayManagementApiBackend, "post_to_connection", post_to_connection)
    run.backend.patch(ApiGatewayManagementApiBackend, "delete_connection", delete_connection)
