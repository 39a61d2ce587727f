"""Producer side of PriorityQueuePair: surge routing and shuffle sharding.

``Router(config).route(body, tenant=...)`` sends a message to the queue it picks:

- with shards, each tenant owns ``k`` of the ``n`` shard queues, chosen by a stable hash of the
  tenant id and never changed; the message goes to the least backlogged of the tenant's ``k``
  (best of k). One noisy tenant fills only its own queues; another tenant shares all of its
  ``k`` queues with it with probability ``1 / C(n, k)`` (the blast radius);
- otherwise it goes to the warm (high-priority) queue, or to the surge queue while the warm
  queue's backlog or oldest message age is past its threshold.

Backlogs come from ``GetQueueAttributes`` and the oldest age from CloudWatch, each cached (5 s and
60 s), so routing adds no call per message. ``config`` is the component's ``producer_config`` output.

The signals are advisory: when a lookup fails (throttled, 5xx, timeout), the message still goes
out, to the warm queue (or the tenant's first shard), the fallback is counted
(``RouterSignalUnavailable``), and that lookup is not tried again for a backoff that doubles from
1 s up to 60 s while it keeps failing. The surge decision has hysteresis: it starts when the
backlog or the age passes its threshold and ends only once both are back under
``SURGE_EXIT_RATIO`` (80%) of it, so a backlog hovering at the threshold does not flap between
queues. Every message carries ``resilient-first-enqueued-ms`` so the consumers age it from here.
The send itself goes through ``backoff.retry`` (the one retry layer). The producer's permissions:
``fn.grants.route_to(pair)``.
"""

from __future__ import annotations

import hashlib
import itertools
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .backoff import Deadline, RetryPolicy, retry

__all__ = ["Router", "blast_radius", "shard_indices"]

BACKLOG_CACHE_S = 5.0
AGE_CACHE_S = 60.0  # ApproximateAgeOfOldestMessage is a one-minute metric
SIGNAL_BACKOFF_S = (1.0, 60.0)  # first and longest pause of a failing lookup
SURGE_EXIT_RATIO = 0.8  # hysteresis: leave surge only below 80% of each threshold
FIRST_ENQUEUED = "resilient-first-enqueued-ms"  # read by handlers.resilience.priority
MESSAGE_ATTRIBUTES_MAX = 10


def shard_indices(tenant: str, n: int, k: int) -> tuple[int, ...]:
    """The ``k`` distinct shards (of ``n``) a tenant is permanently assigned, from a stable hash.

    Every one of the C(n, k) combinations is equally likely, so tenants spread evenly."""
    if not 1 <= k <= n:
        raise ValueError(f"k={k!r} must be from 1 to n={n!r}")
    combinations = math.comb(n, k)
    rank = int.from_bytes(hashlib.sha256(tenant.encode()).digest()[:16], "big") % combinations
    return _unrank(rank, n, k)


def _unrank(rank: int, n: int, k: int) -> tuple[int, ...]:
    """The ``rank``-th k-combination of range(n) in lexicographic order."""
    chosen: list[int] = []
    start = 0
    for slots in range(k, 0, -1):
        for candidate in range(start, n):
            count = math.comb(n - candidate - 1, slots - 1)
            if rank < count:
                chosen.append(candidate)
                start = candidate + 1
                break
            rank -= count
    return tuple(chosen)


def blast_radius(n: int, k: int) -> float:
    """Share of tenants that share all ``k`` queues with any one tenant: 1 / C(n, k)."""
    return 1 / math.comb(n, k)


@dataclass
class Router:
    """Sends messages where PriorityQueuePair's ``producer_config`` says. Clients are injectable.

    ``metric(name, count)`` publishes a count (``RouterSignalUnavailable``). Default: none.
    ``retry_policy``: the send's retry budget. Default: ``RetryPolicy()`` (3 attempts).
    ``clock`` (monotonic) times the caches; ``wall_clock`` stamps the first enqueue."""

    config: Mapping[str, Any]
    sqs: Any
    cloudwatch: Any = None
    clock: Callable[[], float] = time.monotonic
    metric: Callable[[str, int], Any] = lambda name, count: None
    retry_policy: RetryPolicy = field(default_factory=RetryPolicy)
    wall_clock: Callable[[], float] = time.time
    _backlog: dict[str, tuple[float, int]] = field(default_factory=dict)
    _age: dict[str, tuple[float, float]] = field(default_factory=dict)
    _failing: dict[str, tuple[int, float]] = field(default_factory=dict)  # lookup -> (failures in a row, retry at)
    _surge_on: bool = False

    def queue_for(self, tenant: str | None = None) -> str:
        shards: Sequence[str] = self.config.get("shard_urls") or []
        if shards:
            if tenant is None:
                raise ValueError("this queue pair is shuffle-sharded: route(..., tenant=...) is required")
            indices = shard_indices(tenant, len(shards), int(self.config["shards_per_tenant"]))
            mine = [shards[i] for i in indices]
            known = [(backlog, url) for url in mine if (backlog := self._signal_backlog(url)) is not None]
            if len(known) < len(mine):
                self.metric("RouterSignalUnavailable", 1)
            # Unknown backlogs count as empty-but-last: a known short queue still wins.
            return min(known)[1] if known else mine[0]
        warm, surge = self.config["high_url"], self.config.get("surge_url")
        if surge and self._surging(warm):
            return str(surge)
        return str(warm)

    def route(
        self,
        body: str,
        *,
        tenant: str | None = None,
        group_id: str | None = None,
        dedup_id: str | None = None,
        attributes: Mapping[str, str] | None = None,
        deadline: Deadline | None = None,
    ) -> str:
        """Send ``body``; return the URL of the queue it went to. ``deadline`` bounds the send's
        retries (the invocation's, from ``Deadline.from_context``)."""
        url = self.queue_for(tenant)
        args: dict[str, Any] = {"QueueUrl": url, "MessageBody": body}
        given = dict(attributes or {})
        if FIRST_ENQUEUED not in given and len(given) < MESSAGE_ATTRIBUTES_MAX:
            given[FIRST_ENQUEUED] = str(int(self.wall_clock() * 1000))
        args["MessageAttributes"] = {k: {"DataType": "String", "StringValue": v} for k, v in given.items()}
        if self.config.get("fifo"):
            if group_id is None:
                raise ValueError("a FIFO queue pair needs group_id (the unit of ordering)")
            args["MessageGroupId"] = group_id
            if dedup_id is not None:
                args["MessageDeduplicationId"] = dedup_id
        elif group_id is not None or tenant is not None:
            # Standard queues: the group is the tenant SQS fair queues schedule by.
            args["MessageGroupId"] = group_id if group_id is not None else tenant
        retry(lambda: self.sqs.send_message(**args), policy=self.retry_policy, deadline=deadline)
        return url

    # -- cached, advisory signals --------------------------------------------------------------------
    def _advisory(self, key: str, lookup: Callable[[], Any]) -> Any:
        """``lookup()``, or None while it fails (then not tried again until its backoff ends)."""
        now = self.clock()
        failures, retry_at = self._failing.get(key, (0, 0.0))
        if failures and now < retry_at:
            return None
        try:
            value = lookup()
        except Exception:  # throttled, 5xx, timeout, no permission: the message goes out anyway
            first, longest = SIGNAL_BACKOFF_S
            self._failing[key] = (failures + 1, now + min(longest, first * 2**failures))
            return None
        self._failing.pop(key, None)
        return value

    def _signal_backlog(self, url: str) -> int | None:
        value = self._advisory(f"backlog {url}", lambda: self.backlog(url))
        return None if value is None else int(value)

    def backlog(self, url: str) -> int:
        now = self.clock()
        cached = self._backlog.get(url)
        if cached is None or now - cached[0] >= BACKLOG_CACHE_S:
            attributes = self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])
            cached = (now, int(attributes["Attributes"]["ApproximateNumberOfMessages"]))
            self._backlog[url] = cached
        return cached[1]

    def oldest_age(self, url: str) -> float:
        if self.cloudwatch is None:
            return 0.0
        now = self.clock()
        cached = self._age.get(url)
        if cached is None or now - cached[0] >= AGE_CACHE_S:
            name = url.rsplit("/", 1)[-1]
            end = time.time()
            result = self.cloudwatch.get_metric_data(
                MetricDataQueries=[
                    {
                        "Id": "age",
                        "ReturnData": True,
                        "MetricStat": {
                            "Metric": {
                                "Namespace": "AWS/SQS",
                                "MetricName": "ApproximateAgeOfOldestMessage",
                                "Dimensions": [{"Name": "QueueName", "Value": name}],
                            },
                            "Period": 60,
                            "Stat": "Maximum",
                        },
                    }
                ],
                StartTime=end - 300,
                EndTime=end,
            )
            values = list(itertools.chain.from_iterable(r.get("Values", []) for r in result["MetricDataResults"]))
            cached = (now, float(values[0]) if values else 0.0)
            self._age[url] = cached
        return cached[1]

    def _surging(self, warm: str) -> bool:
        """Past a threshold: surge; back under ``SURGE_EXIT_RATIO`` of every threshold: warm; in
        between: as before. With a signal unavailable: warm, counted."""
        backlog_limit = self.config.get("surge_backlog")
        age_limit = self.config.get("surge_age_s")
        readings: list[tuple[float | None, float]] = []
        if backlog_limit is not None:
            readings.append((self._signal_backlog(warm), float(backlog_limit)))
        if age_limit is not None:
            readings.append((self._advisory(f"age {warm}", lambda: self.oldest_age(warm)), float(age_limit)))
        if any(value is None for value, _ in readings):
            self.metric("RouterSignalUnavailable", 1)
            self._surge_on = False
            return False
        known = [(float(value), limit) for value, limit in readings if value is not None]
        if any(value > limit for value, limit in known):
            self._surge_on = True
        elif all(value < limit * SURGE_EXIT_RATIO for value, limit in known):
            self._surge_on = False
        return self._surge_on
