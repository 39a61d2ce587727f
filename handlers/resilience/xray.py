"""A Powertools tracing provider that writes X-Ray subsegments straight to the daemon over UDP.

Powertools' default provider is the X-Ray SDK, whose import (with wrapt) costs about 30 ms of
cold start here and patches every library it knows. This provider implements Powertools'
``BaseProvider``: each subsegment is sent as an independent subsegment document (the X-Ray
daemon protocol: a JSON header line, then the document) when it closes. It patches only botocore,
so AWS calls appear as ``aws`` subsegments. Tracing never fails an invocation: a send error is
dropped. It is a no-op when the invocation is not sampled or tracing is off.
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import numbers
import os
import socket
import time
import traceback
from collections.abc import AsyncGenerator, Callable, Generator, Sequence
from typing import Any

from aws_lambda_powertools.tracing.base import BaseProvider, BaseSegment

__all__ = ["Subsegment", "XRayDaemonProvider", "parse_trace_header"]

HEADER = b'{"format": "json", "version": 1}\n'
MAX_DOCUMENT_BYTES = 60_000  # UDP datagram and X-Ray document limit is 64 KB
_current: contextvars.ContextVar[Subsegment | None] = contextvars.ContextVar("xray_subsegment", default=None)


def parse_trace_header(header: str | None) -> dict[str, str]:
    """``Root=1-...;Parent=...;Sampled=1`` -> ``{"Root": ..., "Parent": ..., "Sampled": "1"}``."""
    parts: dict[str, str] = {}
    for item in (header or "").split(";"):
        key, _, value = item.strip().partition("=")
        if key and value:
            parts[key] = value
    return parts


def _daemon_address(raw: str | None) -> tuple[str, int]:
    # Forms: "127.0.0.1:2000" or "tcp:127.0.0.1:2000 udp:127.0.0.1:2000"
    address = raw or "127.0.0.1:2000"
    for part in address.split():
        if part.startswith("udp:"):
            address = part[4:]
            break
    host, _, port = address.rpartition(":")
    return host, int(port)


class Subsegment(BaseSegment):
    """One X-Ray subsegment; becomes a JSON document on ``close``."""

    def __init__(self, name: str, trace_id: str, parent_id: str, sampled: bool) -> None:
        self.name = name[:200]
        self.id = os.urandom(8).hex()
        self.trace_id, self.parent_id, self.sampled = trace_id, parent_id, sampled
        self.start_time = time.time()
        self.end_time: float | None = None
        self.annotations: dict[str, Any] = {}
        self.metadata: dict[str, dict[str, Any]] = {}
        self.namespace: str | None = None
        self.aws: dict[str, Any] = {}
        self.http: dict[str, Any] = {}
        self.error = self.fault = self.throttle = False
        self.cause: dict[str, Any] | None = None

    def close(self, end_time: int | None = None) -> None:
        self.end_time = float(end_time) if end_time is not None else time.time()

    def add_subsegment(self, subsegment: Any) -> None:
        """Subsegments are sent on their own with ``parent_id``; nothing to keep here."""

    def remove_subsegment(self, subsegment: Any) -> None:
        """See ``add_subsegment``."""

    def put_annotation(self, key: str, value: str | numbers.Number | bool) -> None:
        if isinstance(value, str | int | float | bool):
            self.annotations["".join(c if c.isalnum() else "_" for c in key)] = value

    def put_metadata(self, key: str, value: Any, namespace: str = "default") -> None:
        self.metadata.setdefault(namespace, {})[key] = value

    def add_exception(self, exception: BaseException, stack: Any, remote: bool = False) -> None:
        self.fault = True
        frames = traceback.extract_tb(exception.__traceback__)[-10:]
        self.cause = {
            "working_directory": os.getcwd(),
            "exceptions": [
                {
                    "id": os.urandom(8).hex(),
                    "message": str(exception)[:1000],
                    "type": type(exception).__name__,
                    "remote": remote,
                    "stack": [{"path": f.filename, "line": f.lineno, "label": f.name} for f in frames],
                }
            ],
        }

    def document(self) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "type": "subsegment",
            "name": self.name,
            "id": self.id,
            "trace_id": self.trace_id,
            "parent_id": self.parent_id,
            "start_time": self.start_time,
            "end_time": self.end_time if self.end_time is not None else time.time(),
        }
        for key in ("namespace", "cause"):
            if getattr(self, key):
                doc[key] = getattr(self, key)
        for key in ("annotations", "metadata", "aws", "http"):
            if getattr(self, key):
                doc[key] = getattr(self, key)
        for key in ("error", "fault", "throttle"):
            if getattr(self, key):
                doc[key] = True
        return doc


class XRayDaemonProvider(BaseProvider):
    """Tracing provider for ``Tracer(provider=...)``. ``send`` replaces the UDP socket in tests."""

    def __init__(self, *, enabled: bool | None = None, send: Callable[[bytes], Any] | None = None) -> None:
        self.enabled = self.tracing_enabled() if enabled is None else enabled
        self._send = send
        self._socket: socket.socket | None = None

    @staticmethod
    def tracing_enabled() -> bool:
        """On in Lambda unless POWERTOOLS_TRACE_DISABLED is set (as Powertools decides)."""
        disabled = os.getenv("POWERTOOLS_TRACE_DISABLED", "false").lower() in ("1", "true", "yes", "on")
        local = os.getenv("AWS_SAM_LOCAL") or os.getenv("AWS_CHALICE_CLI_MODE")
        return bool(os.getenv("LAMBDA_TASK_ROOT")) and not disabled and not local

    def _start(self, name: str) -> Subsegment:
        header = parse_trace_header(os.getenv("_X_AMZN_TRACE_ID"))
        parent = _current.get()
        sampled = self.enabled and header.get("Sampled") == "1" and "Root" in header
        parent_id = parent.id if parent is not None else header.get("Parent", "")
        return Subsegment(name, header.get("Root", ""), parent_id, sampled and bool(parent_id))

    def _emit(self, subsegment: Subsegment) -> None:
        if not subsegment.sampled:
            return
        body = json.dumps(subsegment.document(), default=str).encode()
        if len(body) > MAX_DOCUMENT_BYTES:
            subsegment.metadata = {"default": {"truncated": f"metadata dropped: document was {len(body)} bytes"}}
            body = json.dumps(subsegment.document(), default=str).encode()
        try:
            if self._send is not None:
                self._send(HEADER + body)
                return
            if self._socket is None:
                self._socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            self._socket.sendto(HEADER + body, _daemon_address(os.getenv("AWS_XRAY_DAEMON_ADDRESS")))
        except OSError:
            pass  # tracing must never fail the invocation

    @contextlib.contextmanager
    def in_subsegment(self, name: str | None = None, **kwargs: Any) -> Generator[Subsegment, None, None]:
        subsegment = self._start(name or "anonymous")
        token = _current.set(subsegment)
        try:
            yield subsegment
        finally:
            _current.reset(token)
            subsegment.close()
            self._emit(subsegment)

    @contextlib.asynccontextmanager
    async def in_subsegment_async(self, name: str | None = None, **kwargs: Any) -> AsyncGenerator[Subsegment, None]:
        with self.in_subsegment(name, **kwargs) as subsegment:
            yield subsegment

    def put_annotation(self, key: str, value: str | numbers.Number | bool) -> None:
        current = _current.get()
        if current is not None:
            current.put_annotation(key, value)

    def put_metadata(self, key: str, value: Any, namespace: str = "default") -> None:
        current = _current.get()
        if current is not None:
            current.put_metadata(key, value, namespace)

    def patch(self, modules: Sequence[str]) -> None:
        unknown = sorted(set(modules) - {"botocore", "boto3"})
        if unknown:
            raise ValueError(f"XRayDaemonProvider patches botocore only, not {', '.join(unknown)}")
        patch_botocore(self)

    def patch_all(self) -> None:
        patch_botocore(self)


def patch_botocore(provider: XRayDaemonProvider) -> None:
    """Trace every botocore API call as an ``aws`` subsegment (once per process)."""
    from botocore.client import BaseClient  # noqa: PLC0415

    original = BaseClient._make_api_call  # type: ignore[attr-defined]
    if getattr(original, "__xray_traced__", False):
        return

    def _make_api_call(client: Any, operation_name: str, api_params: dict[str, Any]) -> Any:
        with provider.in_subsegment(client.meta.service_model.service_id) as sub:
            sub.namespace = "aws"
            sub.aws = {"operation": operation_name, "region": client.meta.region_name}
            for key, field in (("table_name", "TableName"), ("queue_url", "QueueUrl")):
                if field in api_params:
                    sub.aws[key] = api_params[field]
            try:
                response = original(client, operation_name, api_params)
            except Exception as error:
                meta = getattr(error, "response", {}).get("ResponseMetadata", {})
                status = meta.get("HTTPStatusCode", 0)
                sub.aws["request_id"] = meta.get("RequestId")
                sub.http = {"response": {"status": status}} if status else {}
                sub.throttle = status == 429
                sub.error = 400 <= status < 500
                sub.add_exception(error, None, remote=bool(status))
                sub.fault = status >= 500 or not status
                raise
            meta = response.get("ResponseMetadata", {})
            sub.aws["request_id"] = meta.get("RequestId")
            sub.http = {"response": {"status": meta.get("HTTPStatusCode")}}
            return response

    _make_api_call.__xray_traced__ = True  # type: ignore[attr-defined]
    BaseClient._make_api_call = _make_api_call  # type: ignore[attr-defined]
