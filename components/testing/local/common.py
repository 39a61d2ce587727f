"""Small helpers every part of the local run shares."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

__all__ = ["AsyncConfig", "AsyncInvoke", "Mapping_", "dumps", "function_arn"]


def dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


def function_arn(uri: str) -> str:
    # Lambda proxy URIs are the function ARN, or API Gateway's invoke path around it.
    found = re.search(r"(arn:[^:]+:lambda:[^:]+:\d+:function:[^/]+)", uri)
    return found.group(1) if found else uri


@dataclass(frozen=True)
class Mapping_:
    """An SQS event source mapping of the graph."""

    queue_url: str
    queue_arn: str
    function: str
    batch_size: int
    partial_failures: bool
    max_concurrency: int | None


@dataclass
class AsyncInvoke:
    function: str
    event: Any
    first_at: float
    attempts: int = 0
    not_before: float = 0.0


@dataclass(frozen=True)
class AsyncConfig:
    retries: int = 2  # Lambda's defaults for async invokes
    max_age_s: int = 21600
    on_failure: str | None = None
