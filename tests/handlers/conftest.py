"""Handler tests: moto for AWS, a fake Lambda context, metrics flushed between tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from resilient_serverless.components.testing import FakeLambdaContext, lambda_context


@pytest.fixture
def context() -> FakeLambdaContext:
    """The kit's context, the one users run handlers locally with."""
    return lambda_context("orders")


@pytest.fixture(autouse=True)
def _fresh_metrics() -> Iterator[None]:
    from handlers.resilience.observability import metrics

    metrics.clear_metrics()
    yield
    metrics.clear_metrics()
