"""DELETE /jobs/{job_id}: cancel a job that has not finished, on Standard and Express alike.

The status write is the cancellation (conditional: only from queued or running): the worker
reads the status between steps and gives up, and the execution's own conditional writes find the
job cancelled and end without overwriting it. Stopping a Standard execution is a courtesy that
saves work; AWS has no ``StopExecution`` for Express executions, so those are left to notice.

A job every reader reports as timed out (running past its deadline) is finished: it can no
longer be cancelled, and the cancel records the timeout it found (forward-only).
"""

from __future__ import annotations

import logging
from typing import Any

from .common import (
    TERMINAL,
    ApiError,
    answer,
    client,
    config,
    effective_status,
    error,
    is_standard_execution,
    job_id_of,
    load_job,
    now_iso,
    parse_request,
    transition,
)

__all__ = ["cancel", "cancel_job", "lambda_handler"]


def _finished(job_id: str, state: str) -> ApiError:
    return ApiError(409, "already_finished", f"job {job_id!r} is {state} and can no longer be cancelled")


def cancel_job(job_id: str, caller: str) -> dict[str, Any]:
    timeout_s = config().execution_timeout_s
    job = load_job(job_id, caller)
    state = effective_status(job, timeout_s)
    if state == "timed_out" and job.get("status") == "running":
        extra = {"finished_at": now_iso(), "error": "States.Timeout", "cause": "the execution passed its deadline"}
        transition(job_id, "timed_out", extra=extra)
    if state in TERMINAL:
        raise _finished(job_id, state)
    if not transition(job_id, "cancelled", extra={"finished_at": now_iso()}):
        raise _finished(job_id, effective_status(load_job(job_id, caller), timeout_s))
    execution = str(job.get("execution_arn") or "")
    if execution and is_standard_execution(execution):
        from botocore.exceptions import BotoCoreError, ClientError  # noqa: PLC0415

        try:
            client("stepfunctions").stop_execution(executionArn=execution, error="Jobs.Cancelled", cause="cancelled")
        except (ClientError, BotoCoreError) as exc:
            # The status is already cancelled: the execution's conditional writes respect it.
            logging.getLogger(__name__).warning("stop_execution failed for %s: %s", execution, exc)
    return {"job_id": job_id, "status": "cancelled"}


def cancel(event: dict[str, Any]) -> dict[str, Any]:
    from botocore.exceptions import BotoCoreError, ClientError  # noqa: PLC0415

    try:
        request = parse_request(event)
        body = cancel_job(job_id_of(request), request.caller)
    except ApiError as exc:
        return error(exc)
    except (ClientError, BotoCoreError):
        return error(ApiError(503, "unavailable", "the job store is unavailable; retry later", {"Retry-After": "1"}))
    return answer(202, body)


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return cancel(event)
