"""``subscribe``: ``{"action": "subscribe", "job_id": ..., "token": ...}``.

Checks, in order: a well-formed frame; a registered connection (a replay after disconnect finds
none); the job the connection was admitted for (token connects); the token itself (constant-time
digest compare, expiry); the token's one connection (claimed at connect, or here for signed
connects). Every refusal is the same 403 answer to the client (the reason is logged, not told:
no probing which job ids exist).

Then the subscription is written on the job, and the job read back in the same write: a job
that already ended is answered with its result at once, on this socket. The workflow, which
writes the status before it reads the subscribers, reaches the others.
"""

from __future__ import annotations

from typing import Any

from ..resilience.observability import logger
from .connect import TOKEN_IN_USE, claim_until
from .deps import PushDeps
from .message import message_for_job
from .protocol import FrameError, Subscribe, answer, error_answer, parse_frame, token_problem
from .store import TERMINAL, status_of

__all__ = ["NO_JOBS", "REFUSED", "subscribe"]

REFUSED = FrameError("forbidden", "subscription refused", status=403)
NO_JOBS = FrameError("no_jobs", "this socket serves no job results")


def _problem(deps: PushDeps, connection_id: str, request: Subscribe, now: float) -> str | None:
    connection = deps.connections.get(connection_id)
    if connection is None:
        return "connection not registered"
    bound = (connection.get("bound_job_id") or {}).get("S")
    if bound is not None and bound != request.job_id:
        return f"connection was admitted for another job ({bound})"
    job = deps.jobs.get(request.job_id)
    problem = token_problem(request.token, job, now)
    if problem is None and not deps.connections.claim_token(request.job_id, connection_id, now, claim_until(job, now)):
        problem = TOKEN_IN_USE
    if problem is None and not deps.connections.subscribe(connection_id, request.job_id):
        problem = "connection closed while subscribing"
    return problem


def _ended(job: dict[str, Any], deps: PushDeps) -> dict[str, Any]:
    """The answer to a subscribe that finds the job ended: its message, as the push would send it."""
    try:
        return {"statusCode": 200, "body": message_for_job(job, deps.s3, deps.config).decode()}
    except Exception as error:  # the result is still there to poll: say so rather than fail the socket
        logger.warning("result unavailable to a late subscriber", extra={"error": type(error).__name__})
        body = {"type": "subscribed", "job_id": job["job_id"]["S"], "status": status_of(job), "poll": True}
        return answer(200, body)


def subscribe(event: dict[str, Any], deps: PushDeps) -> dict[str, Any]:
    connection_id = (event.get("requestContext") or {})["connectionId"]
    try:
        request = parse_frame(event.get("body"), base64_encoded=bool(event.get("isBase64Encoded")))
    except FrameError as error:
        return error_answer(error)
    if not deps.jobs.bound:
        return error_answer(NO_JOBS)
    now = deps.clock()
    problem = _problem(deps, connection_id, request, now)
    job = deps.jobs.add_subscriber(request.job_id, connection_id, now) if problem is None else None
    if problem is None and job is None:
        problem = "job gone while subscribing"
    if problem is not None or job is None:
        logger.info("subscribe refused", extra={"reason": problem, "job_id": request.job_id})
        return error_answer(REFUSED)
    if status_of(job) in TERMINAL:
        return _ended(job, deps)
    return answer(200, {"type": "subscribed", "job_id": request.job_id, "status": status_of(job)})
