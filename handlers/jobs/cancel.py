"""DELETE /jobs/{job_id}: cancel a job that has not finished.

The status write is the cancellation (conditional: only from queued or running); stopping the
execution is a courtesy that saves work. If the stop fails, the execution's own conditional
writes find the job cancelled and end without overwriting it, and the worker, which reads the
status between steps, gives up.
"""

from __future__ import annotations

import logging
from typing import Any

from .common import TERMINAL, ApiError, answer, client, error, job_id_of, load_job, now_iso, parse_request, transition

__all__ = ["cancel", "lambda_handler"]


def cancel_job(job_id: str, caller: str) -> dict[str, Any]:
    job = load_job(job_id, caller)
    if job.get("status") in TERMINAL or not transition(job_id, "cancelled", extra={"finished_at": now_iso()}):
        current = load_job(job_id, caller).get("status")
        raise ApiError(409, "already_finished", f"job {job_id!r} is {current} and can no longer be cancelled")
    execution = job.get("execution_arn")
    if execution:
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
