"""What the model says happens to one message at low load: the path a single request takes
through the hops the engine moves cohorts through, so the model can be checked message by
message against the local run (same outcome for the same inputs).

``predict(model, messages)`` takes messages that all arrive at the same instant (no token is
refilled between them), each with what the model reads about it:

- ``valid``: the consumer's (or the API's) validation accepts it. A queue consumer dead-letters
  an invalid message on its first receive, before any age check; a synchronous route answers it
  with a 4xx.
- ``waited_s``: how long it waits in its queue before the first receive (the age the consumer
  reads); past the TTL it is dropped, past the deferral age it moves to the low queue, whose
  consumer checks its own TTL against the same age (ages run from the first enqueue).
- ``signed``: the caller signs the request; an IAM-authorized route refuses an unsigned one (403).

The edge is the engine's: the account's bucket, then the route's bucket (429 past its burst),
then the route's authorization, in the order the local run applies them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from ..aws_facts import quota
from .engine import TokenBucket
from .model import ConsumerModel, RouteModel, StackModel

__all__ = ["OUTCOMES", "Message", "Outcome", "predict", "predict_one"]

Outcome = Literal[
    "processed",
    "deferred-then-processed",
    "dead-lettered",
    "dropped by TTL",
    "refused 4xx",
    "throttled 429",
    "accepted, drained elsewhere",
]
OUTCOMES: tuple[Outcome, ...] = (
    "processed",
    "deferred-then-processed",
    "dead-lettered",
    "dropped by TTL",
    "refused 4xx",
    "throttled 429",
    "accepted, drained elsewhere",
)


@dataclass(frozen=True)
class Message:
    route: str  # the route key, as the plan writes it: "POST /orders"
    valid: bool = True
    waited_s: float = 0.0
    signed: bool = True


def _route(model: StackModel, key: str) -> RouteModel:
    for r in model.routes:
        if r.key == key:
            return r
    raise KeyError(f"no route {key!r} in the model of {model.stack!r}; routes: {[r.key for r in model.routes]}")


def _consumed(c: ConsumerModel, m: Message, deferred: bool = False) -> Outcome:
    if c.kind == "async":
        # Lambda's event queue: an event older than its maximum age goes to the on-failure destination.
        return "dead-lettered" if c.ttl_s is not None and m.waited_s > c.ttl_s else "processed"
    if not m.valid and not deferred:
        return "dead-lettered"
    if c.ttl_s is not None and m.waited_s > c.ttl_s:
        return "dropped by TTL"
    if c.defer_after_s is not None and c.low is not None and m.waited_s > c.defer_after_s:
        after = _consumed(c.low, m, deferred=True)
        return "deferred-then-processed" if after == "processed" else after
    return "processed"


def predict_one(route: RouteModel, m: Message) -> Outcome:
    """The outcome of ``m`` once past the edge's buckets."""
    if route.auth == "IAM (SigV4)" and not m.signed:
        return "refused 4xx"
    if route.kind == "sync":
        return "processed" if m.valid else "refused 4xx"
    if route.consumer is None:
        return "accepted, drained elsewhere"
    return _consumed(route.consumer, m)


def predict(model: StackModel, messages: Sequence[Message]) -> list[Outcome]:
    """Each message's outcome, in order, all arriving at one instant."""
    account = TokenBucket(quota("apigateway_account_rps"), quota("apigateway_account_burst"))
    buckets = {r.key: TokenBucket(r.rate, r.burst or r.rate) for r in model.routes if r.rate is not None}
    found: list[Outcome] = []
    for m in messages:
        route = _route(model, m.route)
        bucket = buckets.get(route.key)
        if account.take(1) < 1 or (bucket is not None and bucket.take(1) < 1):
            found.append("throttled 429")
            continue
        found.append(predict_one(route, m))
    return found
