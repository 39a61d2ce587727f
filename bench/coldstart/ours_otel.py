"""The library handler on OpenTelemetry: RESILIENT_TRACING=otel, with an OTel SDK tracer provider
set up first, as the ADOT layer's wrapper does before the handler is imported. The layer's own
auto-instrumentation and exporter are not in this figure (they are not installable here)."""

import os

from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

os.environ["RESILIENT_TRACING"] = "otel"
_provider = TracerProvider()
_provider.add_span_processor(BatchSpanProcessor(InMemorySpanExporter()))
trace.set_tracer_provider(_provider)

from bench.coldstart.ours import lambda_handler  # noqa: E402

__all__ = ["lambda_handler"]
