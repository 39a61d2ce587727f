"""``$connect``: admit a connection, bound to one job when the client shows that job's token.

Refusing answers 403: API Gateway then rejects the handshake, and nothing is stored.
"""

from __future__ import annotations

from typing import Any

from ..resilience.observability import logger
from .deps import PushDeps
from .protocol import answer, token_problem

__all__ = ["connect"]


def connect(event: dict[str, Any], deps: PushDeps) -> dict[str, Any]:
    context = event.get("requestContext") or {}
    connection_id = context["connectionId"]
    now = deps.clock()
    if deps.connect_auth in ("iam", "authorizer"):
        # API Gateway checked the signature or ran the authorizer; the principal is recorded for the
        # audit trail, and subscribe still asks for the job's token.
        principal = (context.get("identity") or {}).get("userArn") or (context.get("authorizer") or {}).get(
            "principalId"
        )
        deps.connections.admit(connection_id, now, None, principal)
        return answer(200, {"connected": True})
    query = event.get("queryStringParameters") or {}
    job_id, token = query.get("job_id"), query.get("token")
    problem = "missing job_id" if not job_id else None
    if problem is None and deps.connections.is_revoked(str(job_id), now):
        problem = "token revoked: a subscriber of this job disconnected"
    if problem is None:
        problem = token_problem(token, deps.jobs.get(str(job_id)), now)
    if problem is not None:
        logger.info("connect refused", extra={"reason": problem, "job_id": job_id})
        return answer(403, {"type": "error", "error": "forbidden", "message": "connection refused"})
    deps.connections.admit(connection_id, now, str(job_id), None)
    return answer(200, {"connected": True})
