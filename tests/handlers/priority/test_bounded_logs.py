"""What the consumer logs when something fails (a validator, a handler, the dedup store, a send): one
line per failure, its error bounded to 500 characters, so a hostile body cannot flood the logs."""

from __future__ import annotations

from typing import Any

from ._support import ScriptedSqs, _aged, _deferring, _old_batch, _recording


def test_the_log_line_of_a_crashed_validator_keeps_500_characters_and_the_dlq_attribute_256() -> None:
    # GIVEN a validator that raises with a very long message
    logged: list[tuple[str, dict[str, Any]]] = []

    def validate(body: Any) -> str | None:
        raise KeyError("k" * 1000)

    consumer, _, sent = _recording(dlq_url="dlq", validate=validate, log=lambda m, f: logged.append((m, dict(f))))
    # WHEN a record is judged
    consumer.handle({"Records": [_aged("m1", 1)]})
    # THEN the log keeps 500 characters of the reason, the DLQ copy's attribute 256
    reason = f"validation raised KeyError: {'k' * 1000!r}"
    assert logged == [("message dead-lettered", {"message_id": "m1", "reason": reason[:500]})]
    assert sent[0][0]["MessageAttributes"]["reason"]["StringValue"] == reason[:256]


def test_a_failed_message_is_logged_with_its_error_bounded_to_500_characters() -> None:
    logged: list[tuple[str, dict[str, Any]]] = []
    error = ConnectionError("x" * 1000)

    def process(body: Any, message: Any) -> None:
        raise error

    consumer, _, _ = _recording(process=process, log=lambda m, f: logged.append((m, dict(f))))
    assert consumer.handle({"Records": [_aged("m1", 1)]}) == {"batchItemFailures": [{"itemIdentifier": "m1"}]}
    assert logged == [("message failed", {"message_id": "m1", "error": repr(error)[:500]})]


def test_a_dedup_store_error_is_logged_bounded_to_500_characters() -> None:
    logged: list[tuple[str, dict[str, Any]]] = []
    error = ConnectionError("y" * 1000)

    class Down:
        def seen(self, keys: Any) -> set[str]:
            raise error

        def mark(self, keys: Any) -> None:
            raise error

    consumer, _, sent = _recording(
        low_queue_url="low",
        defer_after_s=60,
        dedup=Down(),
        clock=lambda: 1_800_000_000.0,
        log=lambda m, f: logged.append((m, dict(f))),
    )
    assert consumer.handle({"Records": [_aged("old", 120_000)]}) == {"batchItemFailures": []}
    # the lookup, then the record of the write: each failure logged, the write kept
    assert logged == [("dedup store unavailable", {"error": repr(error)[:500]})] * 2
    assert len(sent) == 1


def test_a_send_error_is_logged_bounded_to_500_characters() -> None:
    logged: list[tuple[str, dict[str, Any]]] = []
    error = ConnectionError("z" * 1000)

    class Failing:
        def send_message_batch(self, **kwargs: Any) -> Any:
            raise error

    consumer = _deferring(ScriptedSqs(), log=lambda m, f: logged.append((m, dict(f))))
    consumer.sqs = Failing()
    consumer._consume(_old_batch(1))
    assert logged == [("batch send failed", {"queue_url": "low", "error": repr(error)[:500]})]
