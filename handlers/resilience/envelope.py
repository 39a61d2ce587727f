"""Read back the envelope a ThrottledApi async or queue route forwards, from either flavour.

The API hands its target one JSON object (``components/throttled_api/envelope.py`` builds it)::

    {"envelope": "resilient-serverless/api-request@1", "route": "PUT /orders/{order_id}",
     "requestId": "...", "receivedAt": 1700000000000, "path": {"order_id": "o-1"},
     "query": {...}, "headers": {"idempotency-key": "k-1", ...}, "body": <the client's payload>}

A queue consumer gets it as an SQS record's ``body`` (a string); an async Lambda gets it as its
event. ``read_envelope`` takes either (a record dict, a Powertools ``SQSRecord``, an event dict, or
the body string) and returns an ``Envelope``. A message that is not an envelope (sent by a
producer other than the API, or before the envelope existed) reads as an envelope whose ``body``
is the whole payload, with ``enveloped=False``: consumers keep working during a migration.
A body that is not JSON raises ``EnvelopeError`` naming the problem, for the dead-letter reason.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["ENVELOPE_VERSION", "Envelope", "EnvelopeError", "read_envelope"]

ENVELOPE_VERSION = "resilient-serverless/api-request@1"


class EnvelopeError(ValueError):
    """The message cannot be read: not JSON, or an envelope with fields of the wrong type."""


@dataclass(frozen=True)
class Envelope:
    body: Any
    """The client's payload, as the client sent it (parsed JSON)."""
    path: dict[str, str] = field(default_factory=dict)
    query: dict[str, str] = field(default_factory=dict)
    headers: dict[str, str | None] = field(default_factory=dict)
    """Lower-case names; a header the client did not send is None (REST) or "" (HTTP)."""
    request_id: str | None = None
    received_at_ms: int | None = None
    route: str | None = None
    enveloped: bool = True

    def header(self, name: str) -> str | None:
        """A forwarded header by any case of its name; None when absent or empty."""
        return self.headers.get(name.lower()) or None


def _payload(record_or_event: Any) -> Any:
    """The decoded message: an SQS record's body, or the event itself."""
    body = getattr(record_or_event, "body", None)  # a Powertools SQSRecord
    if body is None and isinstance(record_or_event, Mapping):
        is_sqs = record_or_event.get("eventSource") == "aws:sqs" or "receiptHandle" in record_or_event
        body = record_or_event.get("body") if is_sqs else None
        if body is None:
            return record_or_event
    if body is None:
        body = record_or_event
    if isinstance(body, bytes | str):
        try:
            return json.loads(body)
        except ValueError as error:
            raise EnvelopeError(f"message body is not JSON ({error}): {str(body)[:200]!r}") from None
    return body


def read_envelope(record_or_event: Any) -> Envelope:
    """The envelope of an SQS record (REST or HTTP queue route) or an async Lambda event (REST)."""
    payload = _payload(record_or_event)
    if not (isinstance(payload, Mapping) and payload.get("envelope") == ENVELOPE_VERSION):
        return Envelope(body=payload, enveloped=False)
    for key in ("path", "query", "headers"):
        if not isinstance(payload.get(key, {}), Mapping):
            raise EnvelopeError(f"envelope {key}={payload.get(key)!r} must be an object")
    received = payload.get("receivedAt")
    return Envelope(
        body=payload.get("body"),
        path=dict(payload.get("path") or {}),
        query=dict(payload.get("query") or {}),
        headers={str(k).lower(): v for k, v in (payload.get("headers") or {}).items()},
        request_id=payload.get("requestId"),
        received_at_ms=int(received) if isinstance(received, int | float) else None,
        route=payload.get("route"),
    )
