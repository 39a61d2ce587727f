"""The consumer's settings: its defaults, the checks on each, and ``consumer_from_env`` reading what
the component sets."""

from __future__ import annotations

from typing import Any

import pytest

from handlers.resilience.priority import (
    DynamoDBDedupStore,
    PriorityConsumer,
    poison_reason,
)


def test_consumer_defaults_margin_1_s_batches_of_1_mib_no_dedup_poison_reason() -> None:
    c = PriorityConsumer(process=lambda b, m: None, sqs=None)
    assert (c.deadline_margin_s, c.max_batch_bytes, c.dedup, c.classify) == (1.0, 1_048_576, None, poison_reason)


def test_consumer_from_env_adds_a_dedup_store_where_a_table_is_named() -> None:
    from handlers.resilience.priority import consumer_from_env

    c = consumer_from_env(lambda b, m: None, sqs=object(), environ={"RESILIENT_DEDUP_TABLE": "dedup"})
    assert isinstance(c.dedup, DynamoDBDedupStore) and c.dedup.table_name == "dedup"
    assert consumer_from_env(lambda b, m: None, sqs=object(), environ={}).dedup is None


def test_retry_and_breaker_defaults() -> None:
    from handlers.resilience.backoff import RetryPolicy
    from handlers.resilience.breaker import CONFLICT_RETRIES

    assert RetryPolicy().attempt_timeout_s is None
    assert CONFLICT_RETRIES == 10


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({"RESILIENT_QUEUE_ROLE": "low", "RESILIENT_DEFER_AFTER_S": "60"}, ("low", None, False)),
        ({"RESILIENT_QUEUE_ROLE": "surge", "RESILIENT_FIFO": "true"}, ("surge", None, True)),
        ({}, ("high", None, False)),
    ],
)
def test_consumer_from_env_roles_fifo_and_the_client_given(environ: dict[str, str], expected: tuple[Any, ...]) -> None:
    from handlers.resilience.priority import consumer_from_env

    client = object()
    consumer = consumer_from_env(lambda b, m: None, sqs=client, environ=environ)
    # deferral is read for the high queue only; the client given is the one used
    assert (consumer.role, consumer.defer_after_s, consumer.fifo) == expected
    assert consumer.sqs is client


def test_consumer_from_env_counts_through_powertools_metrics_and_logs_through_its_logger(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from handlers.resilience.observability import logger, metrics
    from handlers.resilience.priority import consumer_from_env

    logged: list[tuple[str, Any]] = []
    monkeypatch.setattr(logger, "info", lambda message, extra: logged.append((message, extra)))
    consumer = consumer_from_env(lambda b, m: None, sqs=object(), environ={})
    try:
        consumer.metric("MessagesProcessed", 3)
        assert metrics.metric_set["MessagesProcessed"]["Value"] == [3.0]
    finally:
        metrics.clear_metrics()
    consumer.log("message failed", {"message_id": "m1"})
    assert logged == [("message failed", {"message_id": "m1"})]


def test_consumer_from_env_names_an_unknown_role_exactly() -> None:
    from handlers.resilience.priority import consumer_from_env

    with pytest.raises(ValueError) as raised:
        consumer_from_env(lambda b, m: None, sqs=object(), environ={"RESILIENT_QUEUE_ROLE": "mid"})
    assert str(raised.value) == "RESILIENT_QUEUE_ROLE='mid' is not one of 'high', 'low', 'surge'"
