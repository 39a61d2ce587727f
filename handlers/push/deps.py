"""What the push functions share: their clients and tables (one set per execution environment,
injectable for tests), and the release of a parked workflow."""

from __future__ import annotations

import functools
import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..resilience.clients import aws_client
from ..resilience.observability import logger
from .store import Connections, Jobs

__all__ = ["PushDeps", "deps_from_env", "release_workflow"]

# The workflow already left the wait (timeout, heartbeat, cancelled): nothing to release.
TASK_GONE_CODES = frozenset({"TaskTimedOut", "TaskDoesNotExist", "InvalidToken"})


@dataclass
class PushDeps:
    dynamodb: Any
    stepfunctions: Any
    connections: Connections
    jobs: Jobs
    connect_auth: str = "token"
    clock: Callable[[], float] = field(default=time.time)


@functools.cache
def deps_from_env() -> PushDeps:
    dynamodb = aws_client("dynamodb")
    jobs_table = os.environ.get("JOBS_TABLE", "")
    return PushDeps(
        dynamodb=dynamodb,
        stepfunctions=aws_client("stepfunctions"),
        connections=Connections(dynamodb, os.environ.get("CONNECTIONS_TABLE", "")),
        jobs=Jobs(dynamodb, jobs_table),
        connect_auth=os.environ.get("PUSH_CONNECT_AUTH", "token"),
    )


def release_workflow(deps: PushDeps, job: dict[str, Any], now: float) -> bool:
    """Send the task success for the token parked on ``job`` (a DynamoDB item), once: True when
    this call released the workflow."""
    token = (job.get("push_task_token") or {}).get("S")
    job_id = job["job_id"]["S"]
    if not token or not deps.jobs.claim_task_token(job_id, token):
        return False
    try:
        deps.stepfunctions.send_task_success(
            taskToken=token, output=json.dumps({"job_id": job_id, "subscribed_at": int(now)})
        )
    except Exception as error:
        code = getattr(error, "response", {}).get("Error", {}).get("Code")
        if code not in TASK_GONE_CODES:
            raise
        logger.info("workflow no longer waits for a subscriber", extra={"job_id": job_id, "code": code})
        return False
    return True
