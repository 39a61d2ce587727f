"""PriorityQueuePair: defaults pinned to the resource inputs, FIFO/surge/shard shapes, bad input."""

from __future__ import annotations

import json
from typing import Any

import pulumi
import pytest
from resilient_serverless.components import ConfigError, PriorityQueuePair, rules
from resilient_serverless.components.testing import Graph, run_program

from tests.conftest import HANDLERS

QUEUE, MAPPING = "aws:sqs/queue:Queue", "aws:lambda/eventSourceMapping:EventSourceMapping"


def build(**args: Any) -> Graph:
    def program() -> None:
        pair = PriorityQueuePair("inbox", {"handler": "app.handlers.ingest.lambda_handler", "code": HANDLERS, **args})
        pulumi.export("config", pair.producer_config)

    return run_program(program, project="shop", stack="dev")


@pytest.fixture(scope="module")
def pair() -> Graph:
    return build()


def queue(graph: Graph, role: str) -> Any:
    return graph.one(QUEUE, f"inbox-{role}")


def test_high_and_low_queues_each_with_a_dlq_of_14_days(pair: Graph) -> None:
    for role in ("high", "low"):
        source, dlq = queue(pair, role), queue(pair, f"{role}-dlq")
        redrive = json.loads(source.inputs["redrivePolicy"])
        assert redrive == {"deadLetterTargetArn": dlq.outputs["arn"], "maxReceiveCount": 5}, source.urn
        assert source.inputs["messageRetentionSeconds"] == 345_600
        assert dlq.inputs["messageRetentionSeconds"] == 1_209_600
        assert source.inputs["sqsManagedSseEnabled"] and dlq.inputs["sqsManagedSseEnabled"]


def test_visibility_is_six_times_the_consumer_timeout_plus_the_window(pair: Graph) -> None:
    assert queue(pair, "high").inputs["visibilityTimeoutSeconds"] == 6 * 10 + 1
    assert (
        build(consumer={"timeout": 30}, batching_window_s=5).one(QUEUE, "inbox-high").inputs["visibilityTimeoutSeconds"]
        == 185
    )


def test_each_queue_has_its_own_consumer_and_concurrency(pair: Graph) -> None:
    mappings = {m.name: m.inputs for m in pair.of_type(MAPPING)}
    assert set(mappings) == {"inbox-high-mapping", "inbox-low-mapping"}
    high, low = mappings["inbox-high-mapping"], mappings["inbox-low-mapping"]
    assert (high["scalingConfig"], low["scalingConfig"]) == ({"maximumConcurrency": 10}, {"maximumConcurrency": 2})
    assert high["batchSize"] == 10 and high["maximumBatchingWindowInSeconds"] == 1
    assert high["functionResponseTypes"] == ["ReportBatchItemFailures"]
    assert high["functionName"] != low["functionName"]
    assert high["eventSourceArn"] == queue(pair, "high").outputs["arn"]


def test_the_high_consumer_defers_after_60_s_and_never_drops_by_default(pair: Graph) -> None:
    env = pair.one("aws:lambda/function:Function", "inbox-high-consumer-function").inputs["environment"]["variables"]
    assert env["RESILIENT_QUEUE_ROLE"] == "high"
    assert env["RESILIENT_DEFER_AFTER_S"] == "60"
    assert env["RESILIENT_LOW_QUEUE_URL"] == queue(pair, "low").outputs["url"]
    assert env["RESILIENT_DLQ_URL"] == queue(pair, "high-dlq").outputs["url"]
    assert "RESILIENT_TTL_S" not in env
    low_env = pair.one("aws:lambda/function:Function", "inbox-low-consumer-function").inputs["environment"]["variables"]
    assert low_env["RESILIENT_QUEUE_ROLE"] == "low" and "RESILIENT_DEFER_AFTER_S" not in low_env


def test_consumers_may_only_read_their_queue_and_write_where_they_send(pair: Graph) -> None:
    high = pair.one("resilient-serverless:index:ResilientFunction", "inbox-high-consumer")
    policies = {p.name: json.loads(p.inputs["policy"])["Statement"][0] for p in pair.children_of(high, "RolePolicy")}
    sends = sorted(s["Resource"][0].rsplit(":", 1)[1] for s in policies.values() if s["Action"] == ["sqs:SendMessage"])
    assert sends == ["shop-dev-inbox-high-dlq", "shop-dev-inbox-low"]
    reads = [s for s in policies.values() if "sqs:ReceiveMessage" in s["Action"]]
    assert [r["Resource"] for r in reads] == [[queue(pair, "high").outputs["arn"]]]


def test_alarms_on_oldest_age_and_any_dead_letter(pair: Graph) -> None:
    component = pair.one("PriorityQueuePair")
    alarms = {a.name: a.inputs for a in pair.children_of(component, "MetricAlarm")}
    assert {k: (v["metricName"], v["threshold"]) for k, v in alarms.items()} == {
        "inbox-alarm-high-age": ("ApproximateAgeOfOldestMessage", 300),
        "inbox-alarm-low-age": ("ApproximateAgeOfOldestMessage", 3600),
        "inbox-alarm-high-dlq-depth": ("ApproximateNumberOfMessagesVisible", 0),
        "inbox-alarm-low-dlq-depth": ("ApproximateNumberOfMessagesVisible", 0),
    }


def test_the_pair_passes_the_queue_rules(pair: Graph) -> None:
    queue_rules = {
        "sqs-visibility-covers-consumer",
        "sqs-mapping-isolated",
        "sqs-dlq-outlives-source",
        "sqs-dead-letter",
        "sqs-encrypted",
        "lambda-bounded-concurrency",
        "iam-no-wildcards",
        "tags-required",
    }
    assert [f for f in rules.check(pair, waived={}) if f.rule in queue_rules] == []


def test_fifo_pair() -> None:
    graph = build(fifo=True)
    high, dlq = queue(graph, "high"), queue(graph, "high-dlq")
    assert high.inputs["name"] == "shop-dev-inbox-high.fifo" and dlq.inputs["fifoQueue"] is True
    assert high.inputs["contentBasedDeduplication"] is True
    mapping = graph.one(MAPPING, "inbox-high-mapping").inputs
    assert "maximumBatchingWindowInSeconds" not in mapping and mapping["batchSize"] == 10
    env = graph.one("aws:lambda/function:Function", "inbox-high-consumer-function").inputs["environment"]["variables"]
    assert env["RESILIENT_FIFO"] == "true" and "RESILIENT_DEFER_AFTER_S" not in env
    assert graph.exports["config"]["fifo"] is True


def test_surge_queue_and_producer_thresholds() -> None:
    graph = build(surge={"backlog": 1000, "age_s": 120})
    assert queue(graph, "surge").inputs["visibilityTimeoutSeconds"] == 61
    assert graph.one(MAPPING, "inbox-surge-mapping").inputs["scalingConfig"] == {"maximumConcurrency": 2}
    config = graph.exports["config"]
    assert (config["surge_url"], config["surge_backlog"], config["surge_age_s"]) == (
        queue(graph, "surge").outputs["url"],
        1000,
        120,
    )


def test_shards_share_one_consumer_and_dlq_and_report_the_blast_radius() -> None:
    graph = build(shards={"count": 6, "per_tenant": 2})
    shard_mappings = [m for m in graph.of_type(MAPPING) if m.name.startswith("inbox-shard")]
    assert len(shard_mappings) == 6 and len({m.inputs["functionName"] for m in shard_mappings}) == 1
    dlq_arn = queue(graph, "shard-dlq").outputs["arn"]
    assert all(
        json.loads(queue(graph, f"shard{i}").inputs["redrivePolicy"])["deadLetterTargetArn"] == dlq_arn
        for i in range(6)
    )
    outputs = graph.outputs_of(graph.one("PriorityQueuePair"))
    assert outputs["blast_radius"] == pytest.approx(1 / 15)
    assert graph.exports["config"]["shards_per_tenant"] == 2 and len(graph.exports["config"]["shard_urls"]) == 6


def test_ttl_reaches_every_consumer() -> None:
    graph = build(ttl_s=900)
    for fn in graph.of_type("aws:lambda/function:Function"):
        assert fn.inputs["environment"]["variables"]["RESILIENT_TTL_S"] == "900", fn.urn


# --- bad input ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            {"defer_after_s": 600, "ttl_s": 300},
            "defer_after_s=600 must be below ttl_s=300 (defer_after_s < ttl_s < retention_s)",
        ),
        ({"ttl_s": 400_000}, "ttl_s=400000 must be below retention_s=345600 (defer_after_s < ttl_s < retention_s)"),
        (
            {"retention_s": 1_209_600},
            "retention_s=1209600 is outside 60 to 1209599 seconds "
            "(the DLQ keeps 1209600 s and must outlive its source)",
        ),
        ({"fifo": True, "batch_size": 11}, "batch_size=11 is outside 1 to 10 (SQS FIFO mapping batch)"),
        (
            {"fifo": True, "batching_window_s": 5},
            "batching_window_s=5 must be 0 on FIFO queues (AWS has no batching window for them)",
        ),
        (
            {"fifo": True, "defer_after_s": 60},
            "defer_after_s=60 cannot be used with fifo=True: deferral would reorder a message group",
        ),
        (
            {"batch_size": 100, "batching_window_s": 0},
            "batch_size=100 above 10 needs batching_window_s of at least 1 (AWS)",
        ),
        ({"batching_window_s": 301}, "batching_window_s=301 is outside 0 to 300 seconds (SQS mapping window)"),
        (
            {"max_concurrency": {"high": 1}},
            "max_concurrency['high']=1 is outside 2 to 1000 (SQS mapping maximum concurrency)",
        ),
        ({"max_concurrency": {"urgent": 5}}, "unknown max_concurrency role 'urgent'"),
        (
            {"visibility_timeout_s": 30},
            "visibility_timeout_s=30 is below 61 (6 x the consumer timeout of 10 s + the batching window of 1 s): "
            "a batch still in work would be delivered again",
        ),
        ({"max_receive_count": 0}, "max_receive_count=0 is outside 1 to 1000 (SQS redrive maxReceiveCount)"),
        ({"surge": {}}, "surge needs a threshold: backlog and/or age_s"),
        ({"surge": {"age_s": 30}}, "surge.age_s=30 is outside 60 to 1209600 seconds (SQS age metrics have one-minute"),
        (
            {"shards": {"count": 4, "per_tenant": 4}},
            "shards.per_tenant=4 is outside 1 to 3 (a tenant on every shard would share all of them with everyone)",
        ),
        (
            {"shards": {"count": 4, "per_tenant": 2}, "surge": {"backlog": 5}},
            "surge and shards cannot be combined: a sharded pair spreads load across its shards instead",
        ),
        (
            {"consumer": {"handler": "x.y"}},
            "consumer['handler'] is set by PriorityQueuePair; pass handler and code at the top level",
        ),
    ],
)
def test_bad_input_is_named(args: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as raised:
        build(**args)
    assert str(raised.value).startswith("PriorityQueuePair 'inbox': ")
    assert any(p.startswith(message) for p in raised.value.problems), raised.value.problems


def test_handler_and_code_are_required() -> None:
    def program() -> None:
        PriorityQueuePair("inbox", {})

    with pytest.raises(ConfigError) as raised:
        run_program(program)
    assert raised.value.problems == [
        "handler is required (the consumers' handler and package)",
        "code is required (the consumers' handler and package)",
    ]


def test_bad_input_registers_nothing() -> None:
    def program() -> None:
        with pytest.raises(ConfigError):
            PriorityQueuePair("inbox", {"handler": "h.h", "code": HANDLERS, "ttl_s": 1, "defer_after_s": 5})

    assert len(run_program(program)) == 0


def test_outputs_name_every_queue_dlq_and_consumer(pair: Graph) -> None:
    outputs = pair.outputs_of(pair.one("PriorityQueuePair"))
    assert set(outputs["queue_arns"]) == {"high", "low"} and set(outputs["dlq_arns"]) == {"high", "low"}
    assert outputs["queue_arns"]["high"] == queue(pair, "high").outputs["arn"]
    assert outputs["consumer_functions"] == {
        "high": "shop-dev-inbox-high-consumer",
        "low": "shop-dev-inbox-low-consumer",
    }
    assert outputs["high_url"] == pair.exports["config"]["high_url"]


def test_the_plan_shows_queues_consumers_and_the_blast_radius() -> None:
    from resilient_serverless.components.plan import build_plan

    graph = build(shards={"count": 8, "per_tenant": 2})
    plan = build_plan(graph, rules.check(graph, waived={}))
    node = next(n for n in plan["tree"] if n["type"].endswith("PriorityQueuePair"))
    assert node["settings"]["blast_radius"] == pytest.approx(1 / 28)
    assert node["settings"]["visibility_timeout_s"] == 61 and node["settings"]["defer_after_s"] == 60
    children = {c["name"]: c["settings"] for c in node["children"]}
    assert children["inbox-high"]["visibility_timeout_s"] == 61
    assert children["inbox-high-mapping"] == {
        "batch_size": 10,
        "batching_window_s": 1,
        "max_concurrency": 10,
        "partial_batch": True,
    }
    assert "inbox-high-consumer" in children


def test_surge_and_shard_consumers_default_to_two_concurrent_with_five_minute_age_alarms() -> None:
    surge = build(surge={"backlog": 10})
    shards = build(shards={"count": 3, "per_tenant": 1})
    assert surge.one(MAPPING, "inbox-surge-mapping").inputs["scalingConfig"] == {"maximumConcurrency": 2}
    assert shards.one(MAPPING, "inbox-shard0-mapping").inputs["scalingConfig"] == {"maximumConcurrency": 2}
    assert surge.one("aws:cloudwatch/metricAlarm:MetricAlarm", "inbox-alarm-surge-age").inputs["threshold"] == 300
    assert shards.one("aws:cloudwatch/metricAlarm:MetricAlarm", "inbox-alarm-shard0-age").inputs["threshold"] == 300
