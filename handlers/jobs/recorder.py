"""Record what the state machine could not: an execution that timed out as a whole, failed outside
any Catch (a ``States.Runtime`` error, such as a worker answer without ``bucket``/``key``) or was
aborted. EventBridge delivers Step Functions' status changes (Standard workflows only) here.

The write is conditional (only from queued or running), so an outcome the workflow already
recorded is left alone; a write that wins announces the job to the webhook dispatcher.
"""

from __future__ import annotations

import functools
import json
from typing import Any, Final

from ..resilience import contract
from .common import client, now_iso, transition

__all__ = ["OUTCOMES", "lambda_handler", "record"]

OUTCOMES: Final = {"TIMED_OUT": "timed_out", "FAILED": "failed", "ABORTED": "cancelled"}


def record(detail: dict[str, Any], webhook_queue_url: str | None) -> bool:
    """True when this event moved the job (the workflow had not recorded an end)."""
    status = OUTCOMES.get(str(detail.get("status")))
    job_id = str(detail.get("name", ""))
    if status is None or not job_id:
        return False
    error = detail.get("error") or {"timed_out": "States.Timeout", "cancelled": "Jobs.Aborted"}.get(
        status, "States.Runtime"
    )
    extra = {"finished_at": now_iso(), "error": str(error), "cause": str(detail.get("cause") or error)[:1000]}
    if not transition(job_id, status, extra=extra):
        return False
    if webhook_queue_url:
        client("sqs").send_message(
            QueueUrl=webhook_queue_url, MessageBody=json.dumps({"job_id": job_id, "status": status})
        )
    return True


@functools.cache
def webhook_queue_url() -> str | None:
    url: str | None = contract.read_module("handlers.jobs.recorder")["WEBHOOK_QUEUE_URL"]
    return url


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, bool]:
    return {"recorded": record(event.get("detail") or {}, webhook_queue_url())}
