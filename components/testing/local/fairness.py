"""SQS fair queues, emulated over moto's standard queues (moto delivers in arrival order only).

AWS (``aws_facts.SQS_FAIR_QUEUES``): the tenant of a message on a standard queue is its
``MessageGroupId``; a message without one is a tenant of its own. A tenant is *noisy* when it holds
more than 10% of the queue's in-flight messages with at least 30 of its own in flight, or more than
10% of the consumers' recent processing time. While a quiet tenant has a visible message, a
receive returns it before any noisy tenant's; among noisy tenants, the one with the fewest
messages in flight goes first. Nothing is dropped or throttled.

Here, before each receive on a standard queue, moto's messages are reordered (stably) the same
way. Where this differs from AWS:

- "recent processing time" is the tenant's share of the messages this queue delivered in the last
  ``window_s`` seconds of the run's clock (the local run does not time a handler per message);
- detection is exact and immediate (AWS's is approximate and distributed), so the bound a test
  asserts here is the best case AWS approaches, not a guarantee AWS gives;
- FIFO queues keep moto's own group rules (fair queues are a standard-queue feature).
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

__all__ = ["FairQueues", "install_fair_queues"]

NOISY_SHARE = 0.10  # of in-flight messages, or of recent deliveries
NOISY_MIN_IN_FLIGHT = 30
RECENT_WINDOW_S = 300.0  # a tenant that sent nothing for 5 minutes is quiet again


@dataclass
class FairQueues:
    """The fair dequeue order of standard queues, kept per queue name."""

    clock: Callable[[], float]
    window_s: float = RECENT_WINDOW_S
    share: float = NOISY_SHARE
    min_in_flight: int = NOISY_MIN_IN_FLIGHT
    _recent: dict[str, deque[tuple[float, str]]] = field(default_factory=dict)

    def noisy_groups(self, queue: Any) -> set[str]:
        """The tenants of ``queue`` (moto's queue object) treated as noisy now."""
        recent = self._recent.setdefault(queue.name, deque())
        cut = self.clock() - self.window_s
        while recent and recent[0][0] < cut:
            recent.popleft()
        delivered = Counter(group for _, group in recent)
        noisy = {g for g, n in delivered.items() if n / len(recent) > self.share}
        in_flight = Counter(m.group_id for m in queue.pending_messages if m.group_id)
        total = len(queue.pending_messages)
        noisy |= {g for g, n in in_flight.items() if n >= self.min_in_flight and n / total > self.share}
        return noisy

    def reorder(self, queue: Any) -> None:
        """Quiet tenants' messages first (in arrival order), then noisy ones, fewest in flight first."""
        noisy = self.noisy_groups(queue)
        if not noisy:
            return
        in_flight = Counter(m.group_id for m in queue.pending_messages if m.group_id)
        queue._messages.sort(key=lambda m: (1, in_flight[m.group_id]) if m.group_id in noisy else (0, 0))

    def delivered(self, queue_name: str, messages: list[Any]) -> None:
        now = self.clock()
        recent = self._recent.setdefault(queue_name, deque())
        recent.extend((now, m.group_id) for m in messages if m.group_id)


def install_fair_queues(backend: Any, clock: Callable[[], float]) -> FairQueues:
    """Make every receive on a standard queue of ``backend`` (``backend.Backend``) fair; undone
    with the backend's other patches."""
    from moto.sqs.models import SQSBackend

    fair = FairQueues(clock)
    original = SQSBackend.receive_message

    def receive_message(self: Any, queue_name: str, count: int, *args: Any, **kwargs: Any) -> Any:
        queue = self.get_queue(queue_name)
        if queue.fifo_queue:
            return original(self, queue_name, count, *args, **kwargs)
        fair.reorder(queue)
        messages = original(self, queue_name, count, *args, **kwargs)
        fair.delivered(queue.name, messages)
        return messages

    backend.patch(SQSBackend, "receive_message", receive_message)
    return fair
