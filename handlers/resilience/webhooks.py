"""Webhook signatures in the Standard Webhooks format (www.standardwebhooks.com), for senders and
receivers alike.

A delivery carries three headers:

- ``webhook-id``: the delivery's id, the same on every retry of it (a receiver deduplicates on
  it); the body carries it too, as ``"id"``;
- ``webhook-timestamp``: when this attempt was sent, in epoch seconds;
- ``webhook-signature``: ``v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>">``, several
  separated by spaces (during a secret rotation any one may match).

The secret is ``whsec_<base64 of 32 random bytes>``; the HMAC key is the decoded bytes. Any
Standard Webhooks library verifies a delivery (``standardwebhooks`` on PyPI and npm, and others),
or this module, in constant time, refusing a timestamp more than ``tolerance_s`` from its clock::

    from resilient_serverless.handlers.resilience.webhooks import verify
    verify(secret, request_headers, raw_body)

The format is implemented here (about 40 lines of the standard library) rather than imported:
the ``standardwebhooks`` package would be one more dependency in every job function's package for
the same cold import (both about 15 ms here); a test checks each against the other.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from collections.abc import Mapping
from typing import Final

__all__ = [
    "DEFAULT_TOLERANCE_S",
    "InvalidSignature",
    "StaleTimestamp",
    "new_secret",
    "sign",
    "signed_headers",
    "verify",
    "verify_signature",
]

# Five minutes: room for clock skew and the sender's retries, small enough to make replay useless
# (and the tolerance of the Standard Webhooks libraries, so every receiver agrees).
DEFAULT_TOLERANCE_S: Final = 300
SCHEME: Final = "v1"
SECRET_PREFIX: Final = "whsec_"
# 32 bytes: the HMAC-SHA256 block is 64, the standard asks for 24 to 64.
SECRET_BYTES: Final = 32


class InvalidSignature(ValueError):
    """The signature or a header is missing, malformed, or does not match the body."""


class StaleTimestamp(ValueError):
    """The timestamp is malformed or too far from now (a replay, or a clock far off)."""


def new_secret() -> str:
    """A fresh ``whsec_...`` secret."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def _key(secret: str | bytes) -> bytes:
    """The HMAC key: the secret's base64 decoded as the Standard Webhooks reference library does
    (padding added, characters outside the alphabet skipped), so both derive the same key."""
    if isinstance(secret, bytes):
        return secret
    return base64.b64decode(secret.removeprefix(SECRET_PREFIX) + "==")


def sign(secret: str | bytes, delivery_id: str, timestamp: int | str, body: bytes) -> str:
    """The ``webhook-signature`` value for ``body`` sent as ``delivery_id`` at ``timestamp``."""
    signed = f"{delivery_id}.{timestamp}.".encode() + body
    digest = hmac.new(_key(secret), signed, hashlib.sha256).digest()
    return f"{SCHEME},{base64.b64encode(digest).decode()}"


def signed_headers(secret: str | bytes, delivery_id: str, body: bytes, now: float | None = None) -> dict[str, str]:
    """The three Standard Webhooks headers of one attempt to send ``body``."""
    timestamp = int(now if now is not None else time.time())
    return {
        "webhook-id": delivery_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign(secret, delivery_id, timestamp, body),
    }


def verify_signature(
    secret: str | bytes,
    delivery_id: str | None,
    timestamp: str | int | None,
    body: bytes,
    signature: str | None,
    *,
    tolerance_s: int = DEFAULT_TOLERANCE_S,
    now: float | None = None,
) -> None:
    """Raise ``StaleTimestamp`` or ``InvalidSignature`` unless the delivery is genuine and fresh."""
    if not delivery_id:
        raise InvalidSignature("the webhook-id header is missing")
    try:
        sent = int(str(timestamp))
    except ValueError:
        raise StaleTimestamp(f"timestamp {timestamp!r} is not epoch seconds") from None
    skew = abs((now if now is not None else time.time()) - sent)
    if skew > tolerance_s:
        raise StaleTimestamp(f"timestamp {sent} is {int(skew)} s from now (tolerance {tolerance_s} s)")
    expected = sign(secret, delivery_id, sent, body).encode()
    candidates = [s for s in (signature or "").split(" ") if s]
    if not any(hmac.compare_digest(expected, c.encode()) for c in candidates):
        raise InvalidSignature("no signature matches the body")


def verify(
    secret: str | bytes,
    headers: Mapping[str, str],
    body: bytes,
    *,
    tolerance_s: int = DEFAULT_TOLERANCE_S,
    now: float | None = None,
) -> None:
    """``verify_signature`` on a request's headers (names in any case)."""
    lower = {k.lower(): v for k, v in headers.items()}
    verify_signature(
        secret,
        lower.get("webhook-id"),
        lower.get("webhook-timestamp"),
        body,
        lower.get("webhook-signature"),
        tolerance_s=tolerance_s,
        now=now,
    )
