"""The runtime inside one local execution environment (a subprocess), as Lambda's bootstrap is.

Started as ``python -I bootstrap.py <task_dir> <handler>`` with the function's environment only;
it imports the handler from the task directory (the function's package, unzipped, as Lambda
unzips it to ``/var/task``), then answers one JSON line per invocation on the protocol pipe.
Standard output goes to the log like the handler's other prints; the protocol has its own fd.

It must import nothing from this package: the package under test is what the task directory
holds, not the source tree.
"""

from __future__ import annotations

import datetime as _datetime
import importlib
import json
import os
import re
import sys
import time
import traceback
from typing import Any

_real_time = time.time
_real_time_ns = time.time_ns
_offset_s = float(os.environ.pop("LOCAL_CLOCK_OFFSET_S", "0") or 0)


def _shifted_time() -> float:
    return _real_time() + _offset_s


def _shifted_time_ns() -> int:
    return _real_time_ns() + int(_offset_s * 1e9)


class _ShiftedDatetime(_datetime.datetime):
    """``datetime.now`` follows the run's clock, as ``time.time`` does."""

    @classmethod
    def now(cls, tz: Any = None) -> Any:
        return cls.fromtimestamp(_shifted_time(), tz)

    @classmethod
    def utcnow(cls) -> Any:
        return cls.fromtimestamp(_shifted_time(), _datetime.UTC).replace(tzinfo=None)


def _install_clock() -> None:
    # Before the handler is imported: module-level defaults such as ``clock=time.time`` bind then.
    time.time = _shifted_time
    time.time_ns = _shifted_time_ns
    _datetime.datetime = _ShiftedDatetime  # type: ignore[misc]


_EXECUTE_API = re.compile(r"^https://[a-z0-9]+\.execute-api\.[a-z0-9-]+\.amazonaws\.com(/.*)?$")


def _install_network() -> None:
    """The local network: an API Gateway endpoint (``https://<id>.execute-api...``, as a WebSocket
    API's ``@connections`` URL) reaches the local backend, as AWS_ENDPOINT_URL reaches it for the
    rest; the stage path is the backend's to ignore."""
    import botocore.session

    create_client = botocore.session.Session.create_client

    def create_local_client(self: Any, service_name: str, *args: Any, **kwargs: Any) -> Any:
        endpoint = kwargs.get("endpoint_url")
        local = os.environ.get("AWS_ENDPOINT_URL")
        if local and isinstance(endpoint, str) and _EXECUTE_API.match(endpoint):
            kwargs["endpoint_url"] = local
        return create_client(self, service_name, *args, **kwargs)

    botocore.session.Session.create_client = create_local_client  # type: ignore[method-assign]


_ROUTES: dict[str, dict[str, Any]] = {}  # host name -> its route on the local network


def _install_routes() -> None:
    """The runner's local network for named endpoints (a webhook receiver): the host name resolves
    to the public address the runner gave it, a connection to that address and port reaches the
    runner's server, and TLS trusts the server's CA. Every other name and address is the
    machine's: a URL on 127.0.0.1 still resolves to 127.0.0.1."""
    import socket
    import ssl

    getaddrinfo, create_connection = socket.getaddrinfo, socket.create_connection
    create_default_context = ssl.create_default_context

    def local_getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        route = _ROUTES.get(str(host).lower()) if isinstance(host, str) else None
        if route is None:
            return getaddrinfo(host, port, *args, **kwargs)
        return [(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (route["address"], int(port or 0)))]

    def local_create_connection(address: Any, *args: Any, **kwargs: Any) -> Any:
        for route in _ROUTES.values():
            if tuple(address[:2]) == (route["address"], route["port"]):
                address = tuple(route["to"])
        return create_connection(address, *args, **kwargs)

    def local_default_context(*args: Any, **kwargs: Any) -> Any:
        context = create_default_context(*args, **kwargs)
        for route in _ROUTES.values():
            context.load_verify_locations(cadata=route["ca"])
        return context

    socket.getaddrinfo = local_getaddrinfo
    socket.create_connection = local_create_connection
    ssl.create_default_context = local_default_context


class Context:
    """The attributes and the method of Lambda's context that handlers use; the deadline is the
    invocation's (the function timeout from the moment the runner started it), on the run's clock."""

    def __init__(self, request: dict[str, Any]) -> None:
        self.function_name = os.environ["AWS_LAMBDA_FUNCTION_NAME"]
        self.function_version = os.environ.get("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        self.memory_limit_in_mb = int(os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128"))
        self.invoked_function_arn = request["invoked_function_arn"]
        self.aws_request_id = request["request_id"]
        self.log_group_name = os.environ.get("AWS_LAMBDA_LOG_GROUP_NAME", "")
        self.log_stream_name = os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME", "")
        self._deadline_s = float(request["deadline_s"])

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline_s - _shifted_time()) * 1000))


def _error(exc: BaseException) -> dict[str, Any]:
    return {
        "errorMessage": str(exc),
        "errorType": type(exc).__name__,
        "stackTrace": traceback.format_tb(exc.__traceback__),
    }


_INSTALLED: list[bool] = []


def _install() -> None:
    """The run's clock, network and routes, once, before the handler (or boto3) is imported."""
    if not _INSTALLED:
        _install_clock()
        _install_network()
        _install_routes()
        _INSTALLED.append(True)


def _zygote(channel_fd: int) -> None:
    """Start execution environments by forking this process, which has imported what every
    handler imports (boto3) once: the runner sends the environment's variables, directory and
    handler with its stdin, protocol and log descriptors; the child becomes that environment as a
    fresh ``bootstrap.py`` process would (its variables exactly, the task directory first on the
    path, the handler imported in it). A package of its own boto3 would not be used (none of the
    components' packages holds one): the runner starts environments without the zygote then."""
    import signal
    import socket

    channel = socket.socket(fileno=channel_fd)
    _install()
    import boto3  # noqa: F401 - imported once here, for every environment forked from here

    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # the kernel reaps the environments
    while True:
        message, fds, _, _ = socket.recv_fds(channel, 1 << 20, 3)
        if not message:
            return
        order = json.loads(message)
        pid = os.fork()
        if pid == 0:
            channel.close()
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            for target, fd in enumerate(fds):
                os.dup2(fd, target)
                os.close(fd)
            os.environ.clear()
            os.environ.update(order["env"])
            global _offset_s  # noqa: PLW0603 - this environment's clock, from its variables
            _offset_s = float(os.environ.pop("LOCAL_CLOCK_OFFSET_S", "0") or 0)
            sys.argv = [sys.argv[0], order["task_dir"], order["handler"]]
            try:
                main()
            finally:
                os._exit(0)
        for fd in fds:
            os.close(fd)
        channel.sendall(json.dumps({"pid": pid}).encode())


def main() -> None:
    task_dir, handler_path = sys.argv[1], sys.argv[2]
    protocol_out = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)  # prints and the logger go to the log, not into the protocol
    sys.stdout = sys.stderr
    _install()
    sys.path.insert(0, task_dir)
    os.chdir(task_dir)
    module_name, _, function_name = handler_path.rpartition(".")
    init_error: dict[str, Any] | None = None
    handler = None
    try:
        handler = getattr(importlib.import_module(module_name), function_name)
    except Exception as exc:
        init_error = _error(exc)
        init_error["errorType"] = f"Runtime.ImportModuleError: {init_error['errorType']}"
    for line in sys.stdin:
        request = json.loads(line)
        global _offset_s  # noqa: PLW0603 - the runner moves the clock between invocations
        _offset_s = float(request.get("clock_offset_s", _offset_s))
        os.environ["_X_AMZN_TRACE_ID"] = request.get("trace_id", "")
        _ROUTES.update({route["host"]: route for route in request.get("routes") or []})
        if handler is None:
            reply: dict[str, Any] = {"error": init_error}
        else:
            try:
                result = handler(request["event"], Context(request))
                reply = {"result": result}
            except Exception as exc:
                reply = {"error": _error(exc)}
        try:
            protocol_out.write(json.dumps(reply, default=str) + "\n")
        except (TypeError, ValueError) as exc:
            protocol_out.write(json.dumps({"error": _error(exc)}) + "\n")


if __name__ == "__main__":
    if sys.argv[1] == "--zygote":
        _zygote(int(sys.argv[2]))
    else:
        main()
