"""Handler tests: moto for AWS, a fake Lambda context, metrics flushed between tests."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError
from resilient_serverless.components.testing import FakeLambdaContext, lambda_context


def client_error(code: str, status: int, operation: str = "Op") -> ClientError:
    """A botocore ClientError as AWS would raise it for ``code`` and HTTP ``status``."""
    response: Any = {"Error": {"Code": code, "Message": code}, "ResponseMetadata": {"HTTPStatusCode": status}}
    return ClientError(response, operation)


# The kit's context (what users run handlers locally with), pinned to the name these tests use.
FakeContext = FakeLambdaContext


@pytest.fixture
def context() -> FakeContext:
    return lambda_context("orders")


@pytest.fixture(autouse=True)
def _fresh_metrics() -> Iterator[None]:
    from handlers.resilience.observability import metrics

    metrics.clear_metrics()
    yield
    metrics.clear_metrics()
