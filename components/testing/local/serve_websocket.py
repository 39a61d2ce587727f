"""``resilient-serverless run``'s WebSocket front door: each WebSocket API of the stack served on
127.0.0.1 (the ``websockets`` library), a network connection per ``LocalRun.websocket``
connection: the handshake runs ``$connect`` with the URL's query (a refusal answers its status),
each text message is routed as API Gateway routes it, route responses and ``@connections``
posts are written back as frames, and closing runs ``$disconnect``. One log line per connection,
message and frame."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any, TextIO
from urllib.parse import parse_qsl, urlsplit

from ..capture import CapturedResource
from .websocket import WebSocket, WebSocketRefused

__all__ = ["WebSocketServer", "serve_websockets"]

PREVIEW = 200  # characters of a frame shown in the log


@dataclass
class WebSocketServer:
    api: CapturedResource
    port: int
    stop: Callable[[], None]

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"


def _log(log: TextIO, line: str) -> None:
    print(line, file=log, flush=True)


def serve_websockets(run: Any, lock: threading.Lock, log: TextIO) -> list[WebSocketServer]:
    """Start one server per WebSocket API of the run's graph; each runs its own event loop thread."""
    apis = [a for a in run.graph.of_type("aws:apigatewayv2/api:Api") if a.inputs.get("protocolType") == "WEBSOCKET"]
    return [_Server(run, api, lock, log).start() for api in apis]


class _Server:
    """One WebSocket API on its own event loop; handler invocations run in the loop's executor,
    under the serve lock (one request, message or settle at a time, as the run is not threaded)."""

    def __init__(self, run: Any, api: CapturedResource, lock: threading.Lock, log: TextIO) -> None:
        self.run, self.api, self.lock, self.log = run, api, lock, log
        self.loop = asyncio.new_event_loop()
        self.name = str(api.inputs.get("name") or api.name)
        self.sockets: dict[int, WebSocket] = {}
        self.server: Any = None
        self.port = 0

    def _blocking(self, call: Callable[[], Any]) -> Any:
        def locked() -> Any:
            with self.lock:
                return call()

        return self.loop.run_in_executor(None, locked)

    async def handshake(self, connection: Any, request: Any) -> Any:
        query = dict(parse_qsl(urlsplit(request.path).query))
        try:
            socket: WebSocket = await self._blocking(lambda: self.run.websocket(query, api=self.api.name))
        except WebSocketRefused as refused:
            _log(self.log, f"connect  {self.name} {request.path} -> {refused.status}")
            return connection.respond(refused.status, f"{refused.body}\n")
        _log(self.log, f"connect  {self.name} {socket.connection_id} {request.path} -> 101")
        self.sockets[id(connection)] = socket
        return None

    async def session(self, connection: Any) -> None:
        socket = self.sockets.pop(id(connection))

        def to_client(text: str) -> None:
            _log(self.log, f"frame    {self.name} {socket.connection_id} -> {text[:PREVIEW]}")
            asyncio.run_coroutine_threadsafe(connection.send(text), self.loop)

        from websockets.exceptions import ConnectionClosed

        socket.listener = to_client
        try:
            async for message in connection:
                text = message if isinstance(message, str) else message.decode()
                _log(self.log, f"message  {self.name} {socket.connection_id} <- {text[:PREVIEW]}")
                await self._blocking(partial(socket.send, text))
        except ConnectionClosed:
            pass  # the client went away without a clean close: $disconnect runs all the same
        finally:
            socket.listener = None
            await self._blocking(socket.close)
            _log(self.log, f"close    {self.name} {socket.connection_id}")

    def start(self) -> WebSocketServer:
        from websockets.asyncio.server import serve

        ready = threading.Event()

        async def main() -> None:
            self.server = await serve(self.session, "127.0.0.1", 0, process_request=self.handshake)
            self.port = int(self.server.sockets[0].getsockname()[1])
            ready.set()
            await self.server.wait_closed()

        def run_loop() -> None:
            asyncio.set_event_loop(self.loop)
            self.loop.run_until_complete(main())

        threading.Thread(target=run_loop, name=f"websocket-{self.name}", daemon=True).start()
        if not ready.wait(30):
            raise RuntimeError(f"websocket {self.name}: the server did not start")
        return WebSocketServer(self.api, self.port, self.stop)

    def stop(self) -> None:
        if self.server is not None:
            self.loop.call_soon_threadsafe(self.server.close)
