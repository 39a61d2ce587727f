"""Router: stable shuffle-shard assignment, blast radius, surge routing on cached signals."""

from __future__ import annotations

import math
from collections import Counter
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from handlers.resilience.routing import BACKLOG_CACHE_S, Router, blast_radius, shard_indices


@given(tenant=st.text(min_size=1, max_size=40), n=st.integers(2, 30), data=st.data())
def test_a_tenant_gets_k_distinct_shards_forever(tenant: str, n: int, data: st.DataObject) -> None:
    k = data.draw(st.integers(1, n - 1))
    shards = shard_indices(tenant, n, k)
    assert len(shards) == k == len(set(shards))
    assert all(0 <= s < n for s in shards)
    assert shard_indices(tenant, n, k) == shards  # permanent


def test_tenants_spread_over_every_combination() -> None:
    n, k = 6, 2
    seen = Counter(shard_indices(f"tenant-{i}", n, k) for i in range(6000))
    assert len(seen) == math.comb(n, k)
    expected = 6000 / math.comb(n, k)
    assert max(seen.values()) < 1.3 * expected and min(seen.values()) > 0.7 * expected


def test_blast_radius_is_one_over_n_choose_k() -> None:
    assert blast_radius(8, 2) == 1 / 28
    assert blast_radius(100, 5) == 1 / math.comb(100, 5)


class FakeSqs:
    def __init__(self, backlogs: dict[str, int]) -> None:
        self.backlogs, self.attribute_calls = backlogs, 0
        self.sent: list[dict[str, Any]] = []

    def get_queue_attributes(self, QueueUrl: str, AttributeNames: list[str]) -> dict[str, Any]:
        self.attribute_calls += 1
        return {"Attributes": {"ApproximateNumberOfMessages": str(self.backlogs.get(QueueUrl, 0))}}

    def send_message(self, **kwargs: Any) -> None:
        self.sent.append(kwargs)


class FakeCloudWatch:
    def __init__(self, age: float) -> None:
        self.age, self.calls = age, 0

    def get_metric_data(self, **kwargs: Any) -> dict[str, Any]:
        self.calls += 1
        return {"MetricDataResults": [{"Values": [self.age]}]}


CONFIG = {
    "high_url": "https://warm",
    "surge_url": "https://surge",
    "surge_backlog": 100,
    "surge_age_s": 120,
    "shard_urls": [],
    "fifo": False,
}


def test_warm_queue_until_its_backlog_passes_the_threshold() -> None:
    now = [0.0]
    sqs = FakeSqs({"https://warm": 100})
    router = Router(CONFIG, sqs, clock=lambda: now[0])
    assert router.route('{"a": 1}') == "https://warm"
    sqs.backlogs["https://warm"] = 101
    assert router.route('{"a": 2}') == "https://warm"  # cached for 5 s: no call per message
    now[0] = BACKLOG_CACHE_S
    assert router.route('{"a": 3}') == "https://surge"
    assert sqs.attribute_calls == 2


def test_surge_when_the_oldest_warm_message_is_too_old() -> None:
    router = Router(CONFIG, FakeSqs({}), cloudwatch=FakeCloudWatch(age=121))
    assert router.queue_for() == "https://surge"
    router = Router(CONFIG, FakeSqs({}), cloudwatch=FakeCloudWatch(age=60))
    assert router.queue_for() == "https://warm"


def test_a_sharded_tenant_goes_to_its_least_backlogged_shard() -> None:
    urls = [f"https://shard{i}" for i in range(8)]
    config = {"high_url": "https://warm", "shard_urls": urls, "shards_per_tenant": 2, "fifo": False}
    mine = [urls[i] for i in shard_indices("acme", 8, 2)]
    sqs = FakeSqs({mine[0]: 50, mine[1]: 3})
    assert Router(config, sqs).route("{}", tenant="acme") == mine[1]
    with pytest.raises(ValueError, match=r"shuffle-sharded: route\(\.\.\., tenant=\.\.\.\) is required"):
        Router(config, sqs).route("{}")


def test_fifo_needs_a_group_id() -> None:
    sqs = FakeSqs({})
    router = Router({**CONFIG, "surge_url": None, "fifo": True}, sqs, wall_clock=lambda: 1_800_000_000.0)
    with pytest.raises(ValueError, match="a FIFO queue pair needs group_id"):
        router.route("{}")
    router.route("{}", group_id="customer-1", dedup_id="order-1", attributes={"tenant": "acme"})
    assert sqs.sent[-1] == {
        "QueueUrl": "https://warm",
        "MessageBody": "{}",
        "MessageGroupId": "customer-1",
        "MessageDeduplicationId": "order-1",
        "MessageAttributes": {
            "tenant": {"DataType": "String", "StringValue": "acme"},
            "resilient-first-enqueued-ms": {"DataType": "String", "StringValue": "1800000000000"},
        },
    }


def test_bad_shard_arguments() -> None:
    with pytest.raises(ValueError, match="k=0 must be from 1 to n=4"):
        shard_indices("t", 4, 0)


def test_the_oldest_age_is_read_once_a_minute() -> None:
    from handlers.resilience.routing import AGE_CACHE_S

    now = [0.0]
    cloudwatch = FakeCloudWatch(age=10)
    router = Router(CONFIG, FakeSqs({}), cloudwatch=cloudwatch, clock=lambda: now[0])
    router.queue_for()
    now[0] = 59.9
    router.queue_for()
    assert (AGE_CACHE_S, cloudwatch.calls) == (60.0, 1)
    now[0] = 60.0
    router.queue_for()
    assert cloudwatch.calls == 2
