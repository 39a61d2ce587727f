"""The invocation's deadline: no record is started that cannot finish before it, and the margin kept
for the batch's writes and the response."""

from __future__ import annotations

from typing import Any

from resilient_serverless.components.testing import FakeLambdaContext

from handlers.resilience.priority import (
    SqsMessage,
)

from ._support import NOW, _aged, _recording, consumer, record


def test_no_record_is_started_that_cannot_finish_before_the_deadline(sqs: Any) -> None:
    # GIVEN a slow dependency (4 s per record) and 10 s left in the invocation, 1 s kept as margin
    now = [NOW]

    def slow(body: Any, message: SqsMessage) -> None:
        now[0] += 4.0

    logged: list[tuple[str, dict[str, Any]]] = []
    c = consumer(
        sqs, process=slow, clock=lambda: now[0], deadline_margin_s=1.0, log=lambda m, f: logged.append((m, dict(f)))
    )
    records = [record(f"m{i}", "{}") for i in range(5)]
    # WHEN the batch is handled
    response = c.handle({"Records": records}, FakeLambdaContext(remaining_ms=10_000))
    # THEN two records are done by 8 s; the third (8 s + 4 s > 9 s) and later are not started,
    # which one log line says, with how many records it left
    assert response == {"batchItemFailures": [{"itemIdentifier": f"m{i}"} for i in (2, 3, 4)]}
    assert now[0] - NOW == 8.0
    assert logged == [("not started: the invocation's deadline is near", {"message_id": "m2", "remaining": 3})]


def test_the_first_record_is_started_whatever_time_is_left_after_the_margin() -> None:
    # GIVEN 1.5 s left and a 1 s margin: half a second, and no record timed yet to estimate from
    from resilient_serverless.components.testing import FakeLambdaContext

    consumer, processed, _ = _recording(clock=lambda: 1_800_000_000.0, deadline_margin_s=1.0)
    # WHEN a batch is handled
    consumer.handle({"Records": [_aged("m1", 1)]}, FakeLambdaContext(remaining_ms=1_500))
    # THEN the record is started
    assert processed == ["m1"]


def test_a_record_is_not_started_when_the_time_left_only_equals_the_longest_so_far() -> None:
    # GIVEN 9 s left, a 1 s margin (8 s to spend) and records that take 4 s each
    from resilient_serverless.components.testing import FakeLambdaContext

    now = [1_800_000_000.0]
    consumer, processed, _ = _recording(clock=lambda: now[0], deadline_margin_s=1.0)

    def slow(body: Any, message: Any) -> None:
        processed.append(message.message_id)
        now[0] += 4.0

    consumer.process = slow
    # WHEN three records are handled
    response = consumer.handle(
        {"Records": [_aged(f"m{i}", 1) for i in range(3)]}, FakeLambdaContext(remaining_ms=9_000)
    )
    # THEN after the first, 4 s are left, exactly the longest record so far: the second is not
    # started, since it might not finish
    assert processed == ["m0"]
    assert response == {"batchItemFailures": [{"itemIdentifier": "m1"}, {"itemIdentifier": "m2"}]}
