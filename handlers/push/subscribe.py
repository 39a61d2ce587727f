"""``subscribe``: ``{"action": "subscribe", "job_id": ..., "token": ...}``.

Checks, in order: a well-formed frame; a registered connection (a replay after disconnect finds
none); the job the connection was admitted for (token connects); the job's token not retired;
the token itself (constant-time digest compare, expiry). Only then does the connection enter the
job's index, and a workflow parked on the job is released. Every refusal is the same 403 answer
to the client (the reason is logged, not told: no probing which job ids exist).
"""

from __future__ import annotations

from typing import Any

from ..resilience.observability import logger
from .deps import PushDeps, release_workflow
from .protocol import FrameError, answer, error_answer, parse_frame, token_problem

__all__ = ["REFUSED", "subscribe"]

REFUSED = FrameError("forbidden", "subscription refused", status=403)


def _problem(deps: PushDeps, connection_id: str, job_id: str, token: str, now: float) -> str | None:
    connection = deps.connections.get(connection_id)
    if connection is None:
        return "connection not registered"
    bound = (connection.get("bound_job_id") or {}).get("S")
    if bound is not None and bound != job_id:
        return f"connection was admitted for another job ({bound})"
    if deps.connections.is_revoked(job_id, now):
        return "token revoked: a subscriber of this job disconnected"
    return token_problem(token, deps.jobs.get(job_id), now)


def subscribe(event: dict[str, Any], deps: PushDeps) -> dict[str, Any]:
    connection_id = (event.get("requestContext") or {})["connectionId"]
    try:
        request = parse_frame(event.get("body"))
    except FrameError as error:
        return error_answer(error)
    now = deps.clock()
    problem = _problem(deps, connection_id, request.job_id, request.token, now)
    if problem is None and not deps.connections.subscribe(connection_id, request.job_id):
        problem = "connection closed while subscribing"
    if problem is not None:
        logger.info("subscribe refused", extra={"reason": problem, "job_id": request.job_id})
        return error_answer(REFUSED)
    job = deps.jobs.mark_subscribed(request.job_id, now)
    released = release_workflow(deps, job, now)
    return answer(200, {"type": "subscribed", "job_id": request.job_id, "released": released})
