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
"""

from __future__ import annotations

import hashlib
import itertools
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Router", "blast_radius", "shard_indices"]

BACKLOG_CACHE_S = 5.0
AGE_CACHE_S = 60.0  # ApproximateAgeOfOldestMessage is a one-minute metric


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
    """Sends messages where PriorityQueuePair's ``producer_config`` says. Clients are injectable."""

    config: Mapping[str, Any]
    sqs: Any
    cloudwatch: Any = None
    clock: Callable[[], float] = time.monotonic
    _backlog: dict[str, tuple[float, int]] = field(default_factory=dict)
    _age: dict[str, tuple[float, float]] = field(default_factory=dict)

    def queue_for(self, tenant: str | None = None) -> str:
        shards: Sequence[str] = self.config.get("shard_urls") or []
        if shards:
            if tenant is None:
                raise ValueError("this queue pair is shuffle-sharded: route(..., tenant=...) is required")
            indices = shard_indices(tenant, len(shards), int(self.config["shards_per_tenant"]))
            return min((shards[i] for i in indices), key=self.backlog)
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
    ) -> str:
        """Send ``body``; return the URL of the queue it went to."""
        url = self.queue_for(tenant)
        args: dict[str, Any] = {"QueueUrl": url, "MessageBody": body}
        if attributes:
            args["MessageAttributes"] = {k: {"DataType": "String", "StringValue": v} for k, v in attributes.items()}
        if self.config.get("fifo"):
            if group_id is None:
                raise ValueError("a FIFO queue pair needs group_id (the unit of ordering)")
            args["MessageGroupId"] = group_id
            if dedup_id is not None:
                args["MessageDeduplicationId"] = dedup_id
        self.sqs.send_message(**args)
        return url

    # -- cached signals ----------------------------------------------------------------------------
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
        backlog_limit = self.config.get("surge_backlog")
        age_limit = self.config.get("surge_age_s")
        if backlog_limit is not None and self.backlog(warm) > backlog_limit:
            return True
        return age_limit is not None and self.oldest_age(warm) > age_limit
