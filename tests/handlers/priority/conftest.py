"""The moto SQS client with the high, low and dead-letter queues the PriorityConsumer tests use."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws


@pytest.fixture
def sqs() -> Iterator[Any]:
    with mock_aws():
        client = boto3.client("sqs", region_name="eu-west-1")
        client.urls = {  # type: ignore[attr-defined]
            name: client.create_queue(QueueName=name)["QueueUrl"] for name in ("high", "low", "dlq")
        }
        yield client
