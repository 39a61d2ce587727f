"""``$connect``: admit a connection, bound to one job when the client shows that job's token.

Refusing answers 403: API Gateway then rejects the handshake, and nothing is stored. A token
opens one connection: the first connect claims it (a conditional write), and a replayed copy is
refused while the first connection may still live.
"""

from __future__ import annotations

from typing import Any

from ..resilience.observability import logger
from .deps import PushDeps
from .protocol import MAX_JOB_ID, MAX_TOKEN, answer, is_unicode, token_problem
from .store import CONNECTION_TTL_S

__all__ = ["claim_until", "connect"]

TOKEN_IN_USE = "token already opened another connection"


def claim_until(job: dict[str, Any] | None, now: float) -> float:
    """How long a token's claim lives: past the token's own expiry and the longest connection."""
    expires = float(((job or {}).get("push_token_expires_at") or {}).get("N", 0))
    return max(expires, now + CONNECTION_TTL_S)


def _query_problem(job_id: Any, token: Any) -> str | None:
    if not isinstance(job_id, str) or not job_id:
        return "missing job_id"
    if len(job_id) > MAX_JOB_ID or not is_unicode(job_id):
        return f"job_id longer than {MAX_JOB_ID} characters or not valid Unicode"
    if not isinstance(token, str) or len(token) > MAX_TOKEN or not is_unicode(token):
        return f"token missing, longer than {MAX_TOKEN} characters or not valid Unicode"
    return None


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
        deps.connections.admit(connection_id, now, None, principal if isinstance(principal, str) else None)
        return answer(200, {"connected": True})
    query = event.get("queryStringParameters") or {}
    job_id, token = query.get("job_id"), query.get("token")
    problem = _query_problem(job_id, token)
    if problem is None and not deps.jobs.bound:
        problem = "this socket serves no jobs (no job table bound)"
    job_key = str(job_id)
    job = deps.jobs.get(job_key) if problem is None else None
    if problem is None:
        problem = token_problem(token, job, now)
    if problem is None and not deps.connections.claim_token(job_key, connection_id, now, claim_until(job, now)):
        problem = TOKEN_IN_USE
    if problem is not None:
        shown = str(job_id)[:MAX_JOB_ID].encode("utf-8", "replace").decode()  # a log line is UTF-8
        logger.info("connect refused", extra={"reason": problem, "job_id": shown})
        return answer(403, {"type": "error", "error": "forbidden", "message": "connection refused"})
    deps.connections.admit(connection_id, now, job_key, None)
    return answer(200, {"connected": True})
