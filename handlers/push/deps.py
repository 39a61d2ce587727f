"""What the socket function's routes share: clients and tables, one set per execution
environment, injectable for tests."""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..resilience.clients import aws_client
from ..resilience.contract import read_module
from .message import NotifyConfig
from .store import Connections, Jobs

__all__ = ["PushDeps", "deps_from_env"]


@dataclass
class PushDeps:
    dynamodb: Any
    connections: Connections
    jobs: Jobs
    connect_auth: str = "token"
    clock: Callable[[], float] = field(default=time.time)
    s3: Any = None
    """Reads an ended job's result when a client subscribes after the end."""
    config: NotifyConfig = field(default_factory=NotifyConfig)


@functools.cache
def deps_from_env() -> PushDeps:
    env = read_module("handlers.push.routes")
    dynamodb = aws_client("dynamodb")
    return PushDeps(
        dynamodb=dynamodb,
        connections=Connections(dynamodb, env["CONNECTIONS_TABLE"]),
        jobs=Jobs(dynamodb, env["JOBS_TABLE"]),
        connect_auth=env["PUSH_CONNECT_AUTH"],
        s3=aws_client("s3"),
        config=NotifyConfig.from_env(),
    )
