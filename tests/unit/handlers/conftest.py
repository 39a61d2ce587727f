"""Handler tests: moto for AWS, a fake Lambda context, metrics flushed between tests."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from botocore.exceptions import ClientError


def client_error(code: str, status: int, operation: str = "Op") -> ClientError:
    """A botocore ClientError as AWS would raise it for ``code`` and HTTP ``status``."""
    response: Any = {"Error": {"Code": code, "Message": code}, "ResponseMetadata": {"HTTPStatusCode": status}}
    return ClientError(response, operation)


@dataclass
class FakeContext:
    function_name: str = "orders"
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = "arn:aws:lambda:eu-west-1:123456789012:function:orders"
    aws_request_id: str = "req-1"
    function_version: str = "$LATEST"
    log_group_name: str = "/aws/lambda/orders"
    log_stream_name: str = "stream"
    remaining_ms: int = 10_000

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


@pytest.fixture
def context() -> FakeContext:
    return FakeContext()


@pytest.fixture(autouse=True)
def _fresh_metrics() -> Iterator[None]:
    from handlers.resilience.observability import metrics

    metrics.clear_metrics()
    yield
    metrics.clear_metrics()
