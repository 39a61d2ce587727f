"""Step Functions task ``Push<Status>``: tell a job's subscribers that it ended.

The workflow runs it after the job's terminal status is recorded (a Request Response
``lambda:invoke``, so it runs on Express and Standard alike); the job is already finished for
every poller, and nothing here can change that.

- The job is read back (consistent) and its message built from what was recorded (``message``).
- Subscribers are the job's ``push_connections``: written by ``subscribe`` before it reads the
  job, read here after the status was written, so each subscriber is reached by one side or both.
- At most ``PUSH_NOTIFY_CONCURRENCY`` posts in flight: the management API's rate is shared.
- Throttling is retried with full-jitter backoff within the invocation's time; a 410 (gone) is
  never retried: the connection is removed.
- No subscriber: nothing to do (the client polls, or subscribes and gets the result at once).
  Posts that failed after retries raise ``PushFailed``: the workflow records it as ``push_error``.
"""

from __future__ import annotations

import functools
import json
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit

from ..resilience.backoff import Deadline, RetryPolicy, is_retryable, retry
from ..resilience.clients import aws_client
from ..resilience.contract import read_module
from ..resilience.observability import logger, metrics
from .message import NotifyConfig, message_for, message_for_job
from .protocol import MAX_JOB_ID
from .store import NO_JOB_TABLE, TERMINAL, Connections, Jobs, status_of, subscribers_of

__all__ = [
    "JobNotFinished",
    "NotifyConfig",
    "Outcome",
    "PushFailed",
    "lambda_handler",
    "message_for",
    "notify",
    "post_with_retry",
]

GONE = "GoneException"
# Throttled posts: up to 6 attempts, 100 ms doubling to a 2 s cap (full jitter).
POST_POLICY = RetryPolicy(attempts=6, base_s=0.1, cap_s=2.0)


class PushFailed(Exception):
    """Posts to subscribers failed after retries; the job's status is untouched."""


class JobNotFinished(Exception):
    """Asked to announce a job that is unknown or has no terminal status."""


@dataclass
class Outcome:
    delivered: list[str] = field(default_factory=list)
    gone: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    attempts: int = 0


def _code(error: BaseException) -> str:
    return str(getattr(error, "response", {}).get("Error", {}).get("Code", type(error).__name__))


def is_throttled_not_gone(error: BaseException) -> bool:
    """Retry throttling and server faults; a gone connection (410) will not come back."""
    return _code(error) != GONE and is_retryable(error)


def post_with_retry(
    management: Any,
    connection_id: str,
    *,
    data: bytes,
    deadline: Deadline | None,
    sleep: Callable[[float], Any],
    count: Callable[[], None],
) -> str:
    """``delivered``, ``gone`` or ``failed`` for one connection."""

    def post() -> None:
        count()
        management.post_to_connection(ConnectionId=connection_id, Data=data)

    try:
        retry(post, policy=POST_POLICY, deadline=deadline, retry_on=is_throttled_not_gone, sleep=sleep)
    except Exception as error:
        if _code(error) == GONE:
            return "gone"
        logger.warning("post failed", extra={"connection_id": connection_id, "code": _code(error)})
        return "failed"
    return "delivered"


def notify(
    event: dict[str, Any],
    *,
    jobs: Jobs,
    connections: Connections,
    management: Any,
    s3: Any,
    config: NotifyConfig,
    deadline: Deadline | None = None,
    sleep: Callable[[float], Any] | None = None,
) -> dict[str, Any]:
    job_id = event.get("job_id")
    if not isinstance(job_id, str) or not 0 < len(job_id) <= MAX_JOB_ID:
        raise ValueError(f"notify needs a job_id of 1 to {MAX_JOB_ID} characters, got keys {sorted(event)}")
    job = jobs.get(job_id)
    if job is None or status_of(job) not in TERMINAL:
        raise JobNotFinished(f"job {job_id!r} is {'unknown' if job is None else status_of(job)!r}, not finished")
    summary: dict[str, Any] = {"job_id": job_id, "status": status_of(job), "delivered": 0, "gone": 0, "failed": 0}
    subscribers = subscribers_of(job)
    if not subscribers:
        return summary | {"posts": 0}
    data = message_for_job(job, s3, config)
    outcome = Outcome()
    lock = threading.Lock()

    def count() -> None:
        with lock:
            outcome.attempts += 1

    post = functools.partial(post_with_retry, management, data=data, deadline=deadline, sleep=sleep or time.sleep)
    with ThreadPoolExecutor(max_workers=min(config.concurrency, len(subscribers))) as pool:
        verdicts = list(pool.map(lambda c: post(c, count=count), subscribers))
    for connection_id, verdict in zip(subscribers, verdicts, strict=True):
        getattr(outcome, verdict).append(connection_id)
        if verdict == "gone":
            connections.remove(connection_id)
            jobs.remove_subscriber(job_id, connection_id)
    metrics.add_metric(name="PushDelivered", unit=MetricUnit.Count, value=len(outcome.delivered))
    metrics.add_metric(name="PushGone", unit=MetricUnit.Count, value=len(outcome.gone))
    metrics.add_metric(name="PushFailed", unit=MetricUnit.Count, value=len(outcome.failed))
    summary |= {
        "delivered": len(outcome.delivered),
        "gone": len(outcome.gone),
        "failed": len(outcome.failed),
        "posts": outcome.attempts,
        "mode": "url" if b'"url"' in data else "inline",
    }
    if outcome.failed:
        raise PushFailed(json.dumps(summary, sort_keys=True))
    return summary


@functools.cache
def _clients() -> tuple[Jobs, Connections, Any, Any]:
    # Our backoff owns the retries of PostToConnection (one attempt per botocore call), so a 410 is
    # never retried and throttling is retried with full jitter within the invocation's time.
    env = read_module("handlers.push.notify")
    management = aws_client("apigatewaymanagementapi", endpoint_url=env["PUSH_ENDPOINT"], max_attempts=1)
    dynamodb = aws_client("dynamodb")
    jobs_table = env["JOBS_TABLE"]
    if jobs_table == NO_JOB_TABLE:  # the workflow only calls a notifier it bound
        raise JobNotFinished("this notifier is bound to no job table")
    connections = Connections(dynamodb, env["CONNECTIONS_TABLE"])
    return Jobs(dynamodb, jobs_table), connections, management, aws_client("s3")


@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    jobs, connections, management, s3 = _clients()
    return notify(
        event,
        jobs=jobs,
        connections=connections,
        management=management,
        s3=s3,
        config=NotifyConfig.from_env(),
        deadline=Deadline.from_context(context),
    )
