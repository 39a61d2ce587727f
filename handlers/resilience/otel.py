"""A Powertools tracing provider on OpenTelemetry: the same subsegments, as spans.

The X-Ray SDK and daemon are in maintenance since 2026-02-25 and lose support on 2027-02-25;
AWS recommends OpenTelemetry. This provider keeps everything handlers see from
``XRayDaemonProvider`` (the subsegment names Powertools gives, annotations and metadata with the
same bounds, an exception recorded as it leaves any span, AWS calls as spans that are the parent
in their request's trace header) and hands each one to an OpenTelemetry tracer instead of the
daemon. In Lambda the tracer provider comes from the ADOT layer (``AWS_LAMBDA_EXEC_WRAPPER=
/opt/otel-instrument``), which exports to X-Ray; anywhere else, from whatever the process
configured (an SDK ``TracerProvider`` in tests). Without a configured provider, spans do not
record and nothing is sent.

Mapping: annotations become span attributes listed in ``aws.xray.annotations`` (which the X-Ray
exporters index as annotations); metadata become attributes ``<namespace>.<key>`` (JSON for
anything but a string, number or boolean); AWS calls get ``rpc.system=aws-api``, ``rpc.service``,
``rpc.method``, ``aws.region``, ``aws.request_id``, the table or queue, and
``http.response.status_code``; an exception becomes an exception event with status ERROR.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Generator
from typing import Any

from .xray import Subsegment, XRayDaemonProvider, _current

__all__ = ["OpenTelemetryProvider", "SpanSubsegment"]

INSTRUMENTATION_NAME = "resilient_serverless.handlers"


def xray_trace_id(otel_trace_id: int) -> str:
    """OpenTelemetry's 128-bit trace id as X-Ray writes it: ``1-<8 hex>-<24 hex>``."""
    hex_id = f"{otel_trace_id:032x}"
    return f"1-{hex_id[:8]}-{hex_id[8:]}"


class SpanSubsegment(Subsegment):
    """A subsegment whose identity is an OpenTelemetry span's; written to the span on close."""

    def __init__(self, name: str, span: Any, parent_id: str) -> None:
        context = span.get_span_context()
        super().__init__(name, xray_trace_id(context.trace_id), parent_id, span.is_recording())
        self.id = f"{context.span_id:016x}"
        self.span = span

    def add_exception(self, exception: BaseException, stack: Any, remote: bool = False) -> None:
        super().add_exception(exception, stack, remote)
        from opentelemetry.trace import Status, StatusCode  # noqa: PLC0415

        self.span.record_exception(exception, attributes={"exception.remote": remote})
        self.span.set_status(Status(StatusCode.ERROR, f"{type(exception).__name__}: {exception}"[:1000]))

    def attributes(self) -> dict[str, Any]:
        """What the span carries: annotations, metadata and the AWS call, as attributes."""
        attributes: dict[str, Any] = dict(self.annotations)
        if self.annotations:
            attributes["aws.xray.annotations"] = sorted(self.annotations)
        for namespace, entries in self.metadata.items():
            for key, value in entries.items():
                name = key if namespace == "default" else f"{namespace}.{key}"
                plain = isinstance(value, str | int | float | bool)
                attributes[name] = value if plain else json.dumps(value, default=str)
        if self.namespace == "aws":
            attributes.update({"rpc.system": "aws-api", "rpc.service": self.name})
            for key, attribute in (
                ("operation", "rpc.method"),
                ("region", "aws.region"),
                ("request_id", "aws.request_id"),
                ("table_name", "aws.dynamodb.table_names"),
                ("queue_url", "aws.sqs.queue_url"),
            ):
                value = self.aws.get(key)
                if value is not None:
                    attributes[attribute] = [value] if attribute.endswith("names") else value
        status = self.http.get("response", {}).get("status")
        if status:
            attributes["http.response.status_code"] = status
        for flag in ("error", "fault", "throttle"):
            if getattr(self, flag):
                attributes[f"aws.xray.{flag}"] = True
        return attributes


class OpenTelemetryProvider(XRayDaemonProvider):
    """Tracing provider for ``Tracer(provider=...)`` on OpenTelemetry.

    ``tracer_provider``: the OpenTelemetry ``TracerProvider`` to use. Default: the global one
    (the ADOT layer's in Lambda). ``enabled``: Default: as ``XRayDaemonProvider`` decides (in
    Lambda, unless POWERTOOLS_TRACE_DISABLED); spans record only when a provider is configured
    and samples them.
    """

    def __init__(self, *, enabled: bool | None = None, tracer_provider: Any = None) -> None:
        super().__init__(enabled=enabled)
        from opentelemetry import trace  # noqa: PLC0415 (only when this provider is chosen)

        self._tracer = trace.get_tracer(INSTRUMENTATION_NAME, tracer_provider=tracer_provider)

    def _start(self, name: str) -> Subsegment:
        from opentelemetry import trace  # noqa: PLC0415

        parent = _current.get()
        context = trace.set_span_in_context(parent.span) if isinstance(parent, SpanSubsegment) else None
        # tracing off: no span at all (one started and ended at once is still exported, empty)
        span = self._tracer.start_span(name[:200], context=context) if self.enabled else trace.INVALID_SPAN
        parent_id = parent.id if parent is not None else ""
        return SpanSubsegment(name, span, parent_id)

    @contextlib.contextmanager
    def in_subsegment(self, name: str | None = None, **kwargs: Any) -> Generator[Subsegment, None, None]:
        from opentelemetry import trace  # noqa: PLC0415

        with super().in_subsegment(name, **kwargs) as subsegment:
            span = subsegment.span if isinstance(subsegment, SpanSubsegment) else trace.INVALID_SPAN
            # current in OpenTelemetry's context too, so other instrumentation nests under it;
            # exceptions are recorded once, by the subsegment, as they leave it
            with trace.use_span(span, end_on_exit=False, record_exception=False, set_status_on_exception=False):
                yield subsegment

    def _emit(self, subsegment: Subsegment) -> None:
        if not isinstance(subsegment, SpanSubsegment) or not subsegment.sampled:
            return
        self._bounded_body(subsegment)  # the same bounds as the daemon's documents, drops counted
        subsegment.span.set_attributes(subsegment.attributes())
        subsegment.span.end()
