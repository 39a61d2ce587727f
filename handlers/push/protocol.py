"""The socket protocol, pure: frames in, JSON answers out, and the push token check.

A client sends ``{"action": "subscribe", "job_id": ..., "token": ...}``. Everything else gets a
JSON error on the socket with a status API Gateway logs as 4xx: a client's mistake never shows
up as a 5xx and never closes the connection without a reason.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from dataclasses import dataclass
from typing import Any

__all__ = [
    "ACTIONS",
    "MAX_FRAME_BYTES",
    "MAX_FRAME_DEPTH",
    "FrameError",
    "Subscribe",
    "answer",
    "error_answer",
    "is_unicode",
    "parse_frame",
    "token_digest",
    "token_problem",
]

ACTIONS = ("subscribe",)
# A subscribe frame is about 120 bytes; 4 KB is plenty and far below the 32 KB frame limit.
MAX_FRAME_BYTES = 4096
# A subscribe frame is one flat object (depth 1). The bound is checked on the raw text before any
# parsing: deep nesting is what overflows a recursive parser, whatever the frame's size.
MAX_FRAME_DEPTH = 4
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
    if not isinstance(value, str) or len(value) > limit or not is_unicode(value):
        raise FrameError("bad_field", f"field {key!r} must be a string of 1 to {limit} characters of valid Unicode")
    return value


def is_unicode(text: str) -> bool:
    """False for a lone surrogate (a JSON ``\\ud800`` escape decodes to one): no table key holds it."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _frame_text(body: Any, base64_encoded: bool) -> str:
    """The frame as text: within the size limit and valid UTF-8 (a binary frame arrives base64)."""
    if body is None:
        return ""
    if isinstance(body, str) and base64_encoded:
        try:
            body = base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError):
            raise FrameError("not_text", "binary frame is not valid base64") from None
    if isinstance(body, str):
        try:
            raw = body.encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate: text no client can have sent as UTF-8
            raise FrameError("not_utf8", "frame is not valid UTF-8") from None
    elif isinstance(body, bytes | bytearray):
        raw = bytes(body)
    else:
        raise FrameError("not_text", "frame must be text")
    if len(raw) > MAX_FRAME_BYTES:
        raise FrameError("frame_too_large", f"frame of {len(raw)} bytes is above the {MAX_FRAME_BYTES}-byte limit")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise FrameError("not_utf8", "frame is not valid UTF-8") from None


def nesting_depth(text: str) -> int:
    """The deepest ``[``/``{`` nesting of JSON text, brackets inside strings not counted."""
    depth = deepest = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return deepest


def parse_frame(body: Any, *, base64_encoded: bool = False) -> Subscribe:
    """The subscribe request in ``body``, or a ``FrameError`` that says what is wrong with it.

    Size, encoding and nesting are checked before the JSON parser sees the frame, so no frame
    can make it raise anything but a ``FrameError``.
    """
    text = _frame_text(body, base64_encoded)
    depth = nesting_depth(text)
    if depth > MAX_FRAME_DEPTH:
        raise FrameError("too_deep", f"frame nests {depth} levels, above the limit of {MAX_FRAME_DEPTH}")
    try:
        frame = json.loads(text)
    except ValueError:
        raise FrameError("not_json", "frame is not JSON") from None
    if not isinstance(frame, dict):
        raise FrameError("not_json_object", "frame must be a JSON object")
    action = frame.get("action")
    if not isinstance(action, str) or action not in ACTIONS:
        shown = action if isinstance(action, str | int | float | bool) or action is None else type(action).__name__
        raise FrameError("unknown_action", f"unknown action {shown!r} (valid actions: {', '.join(ACTIONS)})")
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
