"""``$disconnect``: forget the connection, and retire its job's token.

A token that opened a connection may not open another once that connection is gone: whoever
replays it (a stolen copy, a log line) is refused. A client that lost its socket polls instead.
"""

from __future__ import annotations

from typing import Any

from .deps import PushDeps
from .protocol import answer
from .store import CONNECTION_TTL_S

__all__ = ["disconnect"]


def disconnect(event: dict[str, Any], deps: PushDeps) -> dict[str, Any]:
    connection_id = (event.get("requestContext") or {})["connectionId"]
    now = deps.clock()
    old = deps.connections.remove(connection_id)
    job_id = ((old or {}).get("job_id") or (old or {}).get("bound_job_id") or {}).get("S")
    if job_id:
        job = deps.jobs.get(job_id) or {}
        expires = float((job.get("push_token_expires_at") or {}).get("N", 0))
        deps.connections.revoke(job_id, until=max(expires, now + CONNECTION_TTL_S))
    return answer(200, {"disconnected": True})
