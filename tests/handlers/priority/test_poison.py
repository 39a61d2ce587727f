"""Poison: a record that can never succeed (unreadable, refused by AWS or by its validator) is dead-lettered
at once and alone, with its reason; the rest of its batch is processed."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from moto import mock_aws

from handlers.resilience.priority import (
    PoisonMessage,
    SqsMessage,
    poison_reason,
)
from tests.conftest import client_error

from ._support import (
    RejectingSqs,
    ScriptedSqs,
    _aged,
    _deferring,
    clocked_consumer,
    consumer,
    receive_all,
    record,
    sqs_message,
)


def test_unreadable_records_are_dead_lettered_alone_and_valid_ones_processed(sqs: Any) -> None:
    # GIVEN a batch mixing valid orders with records that cannot be read or judged
    processed: list[str] = []
    bad_timestamp = record("bad-ts", '{"n": 2}')
    bad_timestamp["attributes"]["SentTimestamp"] = "yesterday"
    null_attributes = record("null-attrs", '{"n": 3}')
    null_attributes["attributes"] = None
    no_body = record("no-body", "")
    del no_body["body"]
    no_id = record("x", '{"n": 4}')
    del no_id["messageId"]
    nested = record("nested", "[" * 100_000 + "]" * 100_000)
    records = [record("ok", '{"n": 1}'), bad_timestamp, null_attributes, no_body, no_id, nested]
    c = consumer(sqs, process=lambda body, message: processed.append(message.message_id))
    # WHEN the consumer handles it
    response = c.handle({"Records": records})
    # THEN nothing fails the batch: readable ones are processed (unknown age: never deferred),
    # unreadable ones are dead-lettered with their reason
    assert response == {"batchItemFailures": []}
    assert processed == ["ok", "bad-ts", "null-attrs"]
    reasons = sorted(m["MessageAttributes"]["reason"]["StringValue"] for m in receive_all(sqs, sqs.urls["dlq"]))
    assert reasons == ["body is nested too deeply to parse", "the record has no body", "the record has no messageId"]


def test_a_validator_that_crashes_dead_letters_only_its_record(sqs: Any) -> None:
    def validate(body: Any) -> str | None:
        return None if body["kind"] == "ok" else "bad kind"

    c = consumer(sqs, validate=validate)
    response = c.handle({"Records": [record("a", '{"kind": "ok"}'), record("b", "[1]")]})
    assert response == {"batchItemFailures": []}
    [dead] = receive_all(sqs, sqs.urls["dlq"])
    assert dead["MessageAttributes"]["reason"]["StringValue"] == (
        "validation raised TypeError: list indices must be integers or slices, not str"
    )


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        (PoisonMessage("order_id missing"), "order_id missing"),
        (client_error("ValidationException", 400, "PutItem"), "ValidationException: ValidationException"),
        (UnicodeEncodeError("utf-8", "\ud800", 0, 1, "surrogates not allowed"), "cannot be encoded: "),
        (RecursionError("deep"), "nested too deeply to handle"),
        (client_error("ThrottlingException", 400), None),
        (client_error("InternalServerError", 500), None),
        (ConnectionError("down"), None),
    ],
)
def test_what_is_poison(error: BaseException, reason: str | None) -> None:
    got = poison_reason(error)
    assert got == reason if reason is None else (got or "").startswith(reason)


def test_errors_that_cannot_succeed_are_dead_lettered_at_once_with_the_reason(sqs: Any) -> None:
    # GIVEN a process that hits DynamoDB's 400 KB limit, an unencodable string and a throttle
    def process(body: Any, message: SqsMessage) -> None:
        if body["kind"] == "big":
            raise client_error("ValidationException", 400, "PutItem")
        if body["kind"] == "surrogate":
            body["text"].encode()
        raise client_error("ThrottlingException", 400, "PutItem")

    c = consumer(sqs, process=process)
    bodies = ['{"kind": "big"}', '{"kind": "surrogate", "text": "\\ud800"}', '{"kind": "throttled"}']
    # WHEN handled once
    response = c.handle({"Records": [record(f"m{i}", b) for i, b in enumerate(bodies)]})
    # THEN only the throttled one is retried; the others are in the DLQ with their reason
    assert response == {"batchItemFailures": [{"itemIdentifier": "m2"}]}
    reasons = sorted(m["MessageAttributes"]["reason"]["StringValue"] for m in receive_all(sqs, sqs.urls["dlq"]))
    assert reasons[0] == "ValidationException: ValidationException"
    assert reasons[1].startswith("cannot be encoded: 'utf-8' codec can't encode character '\\ud800'")


@pytest.mark.parametrize("code", ["SerializationException", "InvalidParameterValue", "ValidationException"])
def test_each_aws_poison_code_is_named_with_its_message(code: str) -> None:
    assert poison_reason(client_error(code, 400)) == f"{code}: {code}"


def test_a_recursion_error_is_nested_too_deeply() -> None:
    assert poison_reason(RecursionError("deep")) == "nested too deeply to handle"


def test_a_request_refused_by_botocore_validation_is_poison() -> None:
    error = type("ParamValidationError", (Exception,), {})("Invalid length for parameter Key")
    assert poison_reason(error) == "refused by request validation: Invalid length for parameter Key"


def test_an_aws_poison_code_without_a_message_is_named_alone() -> None:
    error = Exception("refused")
    error.response = {"Error": {"Code": "ValidationException"}}  # type: ignore[attr-defined]
    assert poison_reason(error) == "ValidationException: "


def test_a_response_without_an_error_is_not_poison() -> None:
    error = Exception("odd")
    error.response = {"Error": None}  # type: ignore[attr-defined]
    assert poison_reason(error) is None


def test_a_poison_record_of_unknown_age_is_dead_lettered_as_first_enqueued_now() -> None:
    sqs = ScriptedSqs("ok")
    consumer = _deferring(sqs, validate=lambda body: "bad")
    consumer.clock = lambda: 1_800_000_000.25
    consumer._consume([{"messageId": "m1", "body": "{}"}])
    [(url, [entry])] = sqs.calls
    assert url == "dlq"
    assert entry["MessageAttributes"]["resilient-first-enqueued-ms"]["StringValue"] == "1800000000250"


def test_a_poison_body_with_a_lone_surrogate_is_sized_and_dead_lettered() -> None:
    # A hand-built record only (SQS never delivers a lone surrogate): sizing must not fail the batch.
    sqs = ScriptedSqs("ok")
    consumer = _deferring(sqs)
    assert consumer._consume([{**_aged("m1", 1), "body": "not json \ud800"}]) == {"m1": "dead-lettered"}
    assert sqs.calls[0][1][0]["MessageBody"] == "not json \ud800"


def test_a_non_ascii_reason_is_sized_in_utf8_and_dead_lettered() -> None:
    # The accented text is what matters for the size; the surrogate reaches the encoder's error path.
    sqs = ScriptedSqs("ok")
    consumer = _deferring(sqs, validate=lambda body: "prix non numérique \ud800")
    assert consumer._consume([_aged("m1", 1)]) == {"m1": "dead-lettered"}
    assert sqs.calls[0][1][0]["MessageAttributes"]["reason"]["StringValue"] == "prix non numérique \ud800"


def test_a_poison_message_with_no_dlq_configured_is_left_to_sqs_redrive() -> None:
    # GIVEN a consumer with no DLQ URL WHEN a body is not JSON THEN it is not acknowledged (never
    # lost): SQS delivers it again and its own redrive moves it after maxReceiveCount
    low = clocked_consumer(RejectingSqs(), role="low")
    assert low.consume([sqs_message("a", "{not json"), sqs_message("b", {"n": 1})]) == {"a": "failed", "b": "processed"}


@mock_aws
def test_a_poison_message_reaches_a_real_dlq_with_its_reason() -> None:
    sqs = boto3.client("sqs", region_name="eu-west-1")
    dlq = sqs.create_queue(QueueName="dlq")["QueueUrl"]
    low = clocked_consumer(sqs, role="low", dlq_url=dlq)
    assert low.consume([sqs_message("a", "{not json")]) == {"a": "dead-lettered"}
    got = sqs.receive_message(QueueUrl=dlq, MessageAttributeNames=["All"])["Messages"]
    assert [m["Body"] for m in got] == ["{not json"]
    assert got[0]["MessageAttributes"]["reason"]["StringValue"].startswith("body is not JSON: ")
