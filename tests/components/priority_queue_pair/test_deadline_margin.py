"""A consumer's timeout must leave room for at least one record past its deadline margin: the
consumer starts no record within ``QUEUE_CONSUMER_DEADLINE_MARGIN_S`` of its deadline, so a
timeout at or below it would start none and every message would reach the DLQ."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest
from resilient_serverless.components import PriorityQueuePair, defaults
from resilient_serverless.components.testing import FakeLambdaContext, run_program
from resilient_serverless.components.validation import ConfigError

from environments.settings import parse_settings
from handlers.resilience.priority import PriorityConsumer
from tests.conftest import HANDLERS

MARGIN = defaults.QUEUE_CONSUMER_DEADLINE_MARGIN_S


def build(timeout: int) -> Any:
    def program() -> None:
        PriorityQueuePair(
            "inbox",
            {"handler": "app.handlers.ingest.lambda_handler", "code": HANDLERS, "consumer": {"timeout": timeout}},
        )

    return run_program(program, project="shop", stack="dev")


def test_the_margin_the_pair_checks_is_the_one_the_consumer_keeps() -> None:
    margin = next(f for f in dataclasses.fields(PriorityConsumer) if f.name == "deadline_margin_s")
    assert margin.default == MARGIN == 1


def test_a_consumer_timeout_at_the_margin_is_refused_naming_both_and_the_minimum() -> None:
    # GIVEN a pair whose consumer may run 1 s, the consumer's deadline margin
    # WHEN it is built
    with pytest.raises(ConfigError) as raised:
        build(timeout=MARGIN)
    # THEN one problem names the timeout, the margin and the smallest usable timeout
    assert raised.value.problems == [
        "consumer.timeout=1 is at or below the consumer's deadline margin of 1 s (no record is started within 1 s "
        "of the deadline): it would start none, and every message would reach the DLQ after max_receive_count "
        "receives; the minimum is 2 s"
    ]


def test_a_consumer_timeout_one_second_above_the_margin_is_accepted() -> None:
    graph = build(timeout=MARGIN + 1)
    consumer = graph.one("aws:lambda/function:Function", name="inbox-high-consumer-function")
    assert consumer.inputs["timeout"] == MARGIN + 1, consumer.urn


def _handle(timeout_s: int) -> dict[str, Any]:
    """One fresh valid record handled by a consumer invoked with ``timeout_s`` left."""
    consumer = PriorityConsumer(process=lambda body, message: None, sqs=None, role="low", clock=lambda: 1_000.0)
    record = {
        "messageId": "m1",
        "receiptHandle": "rh",
        "body": json.dumps({"order_id": "o1"}),
        "attributes": {"SentTimestamp": "1000000", "ApproximateReceiveCount": "1"},
        "messageAttributes": {},
    }
    return consumer.handle({"Records": [record]}, FakeLambdaContext(remaining_ms=timeout_s * 1000))


def test_at_the_margin_the_consumer_starts_nothing_and_one_second_above_it_does() -> None:
    # GIVEN invocations with the whole timeout left: the margin itself, then one second more
    # WHEN each handles one valid record
    # THEN at the margin the record is not started (a failure SQS redelivers, until the DLQ),
    # above it the record is processed
    assert _handle(MARGIN) == {"batchItemFailures": [{"itemIdentifier": "m1"}]}
    assert _handle(MARGIN + 1) == {"batchItemFailures": []}


def test_the_stack_setting_is_refused_at_the_margin_before_any_resource() -> None:
    # GIVEN functionTimeoutSeconds: 1 (the order inbox's consumers run with it)
    with pytest.raises(ConfigError) as raised:
        parse_settings({"functionTimeoutSeconds": MARGIN})
    # THEN the settings name it, before __main__ creates anything
    assert raised.value.problems == [
        "functionTimeoutSeconds=1 is at or below the order inbox consumers' deadline margin of 1 s: they would "
        "start no record; the minimum is 2 s"
    ]
    assert parse_settings({"functionTimeoutSeconds": MARGIN + 1}).function_timeout == MARGIN + 1
