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
