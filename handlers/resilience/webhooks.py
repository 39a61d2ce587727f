"""Webhook signatures, for senders and receivers alike.

A delivery carries ``X-Webhook-Timestamp`` (epoch seconds) and ``X-Webhook-Signature``
(``v1=<hex HMAC-SHA256 of "<timestamp>.<body>" with the shared secret>``). A receiver checks the
signature in constant time and refuses a timestamp more than ``tolerance_s`` away from its clock,
so a captured delivery cannot be replayed later::

    from resilient_serverless.handlers.resilience.webhooks import verify_signature
    verify_signature(secret, headers["x-webhook-timestamp"], raw_body, headers["x-webhook-signature"])
"""

from __future__ import annotations

import hashlib
import hmac
import time
from typing import Final

__all__ = ["DEFAULT_TOLERANCE_S", "InvalidSignature", "StaleTimestamp", "sign", "verify_signature"]

# Five minutes: room for clock skew and the sender's retries, small enough to make replay useless.
DEFAULT_TOLERANCE_S: Final = 300
SCHEME: Final = "v1"


class InvalidSignature(ValueError):
    """The signature is missing, malformed, or does not match the body."""


class StaleTimestamp(ValueError):
    """The timestamp is malformed or too far from now (a replay, or a clock far off)."""


def sign(secret: str | bytes, timestamp: int | str, body: bytes) -> str:
    """The ``X-Webhook-Signature`` value for ``body`` sent at ``timestamp``."""
    key = secret.encode() if isinstance(secret, str) else secret
    digest = hmac.new(key, f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"{SCHEME}={digest}"


def verify_signature(
    secret: str | bytes,
    timestamp: str | int | None,
    body: bytes,
    signature: str | None,
    *,
    tolerance_s: int = DEFAULT_TOLERANCE_S,
    now: float | None = None,
) -> None:
    """Raise ``StaleTimestamp`` or ``InvalidSignature`` unless the delivery is genuine and fresh."""
    try:
        sent = int(str(timestamp))
    except ValueError:
        raise StaleTimestamp(f"timestamp {timestamp!r} is not epoch seconds") from None
    skew = abs((now if now is not None else time.time()) - sent)
    if skew > tolerance_s:
        raise StaleTimestamp(f"timestamp {sent} is {int(skew)} s from now (tolerance {tolerance_s} s)")
    expected = sign(secret, sent, body)
    # Several signatures may be sent during a secret rotation: any one of them may match.
    candidates = [s.strip() for s in (signature or "").split(",") if s.strip()]
    if not any(hmac.compare_digest(expected.encode(), c.encode()) for c in candidates):
        raise InvalidSignature("no signature matches the body")
