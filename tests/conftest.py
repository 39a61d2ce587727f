"""Shared fixtures. Infrastructure tests run under the package's own test kit; handler tests
use moto, with fake credentials so nothing can leave the machine."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

ROOT = Path(__file__).resolve().parents[1]
EVENTS = Path(__file__).resolve().parent / "events"
# A function's code in the component tests: the package root, which holds handlers/ (what the
# reference deployment packages), so a test's handler path resolves as it does in a stack.
HANDLERS = str(ROOT)

# Before any boto client exists: a region, fake credentials, and no real endpoint.
os.environ.update(
    {
        "AWS_DEFAULT_REGION": "eu-west-1",
        "AWS_REGION": "eu-west-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SECURITY_TOKEN": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "POWERTOOLS_SERVICE_NAME": "tests",
        "POWERTOOLS_METRICS_NAMESPACE": "tests",
    }
)
os.environ.pop("AWS_PROFILE", None)


@pytest.fixture
def root() -> Path:
    return ROOT


def load_event(name: str) -> Any:
    return json.loads((EVENTS / name).read_text())


def client_error(code: str, status: int, operation: str = "Op") -> ClientError:
    """A botocore ClientError as AWS would raise it for ``code`` and HTTP ``status``."""
    response: Any = {"Error": {"Code": code, "Message": code}, "ResponseMetadata": {"HTTPStatusCode": status}}
    return ClientError(response, operation)
