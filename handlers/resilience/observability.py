"""Logger, Metrics and Tracer for every handler, created once per execution environment.

Powertools all three; the Tracer uses ``XRayDaemonProvider`` instead of the X-Ray SDK (see
``xray.py``), which keeps a traced handler's cold start close to a bare boto3 handler's
(``make bench``, cold-start row).
"""

from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics, Tracer

from .xray import XRayDaemonProvider

__all__ = ["build_tracer", "logger", "metrics", "tracer"]


def build_tracer(service: str | None = None, provider: XRayDaemonProvider | None = None) -> Tracer:
    """A Powertools Tracer on the daemon provider; botocore calls are traced when tracing is on.

    ``disabled=False`` is deliberate: Powertools' own disabling imports the X-Ray SDK, while
    this provider turns itself into a no-op outside Lambda or when tracing is off.
    """
    provider = provider or XRayDaemonProvider()
    tracer = Tracer(service=service, disabled=False, auto_patch=False, provider=provider)
    if provider.enabled:
        provider.patch(["botocore"])
    return tracer


logger = Logger()
metrics = Metrics()
tracer = build_tracer()
