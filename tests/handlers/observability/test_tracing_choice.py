"""The tracing choice and the shared observability objects: RESILIENT_TRACING read
from the environment, its exact error, patching left to the provider (nothing patched when tracing
is off), and the shared Logger, Metrics and Tracer a handler imports."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from aws_lambda_powertools import Logger, Metrics, Tracer

from handlers.resilience import observability
from handlers.resilience.observability import build_tracer, provider_from_env
from handlers.resilience.otel import OpenTelemetryProvider
from handlers.resilience.xray import XRayDaemonProvider


class RecordingProvider(XRayDaemonProvider):
    """Records what it is asked to patch instead of patching botocore."""

    def __init__(self, *, enabled: bool) -> None:
        super().__init__(enabled=enabled)
        self.patched: list[object] = []

    def patch(self, modules: Sequence[str]) -> None:
        self.patched.append(list(modules))

    def patch_all(self) -> None:
        self.patched.append("all")


def test_resilient_tracing_is_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN RESILIENT_TRACING=otel, as ResilientFunction sets it for tracing="otel"
    monkeypatch.setenv("RESILIENT_TRACING", "otel")
    # WHEN the provider is chosen without a value THEN it is OpenTelemetry; a value given wins
    assert type(provider_from_env()) is OpenTelemetryProvider
    assert type(provider_from_env("xray")) is XRayDaemonProvider


def test_an_empty_resilient_tracing_means_xray(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RESILIENT_TRACING", "")
    assert type(provider_from_env()) is XRayDaemonProvider


def test_an_unknown_tracing_choice_is_refused_with_the_exact_message(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RESILIENT_TRACING", "jaeger")
    with pytest.raises(ValueError) as raised:
        provider_from_env()
    assert str(raised.value) == "RESILIENT_TRACING='jaeger' is not one of 'xray', 'otel'"


def test_a_tracer_on_a_disabled_provider_patches_nothing() -> None:
    # GIVEN tracing off (outside Lambda, or POWERTOOLS_TRACE_DISABLED) WHEN a tracer is built
    provider = RecordingProvider(enabled=False)
    build_tracer(service="orders", provider=provider)
    # THEN botocore is left as it is: no patch, and no patch_all from Powertools' auto-patching
    assert provider.patched == []


def test_a_tracer_on_an_enabled_provider_patches_botocore_only() -> None:
    provider = RecordingProvider(enabled=True)
    tracer = build_tracer(service="orders", provider=provider)
    assert provider.patched == [["botocore"]]
    assert tracer.provider is provider


def test_handlers_share_one_logger_metrics_and_tracer() -> None:
    # GIVEN the module a handler imports WHEN it is loaded THEN it holds the three, ready to use
    assert isinstance(observability.logger, Logger)
    assert isinstance(observability.metrics, Metrics)
    assert isinstance(observability.tracer, Tracer)
    assert isinstance(observability.tracer.provider, XRayDaemonProvider)
