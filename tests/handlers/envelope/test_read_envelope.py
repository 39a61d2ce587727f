"""Reading an envelope: each accepted input form,
the fields of a message that is not an envelope, each field's type check, and the bounded quote
of a body that is not JSON."""

from __future__ import annotations

import dataclasses
import json

import pytest
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from handlers.resilience.envelope import ENVELOPE_VERSION, Envelope, EnvelopeError, read_envelope

ENVELOPE = {
    "envelope": ENVELOPE_VERSION,
    "route": "POST /orders",
    "requestId": "r-1",
    "receivedAt": 1_700_000_000_000,
    "path": {},
    "query": {"priority": "high"},
    "headers": {"Idempotency-Key": "k-1"},
    "body": {"order_id": "o-1"},
}


def test_an_envelope_is_a_value_that_cannot_be_changed_in_place() -> None:
    # GIVEN an envelope read from a message WHEN a field is assigned THEN it is refused
    with pytest.raises(dataclasses.FrozenInstanceError):
        read_envelope(ENVELOPE).body = {}  # type: ignore[misc]


def test_a_message_that_is_not_an_envelope_has_empty_fields_and_no_request_facts() -> None:
    # GIVEN a bare payload from another producer WHEN read
    got = read_envelope({"eventSource": "aws:sqs", "body": '{"order_id": "o-1"}'})
    # THEN only the body is set: empty mappings (not None), no request id, time or route
    assert got == Envelope(body={"order_id": "o-1"}, enveloped=False)
    assert (got.path, got.query, got.headers) == ({}, {}, {})
    assert (got.request_id, got.received_at_ms, got.route) == (None, None, None)
    assert got.header("Idempotency-Key") is None


def test_the_body_string_itself_is_read() -> None:
    # GIVEN the SQS body as a string (what a consumer that unpacked the record passes)
    got = read_envelope(json.dumps(ENVELOPE))
    # THEN it reads as the envelope
    assert (got.body, got.request_id, got.route, got.enveloped) == ({"order_id": "o-1"}, "r-1", "POST /orders", True)


def test_the_body_bytes_are_read() -> None:
    assert read_envelope(json.dumps(ENVELOPE).encode()).query == {"priority": "high"}


def test_a_powertools_record_is_read_through_its_body_whatever_keys_it_carries() -> None:
    # GIVEN a Powertools SQSRecord built without eventSource or receiptHandle (as in a user's test)
    record = SQSRecord({"messageId": "m-1", "body": json.dumps(ENVELOPE)})
    # WHEN read THEN its body is the envelope, not the record itself
    got = read_envelope(record)
    assert (got.enveloped, got.body, got.header("idempotency-key")) == (True, {"order_id": "o-1"}, "k-1")


def test_a_record_with_a_receipt_handle_is_an_sqs_record() -> None:
    # GIVEN an SQS record without eventSource (some replays drop it) but with its receipt handle
    got = read_envelope({"receiptHandle": "h-1", "body": json.dumps(ENVELOPE)})
    # THEN its body is read, not the record taken as the payload
    assert (got.enveloped, got.request_id) == (True, "r-1")


def test_an_event_dict_is_its_own_payload() -> None:
    # GIVEN an async Lambda event (no eventSource, no receipt handle) whose payload has a "body"
    got = read_envelope(ENVELOPE)
    assert (got.enveloped, got.body) == (True, {"order_id": "o-1"})


@pytest.mark.parametrize("key", ["path", "query", "headers"])
def test_each_envelope_mapping_of_the_wrong_type_is_named(key: str) -> None:
    # GIVEN an envelope whose path, query or headers is a list WHEN read THEN one error names the field and value
    with pytest.raises(EnvelopeError) as raised:
        read_envelope({**ENVELOPE, key: ["a"]})
    assert str(raised.value) == f"envelope {key}=['a'] must be an object"


def test_a_body_that_is_not_json_is_quoted_to_200_characters() -> None:
    # GIVEN a long body that is not JSON WHEN read THEN the error (a dead-letter reason) quotes its first 200
    with pytest.raises(EnvelopeError) as raised:
        read_envelope({"eventSource": "aws:sqs", "body": "x" * 300})
    assert str(raised.value) == f"message body is not JSON (Expecting value: line 1 column 1 (char 0)): {'x' * 200!r}"
