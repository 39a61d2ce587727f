"""Step Functions task ``PushNotify``: post a job's result to each of its subscribers.

- A result that fits in one message up to ``PUSH_INLINE_MAX_BYTES`` (default one 32 KB frame)
  goes inline; a larger one as a pre-signed S3 URL (the WebSocket message limit is 128 KB).
- At most ``PUSH_NOTIFY_CONCURRENCY`` posts in flight: the management API's rate is shared.
- Throttling is retried with full-jitter backoff within the invocation's time; a 410 (gone) is
  never retried: the connection is removed from the table.
- Nobody reached: ``NoSubscriberReached`` goes to the workflow's fallback (the client polls).
"""

from __future__ import annotations

import functools
import json
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit

from ..resilience.backoff import Deadline, RetryPolicy, is_retryable, retry
from ..resilience.clients import aws_client
from ..resilience.observability import logger, metrics
from .store import Connections

__all__ = [
    "NoSubscriberReached",
    "NotifyConfig",
    "Outcome",
    "lambda_handler",
    "message_for",
    "notify",
    "post_with_retry",
]

GONE = "GoneException"
# Throttled posts: up to 6 attempts, 100 ms doubling to a 2 s cap (full jitter).
POST_POLICY = RetryPolicy(attempts=6, base_s=0.1, cap_s=2.0)


class NoSubscriberReached(Exception):
    """No subscriber got the result: the workflow falls back to polling."""


@dataclass(frozen=True)
class NotifyConfig:
    inline_max_bytes: int = 32 * 1024
    url_ttl_s: int = 900
    concurrency: int = 8

    @classmethod
    def from_env(cls, environ: Any = os.environ) -> NotifyConfig:
        return cls(
            int(environ.get("PUSH_INLINE_MAX_BYTES", cls.inline_max_bytes)),
            int(environ.get("PUSH_RESULT_URL_TTL_S", cls.url_ttl_s)),
            int(environ.get("PUSH_NOTIFY_CONCURRENCY", cls.concurrency)),
        )


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


def message_for(job_id: str, result: dict[str, Any], s3: Any, config: NotifyConfig) -> bytes:
    """The message for the subscribers: the result inline when it fits, else a pre-signed URL."""
    bucket, key = result["bucket"], result["key"]
    size = int(s3.head_object(Bucket=bucket, Key=key)["ContentLength"])
    if size <= config.inline_max_bytes:
        body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        try:
            inline: Any = json.loads(body)
        except ValueError:
            inline = body.decode("utf-8", errors="replace")
        message = json.dumps({"type": "result", "job_id": job_id, "result": inline}).encode()
        if len(message) <= config.inline_max_bytes:
            return message
    url = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": key}, ExpiresIn=config.url_ttl_s)
    return json.dumps(
        {"type": "result", "job_id": job_id, "url": url, "expires_in_s": config.url_ttl_s, "bytes": size}
    ).encode()


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
    connections: Connections,
    management: Any,
    s3: Any,
    config: NotifyConfig,
    deadline: Deadline | None = None,
    sleep: Callable[[float], Any] | None = None,
) -> dict[str, Any]:
    job_id, result = event.get("job_id"), event.get("result")
    if not isinstance(job_id, str) or not isinstance(result, dict) or not {"bucket", "key"} <= set(result):
        raise ValueError(f"notify needs job_id and result {{bucket, key}}, got {event!r}")
    subscribers = sorted(set(connections.subscribers(job_id)))
    if not subscribers:
        raise NoSubscriberReached(f"job {job_id!r} has no subscriber")
    data = message_for(job_id, result, s3, config)
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
    metrics.add_metric(name="PushDelivered", unit=MetricUnit.Count, value=len(outcome.delivered))
    metrics.add_metric(name="PushGone", unit=MetricUnit.Count, value=len(outcome.gone))
    metrics.add_metric(name="PushFailed", unit=MetricUnit.Count, value=len(outcome.failed))
    summary = {
        "job_id": job_id,
        "delivered": len(outcome.delivered),
        "gone": len(outcome.gone),
        "failed": len(outcome.failed),
        "posts": outcome.attempts,
        "mode": "url" if b'"url"' in data else "inline",
    }
    if not outcome.delivered:
        raise NoSubscriberReached(json.dumps(summary, sort_keys=True))
    return summary


@functools.cache
def _clients() -> tuple[Connections, Any, Any]:
    # Our backoff owns the retries of PostToConnection (one attempt per botocore call), so a 410 is
    # never retried and throttling is retried with full jitter within the invocation's time.
    management = aws_client("apigatewaymanagementapi", endpoint_url=os.environ["PUSH_ENDPOINT"], max_attempts=1)
    return Connections(aws_client("dynamodb"), os.environ["CONNECTIONS_TABLE"]), management, aws_client("s3")


@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    connections, management, s3 = _clients()
    return notify(
        event,
        connections=connections,
        management=management,
        s3=s3,
        config=NotifyConfig.from_env(),
        deadline=Deadline.from_context(context),
    )
