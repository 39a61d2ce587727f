"""A Powertools tracing provider that writes X-Ray subsegments straight to the daemon over UDP.

Powertools' default provider is the X-Ray SDK, whose import (with wrapt) costs about 30 ms of
cold start here and patches every library it knows. This provider implements Powertools'
``BaseProvider``: each subsegment is sent as an independent subsegment document (the X-Ray
daemon protocol: a JSON header line, then the document) when it closes. It patches only botocore,
so AWS calls appear as ``aws`` subsegments, and sets each call's trace header to the subsegment
that records it, so the service it calls (SQS, Lambda, Step Functions) links to the call.

Faithful to the SDK where it matters: an exception leaving any subsegment is recorded on it
(``fault`` and a ``cause`` with the stack; a parent it passes through refers to the child's
record by id, as the SDK does). Never harmful: a document is kept under the UDP limit by
dropping metadata, then annotations, largest first (counted in a debug log); the socket never
blocks; a send error drops the document. It is a no-op when the invocation is not sampled or
tracing is off.
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import logging
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
UDP_LIMIT_BYTES = 64 * 1024  # the daemon reads datagrams of at most 64 KiB (header included)
MAX_DOCUMENT_BYTES = UDP_LIMIT_BYTES - len(HEADER)
MAX_ANNOTATIONS = 50  # X-Ray indexes at most 50 annotations per trace
MAX_ANNOTATION_KEY = 500
MAX_STACK_FRAMES = 10
TRACE_HEADER = "X-Amzn-Trace-Id"
_DROP_NOTE_BYTES = 128  # room kept for the note saying what was dropped
log = logging.getLogger(__name__)
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
        self.cause: dict[str, Any] | str | None = None
        self.dropped_annotations = 0

    def close(self, end_time: int | None = None) -> None:
        self.end_time = float(end_time) if end_time is not None else time.time()

    def add_subsegment(self, subsegment: Any) -> None:
        """Subsegments are sent on their own with ``parent_id``; nothing to keep here."""

    def remove_subsegment(self, subsegment: Any) -> None:
        """See ``add_subsegment``."""

    def put_annotation(self, key: str, value: str | numbers.Number | bool) -> None:
        if not isinstance(value, str | int | float | bool):
            return
        name = "".join(c if c.isalnum() else "_" for c in key)[:MAX_ANNOTATION_KEY]
        if name not in self.annotations and len(self.annotations) >= MAX_ANNOTATIONS:
            self.dropped_annotations += 1  # X-Ray would not index it
            return
        self.annotations[name] = value

    def put_metadata(self, key: str, value: Any, namespace: str = "default") -> None:
        self.metadata.setdefault(namespace, {})[key] = value

    def add_exception(self, exception: BaseException, stack: Any, remote: bool = False) -> None:
        """Mark a fault and record the exception as the cause, with its stack (innermost frames).

        An exception already recorded on a subsegment it left is referred to by its id, as the
        X-Ray SDK does, so the trace shows where it was raised without repeating the stack."""
        self.fault = True
        recorded = getattr(exception, "_xray_exception_id", None)
        if isinstance(recorded, str):
            self.cause = recorded
            return
        exception_id = os.urandom(8).hex()
        frames = traceback.extract_tb(exception.__traceback__)
        self.cause = {
            "working_directory": os.getcwd(),
            "exceptions": [
                {
                    "id": exception_id,
                    "message": str(exception)[:1000],
                    "type": type(exception).__name__,
                    "remote": remote,
                    "truncated": max(0, len(frames) - MAX_STACK_FRAMES),
                    "stack": [
                        {"path": f.filename, "line": f.lineno, "label": f.name}
                        for f in reversed(frames[-MAX_STACK_FRAMES:])
                    ],
                }
            ],
        }
        with contextlib.suppress(AttributeError):  # a few built-in exceptions refuse attributes
            exception._xray_exception_id = exception_id  # type: ignore[attr-defined]

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
        self.dropped = {"metadata": 0, "annotations": 0, "documents": 0}

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

    def _bounded_body(self, subsegment: Subsegment) -> bytes | None:
        """The document as bytes, under the UDP limit: metadata, then annotations, go first,
        largest first. None when even the bare document does not fit."""
        dropped = {"metadata": 0, "annotations": subsegment.dropped_annotations}
        body = json.dumps(subsegment.document(), default=str).encode()
        budget = MAX_DOCUMENT_BYTES - _DROP_NOTE_BYTES if len(body) > MAX_DOCUMENT_BYTES else MAX_DOCUMENT_BYTES
        for field in ("metadata", "annotations"):
            entries: dict[str, Any] = getattr(subsegment, field)
            while len(body) > budget and entries:
                if field == "metadata":  # one entry per (namespace, key)
                    sizes = [
                        (len(json.dumps(v, default=str)), ns, k) for ns, kv in entries.items() for k, v in kv.items()
                    ]
                    _, namespace, key = max(sizes)
                    del entries[namespace][key]
                    if not entries[namespace]:
                        del entries[namespace]
                else:
                    del entries[max(entries, key=lambda k: len(json.dumps(entries[k], default=str)))]
                dropped[field] += 1
                body = json.dumps(subsegment.document(), default=str).encode()
        if dropped["metadata"] or dropped["annotations"]:
            # the trace itself says what is missing, so nobody reads an absence as a fact
            subsegment.metadata.setdefault("xray", {})["dropped"] = dict(dropped)
            body = json.dumps(subsegment.document(), default=str).encode()
            self.dropped["metadata"] += dropped["metadata"]
            self.dropped["annotations"] += dropped["annotations"]
            log.debug(
                "xray: subsegment %r dropped %d metadata and %d annotations to stay under %d bytes",
                subsegment.name,
                dropped["metadata"],
                dropped["annotations"],
                MAX_DOCUMENT_BYTES,
            )
        return body if len(body) <= MAX_DOCUMENT_BYTES else None

    def _emit(self, subsegment: Subsegment) -> None:
        if not subsegment.sampled:
            return
        body = self._bounded_body(subsegment)
        try:
            if body is None:
                raise OSError(f"document of {subsegment.name!r} does not fit a datagram")
            if self._send is not None:
                self._send(HEADER + body)
                return
            if self._socket is None:
                self._socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                self._socket.setblocking(False)  # a full buffer drops the trace, never waits
            self._socket.sendto(HEADER + body, _daemon_address(os.getenv("AWS_XRAY_DAEMON_ADDRESS")))
        except OSError as error:  # includes BlockingIOError: tracing must never fail or slow the invocation
            self.dropped["documents"] += 1
            log.debug("xray: subsegment %r not sent: %s", subsegment.name, error)

    @contextlib.contextmanager
    def in_subsegment(self, name: str | None = None, **kwargs: Any) -> Generator[Subsegment, None, None]:
        subsegment = self._start(name or "anonymous")
        token = _current.set(subsegment)
        try:
            yield subsegment
        except BaseException as error:
            if subsegment.cause is None:  # the botocore patch records remote errors itself
                subsegment.add_exception(error, None)
            raise
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


_patched_provider: XRayDaemonProvider | None = None


def trace_header_for(subsegment: Subsegment) -> str:
    """The ``X-Amzn-Trace-Id`` a call recorded by ``subsegment`` carries: the call is the parent."""
    return f"Root={subsegment.trace_id};Parent={subsegment.id};Sampled=1"


def patch_botocore(provider: XRayDaemonProvider) -> None:
    """Trace every botocore API call as an ``aws`` subsegment of ``provider``.

    The methods are wrapped once per process; each call uses the provider patched last (a new
    provider, in tests or after a configuration change, takes over instead of being ignored).
    """
    global _patched_provider  # noqa: PLW0603 (one patch per process, bound to the current provider)
    from botocore.client import BaseClient  # noqa: PLC0415

    _patched_provider = provider
    original = BaseClient._make_api_call  # type: ignore[attr-defined]
    if getattr(original, "__xray_traced__", False):
        return
    original_request = BaseClient._make_request  # type: ignore[attr-defined]

    def _make_request(client: Any, operation_model: Any, request_dict: dict[str, Any], context: Any) -> Any:
        current = _current.get()
        if current is not None and current.sampled and current.namespace == "aws":
            # botocore put the function's header here (Parent = the function segment); the
            # downstream service should link to this call instead.
            request_dict.setdefault("headers", {})[TRACE_HEADER] = trace_header_for(current)
        return original_request(client, operation_model, request_dict, context)

    def _make_api_call(client: Any, operation_name: str, api_params: dict[str, Any]) -> Any:
        current = _patched_provider
        if current is None:
            return original(client, operation_name, api_params)
        with current.in_subsegment(client.meta.service_model.service_id) as sub:
            sub.namespace = "aws"
            sub.aws = {"operation": operation_name, "region": client.meta.region_name}
            for key, field in (("table_name", "TableName"), ("queue_url", "QueueUrl")):
                if field in api_params:
                    sub.aws[key] = api_params[field]
            try:
                response = original(client, operation_name, api_params)
            except Exception as error:
                _record_failed_call(sub, error)
                raise
            meta = response.get("ResponseMetadata", {})
            sub.aws["request_id"] = meta.get("RequestId")
            sub.http = {"response": {"status": meta.get("HTTPStatusCode")}}
            return response

    _make_api_call.__xray_traced__ = True  # type: ignore[attr-defined]
    BaseClient._make_api_call = _make_api_call  # type: ignore[attr-defined]
    BaseClient._make_request = _make_request  # type: ignore[attr-defined]


def _record_failed_call(sub: Subsegment, error: Exception) -> None:
    """4xx is the caller's error (429 also a throttle), 5xx or no answer the service's fault."""
    meta = getattr(error, "response", {}).get("ResponseMetadata", {})
    status = meta.get("HTTPStatusCode", 0)
    sub.aws["request_id"] = meta.get("RequestId")
    sub.http = {"response": {"status": status}} if status else {}
    sub.add_exception(error, None, remote=bool(status))
    sub.throttle = status == 429
    sub.error = 400 <= status < 500
    sub.fault = status >= 500 or not status
