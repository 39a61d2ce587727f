"""Logger, Metrics and Tracer for every handler, created once per execution environment.

Powertools all three; the Tracer uses ``XRayDaemonProvider`` instead of the X-Ray SDK (see
``xray.py``), which keeps a traced handler's cold start close to a bare boto3 handler's
(``make bench``, cold-start row).
"""

from __future__ import annotations

import os

from aws_lambda_powertools import Logger, Metrics, Tracer

from .xray import XRayDaemonProvider

__all__ = ["TRACING_CHOICES", "build_tracer", "logger", "metrics", "provider_from_env", "tracer"]

TRACING_CHOICES = ("xray", "otel")


def provider_from_env(value: str | None = None) -> XRayDaemonProvider:
    """The provider ``RESILIENT_TRACING`` names (ResilientFunction sets it from ``tracing``):
    ``xray`` (the X-Ray daemon over UDP) or ``otel`` (OpenTelemetry, the ADOT layer's provider).
    Default: ``xray``. OpenTelemetry is imported only when chosen (cold start)."""
    choice = (value if value is not None else os.getenv("RESILIENT_TRACING", "")) or "xray"
    if choice not in TRACING_CHOICES:
        raise ValueError(f"RESILIENT_TRACING={choice!r} is not one of 'xray', 'otel'")
    if choice == "otel":
        from .otel import OpenTelemetryProvider  # noqa: PLC0415

        return OpenTelemetryProvider()
    return XRayDaemonProvider()


def build_tracer(service: str | None = None, provider: XRayDaemonProvider | None = None) -> Tracer:
    """A Powertools Tracer on the chosen provider; botocore calls are traced when tracing is on.

    ``disabled=False`` is deliberate: Powertools' own disabling imports the X-Ray SDK, while
    these providers turn themselves into no-ops outside Lambda or when tracing is off.
    """
    provider = provider or provider_from_env()
    tracer = Tracer(service=service, disabled=False, auto_patch=False, provider=provider)
    if provider.enabled:
        provider.patch(["botocore"])
    return tracer


logger = Logger()
metrics = Metrics()
tracer = build_tracer()
