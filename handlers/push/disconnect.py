"""``$disconnect``: forget the connection and its subscription.

The token that opened it stays claimed (``store.Connections.claim_token``): whoever replays it
(a stolen copy, a log line) is refused. A client that lost its socket polls instead.
"""

from __future__ import annotations

from typing import Any

from .deps import PushDeps
from .protocol import answer

__all__ = ["disconnect"]


def disconnect(event: dict[str, Any], deps: PushDeps) -> dict[str, Any]:
    connection_id = (event.get("requestContext") or {})["connectionId"]
    old = deps.connections.remove(connection_id)
    job_id = ((old or {}).get("job_id") or {}).get("S")
    if job_id and deps.jobs.bound:
        deps.jobs.remove_subscriber(job_id, connection_id)
    return answer(200, {"disconnected": True})
