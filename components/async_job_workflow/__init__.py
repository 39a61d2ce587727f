"""AsyncJobWorkflow: take long work at the front door, answer at once, run it durably, give the
result back.

A client that needs the answer to long work must not hold a connection open (API Gateway cuts it
at 29-30 s). ``POST /jobs`` answers 202 with a job id and a status URL; the job runs in Step
Functions; ``GET /jobs/{job_id}`` polls its status; ``GET /jobs/{job_id}/result`` answers a
short-lived pre-signed URL; ``DELETE /jobs/{job_id}`` cancels it. The routes are plain
ThrottledApi route dicts (``jobs.routes``), so one API can front several workflows.

What you get by default (``defaults.py``, each pinned by a test):

- a job table (on demand, TTL on ``expires_at`` after 30 days, point-in-time recovery,
  encryption) and an idempotency table for ``Idempotency-Key`` (Powertools, 1 h);
- a results bucket (SSE-S3, public access blocked, a TLS-only policy, results expire after
  7 days, inputs after 1); pre-signed result URLs live 15 minutes (at most one hour: they are
  signed with the function role's temporary credentials and expire when those do);
- a Standard state machine (exactly-once starts, long jobs) with a 1 h execution timeout; the
  worker task times out 10 s after the worker's own timeout, retries twice (2 s, x2, full
  jitter, at most 30 s), and every Task records its error on the job through a ``Catch``;
- start buffering: submits go to an SQS queue drained by a starter with mapping concurrency 2,
  so about 40 ``StartExecution`` per second at the 50 ms planning latency, far
  below the 150/s quota of the smaller regions (a spike waits in the queue instead of failing);
- each route throttled at what its function can serve (reserved concurrency x 1000 / expected
  latency: 100 rps for submit, 200 for reads), so excess is shed at the edge;
- alarms on executions failed, timed out and throttled, on the start queue's oldest message
  (5 min) and on any message in a DLQ.

Express (``workflow_type="EXPRESS"``): cheaper at high rates, at most 5 minutes, and
at-least-once: a start can run twice, so the worker must be idempotent (the status writes here
are conditional, so a second run finds the job running and stops at ``NotRunnable``).
"""

from __future__ import annotations

from .args import AsyncJobWorkflowArgs, PushChannel, RetryArgs
from .component import AsyncJobWorkflow, start_capacity
from .functions import handler_contract
from .openapi import openapi_document, route_throttle, submit_body_schema

__all__ = [
    "AsyncJobWorkflow",
    "AsyncJobWorkflowArgs",
    "PushChannel",
    "RetryArgs",
    "handler_contract",
    "openapi_document",
    "route_throttle",
    "start_capacity",
    "submit_body_schema",
]
