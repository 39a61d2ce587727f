"""One local run per stack of the reference deployment, shared by every e2e test of that stack
(starting one costs seconds: the program, moto, the resources). Tests use their own ids, so the
runs' shared state does not couple them."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from resilient_serverless.components.testing import LocalRun, run_locally

ROOT = Path(__file__).resolve().parents[2]
STACKS = ["dev", "staging", "prod", "local"]
# The routes of every stack but local are IAM-authorized: the test calls them as this principal.
CALLER = "arn:aws:iam::123456789012:role/orders-client"


@pytest.fixture(scope="session", params=STACKS)
def stack(request: pytest.FixtureRequest) -> Iterator[LocalRun]:
    with run_locally(request.param, ROOT) as run:
        yield run


def new_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def dlq_messages(run: LocalRun, queue_name_suffix: str) -> list[dict[str, Any]]:
    """Every message in the queue whose name ends with the suffix, with its attributes (received
    and made visible again, so the test looks without consuming)."""
    sqs = run.client("sqs")
    url = next(u for u in sqs.list_queues()["QueueUrls"] if u.endswith(queue_name_suffix))
    answer = sqs.receive_message(
        QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"], AttributeNames=["All"], VisibilityTimeout=0
    )
    return list(answer.get("Messages") or [])
