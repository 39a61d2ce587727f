"""WebSocketNotifier: push each job result to the clients that asked for it, and only to them.

The third flavour of the front door (after ThrottledApi's REST and HTTP): an API Gateway
WebSocket API with the same throttle checks, access log and alarm building blocks.

What you get by default (``defaults.py``, each pinned by a test):

- Routes ``$connect`` (authorized: a short-lived token bound to one job, passed as the
  ``job_id`` and ``token`` query parameters; or ``connect_auth='iam'`` for signed clients, or
  ``'authorizer'`` for a principal from your REQUEST authorizer function),
  ``$disconnect``, ``subscribe`` (``{"action": "subscribe", "job_id": ..., "token": ...}``) and
  ``$default``, which answers every frame it gets (not JSON, unknown action, oversized) with a
  JSON error on the socket. ``subscribe`` and ``$default`` answer through a route response, so a
  client's mistake is a 4xx answer, never a dropped connection or a 5xx.
- A stage ``live`` with a throttle on the stage (50 messages/s, bursts of 100) and on every route;
  ``$connect`` admits 100 new connections/s (bursts of 200): a fifth of the account's quota of 500
  new connections per second per region, which every WebSocket API in the account shares.
- JSON access logs (30 days), alarms on integration and execution errors and on connect and
  message rates above 80% of what the throttles admit.
- A connection table: TTL at the 2-hour connection limit, encryption at rest; who to notify lives
  on the job item, read consistently (an index would be read eventually consistent).
- Frames: size (4 KB), UTF-8 and nesting depth (4) checked on the raw text before parsing.
- Push never gates a job: ``workflow_states`` gives AsyncJobWorkflow one Request Response
  ``lambda:invoke`` of notify per terminal status, placed after that status is recorded (so it
  runs on Express and Standard workflows alike, and pollers see the end at once). A failed push
  goes to the workflow's fallback with ``$.push_error``; the job's status never changes.
- No subscriber is missed: ``subscribe`` writes the subscription on the job and reads the job back
  in the same write, and answers a job that already ended with its result at once; the workflow
  writes the status, then reads the subscribers. A client may be told twice: every message carries
  ``job_id`` and ``status`` to drop the copy by.
- One token, one connection: the first connection to present a job's token claims it (a
  conditional write); a replayed copy is refused while the claim lives (the token's lifetime, and
  at least the 2-hour connection limit).
- Delivery: results above one frame (32 KB) go as a pre-signed URL (15 minutes); a gone
  connection (410) is removed; throttled posts are retried with full-jitter backoff (never a 410);
  at most 8 posts in flight per notified job.
- ``execute-api:ManageConnections`` only on ``POST`` to this API's stage ``@connections``.

Wiring (``PushChannel`` of AsyncJobWorkflow): ``url``, ``bind_jobs``, ``workflow_states``,
``state_machine_statements``; and ``read_results(bucket_arn, prefix)`` for the bucket the results
live in (notify, and the socket function for a subscriber that comes after the end).
"""

from __future__ import annotations

from .args import HANDLERS, WebSocketNotifierArgs
from .component import WebSocketNotifier, websocket_access_log_format
from .push import NO_JOB_TABLE, NOTIFY_TASK_MARGIN_S, push_states

__all__ = [
    "HANDLERS",
    "NOTIFY_TASK_MARGIN_S",
    "NO_JOB_TABLE",
    "WebSocketNotifier",
    "WebSocketNotifierArgs",
    "push_states",
    "websocket_access_log_format",
]
