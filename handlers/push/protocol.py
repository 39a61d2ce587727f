"""The socket protocol, pure: frames in, JSON answers out, and the push token check.

A client sends ``{"action": "subscribe", "job_id": ..., "token": ...}``. Everything else gets a
JSON error on the socket with a status API Gateway logs as 4xx: a client's mistake never shows
up as a 5xx and never closes the connection without a reason.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from typing import Any

__all__ = [
    "ACTIONS",
    "MAX_FRAME_BYTES",
    "FrameError",
    "Subscribe",
    "answer",
    "error_answer",
    "parse_frame",
    "token_digest",
    "token_problem",
]

ACTIONS = ("subscribe",)
# A subscribe frame is about 120 bytes; 4 KB is plenty and far below the 32 KB frame limit.
MAX_FRAME_BYTES = 4096
MAX_JOB_ID = 128
MAX_TOKEN = 256


class FrameError(ValueError):
    """A frame the protocol refuses; ``code`` is the machine-readable reason sent to the client."""

    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status


@dataclass(frozen=True)
class Subscribe:
    job_id: str
    token: str


def _text_field(frame: dict[str, Any], key: str, limit: int) -> str:
    value = frame.get(key)
    if value is None or value == "":
        raise FrameError("missing_field", f"field {key!r} is required")
    if not isinstance(value, str) or len(value) > limit:
        raise FrameError("bad_field", f"field {key!r} must be a string of 1 to {limit} characters")
    return value


def parse_frame(body: str | None) -> Subscribe:
    """The subscribe request in ``body``, or a ``FrameError`` that says what is wrong with it."""
    raw = body or ""
    size = len(raw.encode())
    if size > MAX_FRAME_BYTES:
        raise FrameError("frame_too_large", f"frame of {size} bytes is above the {MAX_FRAME_BYTES}-byte limit")
    try:
        frame = json.loads(raw)
    except ValueError:
        raise FrameError("not_json", "frame is not JSON") from None
    if not isinstance(frame, dict):
        raise FrameError("not_json_object", "frame must be a JSON object")
    action = frame.get("action")
    if action not in ACTIONS:
        raise FrameError("unknown_action", f"unknown action {action!r} (valid actions: {', '.join(ACTIONS)})")
    return Subscribe(_text_field(frame, "job_id", MAX_JOB_ID), _text_field(frame, "token", MAX_TOKEN))


def answer(status: int, body: dict[str, Any]) -> dict[str, Any]:
    """A route answer: with a route response on the route, API Gateway sends ``body`` to the client."""
    return {"statusCode": status, "body": json.dumps(body, sort_keys=True)}


def error_answer(error: FrameError) -> dict[str, Any]:
    return answer(error.status, {"type": "error", "error": error.code, "message": error.message})


def token_digest(token: str) -> str:
    """Lowercase hex SHA-256 of the token, as the job item stores it (``push_token_sha256``)."""
    return hashlib.sha256(token.encode()).hexdigest()


def token_problem(token: str | None, job: dict[str, Any] | None, now: float) -> str | None:
    """Why ``token`` does not open push for ``job`` (a DynamoDB item), or None when it does.

    The digest is compared in constant time (``hmac.compare_digest``) whatever the job holds, so
    the answer's timing says nothing about how much of a guess was right.
    """
    stored = ((job or {}).get("push_token_sha256") or {}).get("S", "")
    presented = token_digest(token) if isinstance(token, str) and token else ""
    matches = hmac.compare_digest(presented.encode(), str(stored).lower().encode())
    if not presented:
        return "missing token"
    if job is None:
        return "unknown job"
    if not stored:
        return "push not requested for this job"
    if not matches:
        return "token does not match the job"
    expires = (job.get("push_token_expires_at") or {}).get("N")
    if expires is None or float(expires) <= now:
        return "token expired"
    return None
