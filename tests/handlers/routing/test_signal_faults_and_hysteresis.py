"""Router under faults: advisory signals, backoff of failing lookups, hysteresis,
the first-enqueue stamp, and the one retry layer on the send."""

from __future__ import annotations

from collections import Counter
from typing import Any

import boto3
from moto import mock_aws

from handlers.resilience.backoff import RetryPolicy
from handlers.resilience.routing import SIGNAL_BACKOFF_S, SURGE_EXIT_RATIO, Router, shard_indices
from tests.conftest import client_error

CONFIG = {"high_url": "https://warm", "surge_url": "https://surge", "surge_backlog": 100, "shard_urls": []}


class Sqs:
    """Backlogs as the test sets them; GetQueueAttributes throttled while ``throttled``."""

    def __init__(self, backlog: int = 0, throttled: bool = False) -> None:
        self.backlog, self.throttled, self.lookups = backlog, throttled, 0
        self.sent: list[dict[str, Any]] = []

    def get_queue_attributes(self, QueueUrl: str, AttributeNames: list[str]) -> dict[str, Any]:
        self.lookups += 1
        if self.throttled:
            raise client_error("ThrottlingException", 400, "GetQueueAttributes")
        return {"Attributes": {"ApproximateNumberOfMessages": str(self.backlog)}}

    def send_message(self, **kwargs: Any) -> dict[str, Any]:
        self.sent.append(kwargs)
        return {"MessageId": str(len(self.sent))}


def test_a_throttled_signal_sends_to_the_warm_queue_counts_it_and_backs_off() -> None:
    # GIVEN GetQueueAttributes throttled
    now = [0.0]
    sqs = Sqs(backlog=5000, throttled=True)
    counted: Counter[str] = Counter()
    router = Router(CONFIG, sqs, clock=lambda: now[0], metric=lambda name, n: counted.update({name: n}))
    # WHEN 50 messages are routed within the first second
    urls = [router.route("{}") for _ in range(50)]
    # THEN every one goes out, to the warm queue, each fallback counted, after a single lookup
    assert urls == ["https://warm"] * 50 and len(sqs.sent) == 50
    assert counted == Counter({"RouterSignalUnavailable": 50})
    assert sqs.lookups == 1
    # AND the lookup is retried after 1 s, then after 2 s more while it keeps failing
    now[0] = SIGNAL_BACKOFF_S[0]
    router.route("{}")
    assert sqs.lookups == 2
    now[0] = 2.9
    router.route("{}")
    assert sqs.lookups == 2
    now[0] = 3.0
    sqs.throttled = False
    assert router.route("{}") == "https://surge"  # the signal is back: 5000 > 100
    assert sqs.lookups == 3


def test_the_signal_backoff_is_capped_at_a_minute() -> None:
    now = [0.0]
    sqs = Sqs(throttled=True)
    router = Router(CONFIG, sqs, clock=lambda: now[0])
    for _ in range(12):  # 1, 2, 4 ... then 60 s
        router.route("{}")
        now[0] += 60.0
    assert sqs.lookups == 12
    assert SIGNAL_BACKOFF_S == (1.0, 60.0)


def test_a_failing_age_metric_is_advisory_too() -> None:
    class CloudWatch:
        def get_metric_data(self, **kwargs: Any) -> Any:
            raise client_error("Throttling", 400, "GetMetricData")

    counted: Counter[str] = Counter()
    router = Router(
        {**CONFIG, "surge_backlog": None, "surge_age_s": 120},
        Sqs(),
        cloudwatch=CloudWatch(),
        metric=lambda name, n: counted.update({name: n}),
    )
    assert router.route("{}") == "https://warm"
    assert counted == Counter({"RouterSignalUnavailable": 1})


def test_a_sharded_tenant_with_a_failing_signal_goes_to_its_first_shard() -> None:
    urls = [f"https://shard{i}" for i in range(8)]
    config = {"high_url": "https://warm", "shard_urls": urls, "shards_per_tenant": 2}
    router = Router(config, Sqs(throttled=True))
    assert router.route("{}", tenant="acme") == urls[shard_indices("acme", 8, 2)[0]]


def test_surge_has_hysteresis() -> None:
    # GIVEN a surge threshold of 100 messages, exit below 80
    now = [0.0]
    sqs = Sqs()
    router = Router(CONFIG, sqs, clock=lambda: now[0])
    seen = []
    for backlog in (100, 101, 95, 80, 79, 90, 101):
        sqs.backlog = backlog
        now[0] += 5.0  # past the backlog cache
        seen.append(router.queue_for().removeprefix("https://"))
    # THEN it enters above 100 and leaves only below 80
    assert seen == ["warm", "surge", "surge", "surge", "warm", "warm", "surge"]
    assert SURGE_EXIT_RATIO == 0.8


def test_every_message_is_stamped_with_its_first_enqueue_time_unless_it_has_one() -> None:
    sqs = Sqs()
    router = Router({**CONFIG, "surge_url": None}, sqs, wall_clock=lambda: 1_800_000_000.5)
    router.route("{}")
    router.route("{}", attributes={"resilient-first-enqueued-ms": "42"})
    stamps = [m["MessageAttributes"]["resilient-first-enqueued-ms"]["StringValue"] for m in sqs.sent]
    assert stamps == ["1800000000500", "42"]


def test_the_send_is_retried_by_the_one_retry_layer() -> None:
    class Flaky(Sqs):
        def send_message(self, **kwargs: Any) -> dict[str, Any]:
            if len(self.sent) < 2:
                self.sent.append({})
                raise client_error("InternalError", 500, "SendMessage")
            return super().send_message(**kwargs)

    sqs = Flaky()
    router = Router({**CONFIG, "surge_url": None}, sqs, retry_policy=RetryPolicy(base_s=0.001, cap_s=0.001))
    assert router.route("{}") == "https://warm"
    assert len(sqs.sent) == 3


def test_the_router_stamp_reaches_the_consumer_through_moto() -> None:
    from handlers.resilience.priority import SqsMessage

    with mock_aws():
        client = boto3.client("sqs", region_name="eu-west-1")
        warm = client.create_queue(QueueName="warm")["QueueUrl"]
        Router({"high_url": warm}, client, wall_clock=lambda: 1_700_000_000.0).route("{}")
        [got] = client.receive_message(QueueUrl=warm, MessageAttributeNames=["All"])["Messages"]
        record = {
            "messageId": got["MessageId"],
            "body": got["Body"],
            "attributes": {"SentTimestamp": "1800000000000"},
            "messageAttributes": {
                k: {"stringValue": v["StringValue"], "dataType": v["DataType"]}
                for k, v in got["MessageAttributes"].items()
            },
        }
        assert SqsMessage.from_record(record).first_enqueued_ms == 1_700_000_000_000


def test_a_producer_using_all_ten_attributes_keeps_them() -> None:
    sqs = Sqs()
    given = {f"a{i}": str(i) for i in range(10)}
    Router({**CONFIG, "surge_url": None}, sqs).route("{}", attributes=given)
    assert set(sqs.sent[0]["MessageAttributes"]) == set(given)
