"""The router's exact decisions: the exact shard assignment,
the CloudWatch request for the oldest age, and the surge decision around unavailable signals."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from handlers.resilience.routing import Router, shard_indices
from tests.conftest import client_error


class Sqs:
    def __init__(self, backlogs: dict[str, int] | None = None) -> None:
        self.backlogs, self.throttled = backlogs or {}, False
        self.sent: list[dict[str, Any]] = []

    def get_queue_attributes(self, QueueUrl: str, AttributeNames: list[str]) -> dict[str, Any]:
        if self.throttled:
            raise client_error("ThrottlingException", 400, "GetQueueAttributes")
        return {"Attributes": {"ApproximateNumberOfMessages": str(self.backlogs.get(QueueUrl, 0))}}

    def send_message(self, **kwargs: Any) -> dict[str, Any]:
        self.sent.append(kwargs)
        return {"MessageId": "1"}


class CloudWatch:
    def __init__(self, results: list[dict[str, Any]]) -> None:
        self.results = results
        self.requests: list[dict[str, Any]] = []

    def get_metric_data(self, **kwargs: Any) -> dict[str, Any]:
        self.requests.append(kwargs)
        return {"MetricDataResults": self.results}


WARM_URL = "https://sqs.eu-west-1.amazonaws.com/1/orders-warm"
WARM_ONLY = {"high_url": WARM_URL, "surge_age_s": 120}


def test_a_tenant_keeps_the_same_shards_across_releases() -> None:
    # GIVEN known tenants WHEN their shards are computed THEN they are the ones assigned so far
    assert shard_indices("acme", 8, 2) == (0, 7)
    assert shard_indices("tenant-1", 10, 3) == (4, 7, 8)


def test_a_tenant_may_own_every_shard() -> None:
    assert shard_indices("acme", 4, 4) == (0, 1, 2, 3)


def test_more_shards_per_tenant_than_shards_is_refused_with_exactly_this_message() -> None:
    with pytest.raises(ValueError) as raised:
        shard_indices("acme", 4, 5)
    assert str(raised.value) == "k=5 must be from 1 to n=4"


def test_a_sharded_pair_refuses_a_message_without_a_tenant_with_exactly_this_message() -> None:
    router = Router(
        {"high_url": "https://warm", "shard_urls": ["https://s0", "https://s1"], "shards_per_tenant": 1}, Sqs()
    )
    with pytest.raises(ValueError) as raised:
        router.route("{}")
    assert str(raised.value) == "this queue pair is shuffle-sharded: route(..., tenant=...) is required"


def test_the_oldest_age_is_the_maximum_over_a_minute_of_the_queue_named_by_the_url(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # GIVEN the wall clock at 10_000 s WHEN the oldest age of the warm queue is read
    from handlers.resilience import routing

    monkeypatch.setattr(routing.time, "time", lambda: 10_000.0)
    cloudwatch = CloudWatch([{"Values": [42.0, 7.0]}])
    age = Router(WARM_ONLY, Sqs(), cloudwatch=cloudwatch, clock=lambda: 0.0).oldest_age(WARM_URL)
    # THEN the newest datapoint is the age, from exactly this request
    assert age == 42.0
    assert cloudwatch.requests == [
        {
            "MetricDataQueries": [
                {
                    "Id": "age",
                    "ReturnData": True,
                    "MetricStat": {
                        "Metric": {
                            "Namespace": "AWS/SQS",
                            "MetricName": "ApproximateAgeOfOldestMessage",
                            "Dimensions": [{"Name": "QueueName", "Value": "orders-warm"}],
                        },
                        "Period": 60,
                        "Stat": "Maximum",
                    },
                }
            ],
            "StartTime": 9_700.0,
            "EndTime": 10_000.0,
        }
    ]


def test_an_age_metric_with_no_datapoints_is_an_empty_queue() -> None:
    cloudwatch = CloudWatch([{"Id": "age"}])
    assert Router(WARM_ONLY, Sqs(), cloudwatch=cloudwatch).oldest_age(WARM_URL) == 0.0


def test_without_cloudwatch_the_oldest_age_is_zero() -> None:
    assert Router(WARM_ONLY, Sqs()).oldest_age(WARM_URL) == 0.0


def test_a_sharded_tenant_with_every_signal_known_counts_no_fallback() -> None:
    # GIVEN a tenant's two shards with known backlogs WHEN a message is routed
    urls = [f"https://shard{i}" for i in range(8)]
    counted: Counter[str] = Counter()
    router = Router(
        {"high_url": "https://warm", "shard_urls": urls, "shards_per_tenant": 2},
        Sqs({urls[0]: 9, urls[7]: 4}),
        metric=lambda name, n: counted.update({name: n}),
    )
    # THEN it goes to the shorter one and nothing is counted as unavailable
    assert router.route("{}", tenant="acme") == urls[7]
    assert counted == Counter()


def test_without_a_surge_queue_a_backlogged_warm_queue_still_gets_the_message() -> None:
    sqs = Sqs({"https://warm": 5000})
    router = Router({"high_url": "https://warm", "surge_url": None, "surge_backlog": 100}, sqs)
    assert router.route("{}") == "https://warm"


def test_a_signal_outage_ends_the_surge() -> None:
    # GIVEN a router in surge (backlog 150 over a threshold of 100)
    now = [0.0]
    sqs = Sqs({"https://warm": 150})
    router = Router(
        {"high_url": "https://warm", "surge_url": "https://surge", "surge_backlog": 100}, sqs, clock=lambda: now[0]
    )
    assert router.queue_for() == "https://surge"
    # WHEN the signal fails once, then comes back at 90 (between the exit and entry thresholds)
    sqs.throttled, now[0] = True, 10.0
    assert router.queue_for() == "https://warm"
    sqs.throttled, sqs.backlogs["https://warm"], now[0] = False, 90, 20.0
    # THEN the surge does not resume: the outage reset it
    assert router.queue_for() == "https://warm"


def test_a_sharded_tenant_with_a_failing_signal_counts_one_fallback() -> None:
    urls = [f"https://shard{i}" for i in range(8)]
    counted: Counter[str] = Counter()
    sqs = Sqs()
    sqs.throttled = True
    router = Router(
        {"high_url": "https://warm", "shard_urls": urls, "shards_per_tenant": 2},
        sqs,
        metric=lambda name, n: counted.update({name: n}),
    )
    assert router.route("{}", tenant="acme") == urls[0]
    assert counted == Counter({"RouterSignalUnavailable": 1})


def test_a_fifo_pair_refuses_a_message_without_a_group_with_exactly_this_message() -> None:
    router = Router({"high_url": "https://warm", "fifo": True}, Sqs())
    with pytest.raises(ValueError) as raised:
        router.route("{}")
    assert str(raised.value) == "a FIFO queue pair needs group_id (the unit of ordering)"


def test_the_backlog_is_read_once_per_five_seconds_of_the_routers_clock() -> None:
    # GIVEN a monotonic clock that started long ago (at 1000 s)
    class CountingSqs(Sqs):
        def __init__(self) -> None:
            super().__init__({"https://warm": 7})
            self.requests: list[dict[str, Any]] = []

        def get_queue_attributes(self, QueueUrl: str, AttributeNames: list[str]) -> dict[str, Any]:
            self.requests.append({"QueueUrl": QueueUrl, "AttributeNames": AttributeNames})
            return super().get_queue_attributes(QueueUrl, AttributeNames)

    now = [1000.0]
    sqs = CountingSqs()
    router = Router({"high_url": "https://warm"}, sqs, clock=lambda: now[0])
    # WHEN the backlog is read at 1000 s and again at 1004.9 s
    assert router.backlog("https://warm") == 7
    now[0] = 1004.9
    assert router.backlog("https://warm") == 7
    # THEN one request was made, for exactly the backlog attribute
    assert sqs.requests == [{"QueueUrl": "https://warm", "AttributeNames": ["ApproximateNumberOfMessages"]}]


def test_the_oldest_age_is_read_once_per_minute_of_the_routers_clock() -> None:
    # GIVEN a monotonic clock that started long ago (at 1000 s)
    now = [1000.0]
    cloudwatch = CloudWatch([{"Values": [3.0]}])
    router = Router(WARM_ONLY, Sqs(), cloudwatch=cloudwatch, clock=lambda: now[0])
    # WHEN the age is read at 1000 s and again at 1059.9 s THEN one request was made
    assert router.oldest_age(WARM_URL) == 3.0
    now[0] = 1059.9
    assert router.oldest_age(WARM_URL) == 3.0
    assert len(cloudwatch.requests) == 1
