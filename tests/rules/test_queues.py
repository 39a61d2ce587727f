"""The queue rules at their edges: redrive, retention, visibility and mapping thresholds one step on
each side, and the fields each rule reads, on resources built by hand."""

from __future__ import annotations

import json

import pytest
from resilient_serverless.components import rules
from resilient_serverless.components.testing import Graph

from .hand_built import function, messages, out, queue, res


def _visibility_case(visibility: int | None) -> list[str]:
    inputs = {} if visibility is None else {"visibilityTimeoutSeconds": visibility}
    q = queue("q", **inputs)
    fn = function(timeout=5)
    mapping = res(
        rules.MAPPING,
        "m",
        {"eventSourceArn": "arn:aws:sqs:eu-west-1:1:q", "functionName": "f", "maximumBatchingWindowInSeconds": 2},
    )
    return messages("sqs-visibility-covers-consumer", q, fn, mapping)


def test_a_kms_encrypted_queue_counts_as_encrypted() -> None:
    assert messages("sqs-encrypted", queue("q", kmsMasterKeyId="alias/orders")) == []
    assert messages("sqs-encrypted", queue("q", sqsManagedSseEnabled=True)) == []
    assert messages("sqs-encrypted", queue("q", sqsManagedSseEnabled=False)) == ["no server-side encryption"]


@pytest.mark.parametrize("field", ["destinationConfig", "deadLetterConfig"])
def test_a_queue_named_as_a_failure_destination_is_a_dead_letter_target(field: str) -> None:
    dlq = queue("dlq")
    user = res(
        rules.INVOKE_CONFIG if field == "destinationConfig" else rules.FUNCTION,
        "u",
        {field: {"targetArn": "arn:aws:sqs:eu-west-1:1:dlq"}},
    )
    assert messages("sqs-dead-letter", dlq, user) == []
    assert rules.is_dead_letter_target(dlq, Graph([dlq, user]))


def test_a_queue_without_an_arn_is_no_dead_letter_target() -> None:
    bare = res(rules.QUEUE, "q")
    assert not rules.is_dead_letter_target(bare, Graph([bare]))


def test_a_queue_does_not_count_as_its_own_dlq() -> None:
    loop = queue("q", redrivePolicy=json.dumps({"deadLetterTargetArn": "arn:aws:sqs:eu-west-1:1:q"}))
    assert not rules.is_dead_letter_target(loop, Graph([loop]))


def test_visibility_equal_to_six_timeouts_plus_the_window_is_enough() -> None:
    assert _visibility_case(32) == []
    assert _visibility_case(31) == [
        "queue q hides a received batch for 31 s, below the 32 s its consumer f may need (6 x 5 s + window): "
        "work is delivered twice"
    ]


def test_the_default_visibility_is_30_s_and_the_default_timeout_3_s() -> None:
    assert _visibility_case(None) == [
        "queue q hides a received batch for 30 s, below the 32 s its consumer f may need (6 x 5 s + window): "
        "work is delivered twice"
    ]
    q = queue("q", visibilityTimeoutSeconds=18)
    mapping = res(rules.MAPPING, "m", {"eventSourceArn": "arn:aws:sqs:eu-west-1:1:q", "functionName": "f"})
    assert messages("sqs-visibility-covers-consumer", q, function(), mapping) == []
    short = queue("q", visibilityTimeoutSeconds=17)
    assert len(messages("sqs-visibility-covers-consumer", short, function(), mapping)) == 1


def test_mappings_of_other_sources_are_not_judged_as_sqs() -> None:
    stream = res(rules.MAPPING, "m", {"eventSourceArn": "arn:aws:kinesis:eu-west-1:1:stream/s", "functionName": "f"})
    assert messages("sqs-mapping-isolated", stream) == []


@pytest.mark.parametrize(
    ("dlq_keeps", "found"),
    [
        (345_601, []),
        (
            345_600,
            [
                "its DLQ dlq keeps messages 345600 s, not longer than this queue's 345600 s: a redriven message can "
                "expire before anyone looks"
            ],
        ),
    ],
)
def test_a_dlq_must_keep_messages_strictly_longer(dlq_keeps: int, found: list[str]) -> None:
    dlq = queue("dlq", messageRetentionSeconds=dlq_keeps)
    source = queue("q", redrivePolicy=json.dumps({"deadLetterTargetArn": "arn:aws:sqs:eu-west-1:1:dlq"}))
    assert messages("sqs-dlq-outlives-source", dlq, source) == found


def test_default_retention_on_both_sides_is_four_days_and_too_short() -> None:
    dlq = queue("dlq")
    source = queue("q", redrivePolicy=json.dumps({"deadLetterTargetArn": "arn:aws:sqs:eu-west-1:1:dlq"}))
    assert messages("sqs-dlq-outlives-source", dlq, source) == [
        "its DLQ dlq keeps messages 345600 s, not longer than this queue's 345600 s: a redriven message can expire "
        "before anyone looks"
    ]


def test_fifo_with_a_fifo_dlq_is_the_same_type() -> None:
    dlq = queue("dlq.fifo", messageRetentionSeconds=1_209_600, fifoQueue=True)
    source = queue(
        "q.fifo", fifoQueue=True, redrivePolicy=json.dumps({"deadLetterTargetArn": "arn:aws:sqs:eu-west-1:1:dlq.fifo"})
    )
    assert messages("sqs-dlq-outlives-source", dlq, source) == []


def test_a_queue_with_an_empty_redrive_policy_has_no_dlq_to_compare() -> None:
    assert messages("sqs-dlq-outlives-source", queue("q", redrivePolicy="")) == []


def test_a_mapping_names_the_function_by_its_physical_name() -> None:
    fn = out(rules.FUNCTION, "f", {}, {"name": "shop-dev-f", "arn": "arn:aws:lambda:eu-west-1:1:function:shop-dev-f"})
    mapping = res(rules.MAPPING, "m", {"functionName": "shop-dev-f", "scalingConfig": {"maximumConcurrency": 2}})
    assert messages("lambda-bounded-concurrency", fn, mapping) == []


def test_the_source_retention_is_read_from_the_source() -> None:
    dlq = queue("dlq", messageRetentionSeconds=120)
    source = queue(
        "q",
        messageRetentionSeconds=60,
        redrivePolicy=json.dumps({"deadLetterTargetArn": "arn:aws:sqs:eu-west-1:1:dlq"}),
    )
    assert messages("sqs-dlq-outlives-source", dlq, source) == []


def test_the_visibility_finding_names_the_default_timeout() -> None:
    q = queue("q", visibilityTimeoutSeconds=17)
    mapping = res(rules.MAPPING, "m", {"eventSourceArn": "arn:aws:sqs:eu-west-1:1:q", "functionName": "f"})
    assert messages("sqs-visibility-covers-consumer", q, function(), mapping) == [
        "queue q hides a received batch for 17 s, below the 18 s its consumer f may need (6 x 3 s + window): "
        "work is delivered twice"
    ]


@pytest.mark.parametrize(
    ("type_", "field"),
    [
        ("aws:lambda/eventSourceMapping:EventSourceMapping", "destinationConfig"),
        ("aws:sns/topicSubscription:TopicSubscription", "redrivePolicy"),
        ("aws:sqs/queue:Queue", "redrivePolicy"),
    ],
)
def test_each_place_that_names_a_dead_letter_queue_is_read(type_: str, field: str) -> None:
    dlq = queue("dlq")
    user = out(type_, "u", {field: {"target": "arn:aws:sqs:eu-west-1:1:dlq"}}, {"arn": "arn:other"})
    assert rules.is_dead_letter_target(dlq, Graph([dlq, user]))
