"""``resilient-serverless run --stack dev``: a stack's HTTP and WebSocket front doors on 127.0.0.1, on the same
engine as ``run_locally``, until Ctrl-C; one log line per request and per handler invocation."""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, TextIO

from ..capture import Graph
from .apis import Api
from .functions import Invocation
from .run import LocalRun, run_locally
from .serve_websocket import WebSocketServer, serve_websockets

__all__ = ["serve"]


def _handler_for(
    run: LocalRun,
    api: Api,
    lock: threading.Lock,
    caller: str | None,
    log: TextIO,
    *,
    rewrites: list[tuple[str, str]],
) -> type:
    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            started = time.monotonic()
            with lock:
                response = run.request(
                    self.command, self.path, headers=dict(self.headers.items()), caller=caller, api=api.name, body=body
                )
            body = _localized(response.body, rewrites)
            self.send_response(response.status)
            for name, value in response.headers.items():
                if name.lower() != "content-length":
                    self.send_header(name, _localized(value.encode(), rewrites).decode())
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            elapsed_ms = (time.monotonic() - started) * 1000
            print(
                f"request  {api.name} {self.command} {self.path} -> {response.status} ({elapsed_ms:.0f} ms)",
                file=log,
                flush=True,
            )

        do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _answer

        def log_message(self, format: str, *args: Any) -> None:
            return None

    return Handler


def _localized(body: bytes, rewrites: list[tuple[str, str]]) -> bytes:
    """An answer whose links name the stack's own hosts (a job's status, result and push URLs) names
    the local servers instead, so a client following them reaches this run, not AWS."""
    try:
        text = body.decode()
    except UnicodeDecodeError:
        return body  # binary: nothing to follow
    for remote, local in rewrites:
        text = text.replace(remote, local)
    return text.encode()


def _log_invocations(run: LocalRun, log: TextIO) -> None:
    invoke: Callable[..., Invocation] = run.functions.invoke

    def logged(name_or_arn: str, event: Any, *, source: str = "") -> Invocation:
        started = time.monotonic()
        invocation = invoke(name_or_arn, event, source=source)
        outcome = f"error {invocation.error.get('errorType')}" if invocation.error else "ok"
        elapsed_ms = (time.monotonic() - started) * 1000
        print(
            f"invoke   {invocation.function} <- {source or 'direct'}: {outcome} ({elapsed_ms:.0f} ms)",
            file=log,
            flush=True,
        )
        return invocation

    run.functions.invoke = logged  # type: ignore[method-assign]


def _remote_urls(run: LocalRun, api: Api) -> list[str]:
    """The URLs the graph gives an API: HTTP API endpoints, REST stage invoke URLs (longest first)."""
    api_id = api.api.outputs.get("id")
    urls = [str(api.api.outputs.get("apiEndpoint") or "")]
    urls += [
        str(s.outputs.get("invokeUrl") or "")
        for s in run.graph.of_type("aws:apigateway/stage:Stage")
        if s.inputs.get("restApi") == api_id
    ]
    return sorted((u.rstrip("/") for u in urls if u), key=len, reverse=True)


def _local_urls(
    run: LocalRun, servers: list[tuple[Api, ThreadingHTTPServer]], sockets: list[WebSocketServer]
) -> list[tuple[str, str]]:
    """Each URL the graph gives a served API, with the local URL that serves it (longest first)."""
    local = [
        (remote, f"http://127.0.0.1:{s.server_address[1]}") for api, s in servers for remote in _remote_urls(run, api)
    ]
    local += [(str(w.api.outputs.get("apiEndpoint") or "").rstrip("/"), w.url) for w in sockets]
    return sorted(((remote, url) for remote, url in local if remote), key=lambda pair: len(pair[0]), reverse=True)


def _print_run(
    run: LocalRun, servers: list[tuple[Api, ThreadingHTTPServer]], sockets: list[WebSocketServer], log: TextIO
) -> None:
    """What is not running (with the reason), and the exports with local URLs."""
    by_reason: dict[str, int] = {}
    for reason in run.not_running.values():
        by_reason[reason] = by_reason.get(reason, 0) + 1
    for reason, count in sorted(by_reason.items()):
        print(f"not running ({count}): {reason}", file=log)
    rewrites = _local_urls(run, servers, sockets)
    for key, value in sorted(run.outputs.items()):
        text = str(value)
        for remote, url in rewrites:
            text = text.replace(remote, url)
        print(f"export   {key} = {text}", file=log)


def serve(
    stack: str | Graph,
    project_dir: str = ".",
    *,
    caller: str | None = None,
    log: TextIO = sys.stdout,
    stop: threading.Event | None = None,
) -> int:
    """Serve the stack's HTTP, REST and WebSocket APIs until interrupted (or ``stop`` is set). ``caller`` signs
    every request (the principal of IAM-authorized routes); without it those routes answer 403, as
    unsigned calls do. ``stack``: a stack name of the project, or a graph already captured (the
    program must run on the main thread: Pulumi's runtime needs its event loop)."""
    stop = stop or threading.Event()
    with run_locally(stack, project_dir) as run:
        lock = threading.Lock()
        _log_invocations(run, log)
        servers = []
        rewrites: list[tuple[str, str]] = []  # filled once every server has its port
        for api in run.apis:
            server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(run, api, lock, caller, log, rewrites=rewrites))
            threading.Thread(target=server.serve_forever, daemon=True).start()
            servers.append((api, server))
            print(f"api      {api.name} ({api.flavor}): http://127.0.0.1:{server.server_address[1]}", file=log)
        sockets = serve_websockets(run, lock, log)
        for socket in sockets:
            print(f"websocket {socket.api.inputs.get('name') or socket.api.name}: {socket.url}", file=log)
        rewrites.extend(_local_urls(run, servers, sockets))
        _print_run(run, servers, sockets, log)
        print(f"caller   {caller or 'none: IAM-authorized routes answer 403'}; Ctrl-C stops", file=log, flush=True)
        try:
            while not stop.is_set():
                with lock:
                    run.settle(advance_clock=False)
                time.sleep(0.5)
        except KeyboardInterrupt:
            print("stopped", file=log)
        finally:
            for _, server in servers:
                server.shutdown()
            for socket in sockets:
                socket.stop()
    return 0
