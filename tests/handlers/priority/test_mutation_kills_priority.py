"""Consumer helpers that mutation testing (issue 9) found unpinned: the exact poison reasons, the
read-only message view, the attributes carried to the next hop, batch limits, the dedup store."""

from __future__ import annotations

from typing import Any

import pytest

from handlers.resilience.priority import (
    DynamoDBDedupStore,
    PriorityConsumer,
    SqsMessage,
    _batches,
    _first_enqueued_ms,
    _forwarded_attributes,
    age_seconds,
    entry_size,
    poison_reason,
)
from tests.conftest import client_error


# -- poison reasons ----------------------------------------------------------------------------------
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


# -- the read-only message view ----------------------------------------------------------------------
def test_a_message_without_attributes_reads_as_sent_at_0_received_once() -> None:
    message = SqsMessage({"messageId": "m1", "body": "{}"})
    assert (message.sent_at_ms, message.first_enqueued_ms, message.receive_count) == (0, 0, 1)
    assert (dict(message.attributes), dict(message.message_attributes)) == ({}, {})


def test_a_message_without_a_body_reads_as_empty() -> None:
    assert SqsMessage({"messageId": "m1"}).body == ""


def test_a_message_counts_receives_over_every_hop() -> None:
    message = SqsMessage(
        {
            "messageId": "m1",
            "attributes": {"SentTimestamp": "5000", "ApproximateReceiveCount": "2"},
            "messageAttributes": {"resilient-receive-count": {"StringValue": "3", "DataType": "Number"}},
        }
    )
    assert (message.sent_at_ms, message.receive_count) == (5000, 5)


def test_a_message_shows_its_id_and_first_enqueue() -> None:
    message = SqsMessage({"messageId": "m1", "attributes": {"SentTimestamp": "1234"}})
    assert repr(message) == "SqsMessage('m1', first_enqueued_ms=1234)"


def test_a_message_from_the_future_is_0_seconds_old() -> None:
    message = SqsMessage({"messageId": "m1", "attributes": {"SentTimestamp": "10000"}})
    assert (age_seconds(message, 5.0), age_seconds(message, 12.5)) == (0.0, 2.5)


@pytest.mark.parametrize(
    ("record", "expected"),
    [
        ({"messageAttributes": {"resilient-first-enqueued-ms": {"stringValue": "0"}}}, 0),
        ({"messageAttributes": {"resilient-first-enqueued-ms": {"stringValue": "-5"}}}, None),
        (
            {
                "messageAttributes": {"resilient-first-enqueued-ms": {"stringValue": "-5"}},
                "attributes": {"SentTimestamp": "0"},
            },
            0,
        ),
        ({"messageAttributes": {"resilient-first-enqueued-ms": "7"}, "attributes": {"SentTimestamp": "9"}}, 9),
        ({"attributes": {"SentTimestamp": "-1"}}, None),
        ({"attributes": {"SentTimestamp": "yesterday"}}, None),
        (
            {
                "messageAttributes": {"resilient-first-enqueued-ms": {"stringValue": "soon"}},
                "attributes": {"SentTimestamp": "9"},
            },
            9,
        ),
        ({"attributes": "SentTimestamp"}, None),
    ],
)
def test_the_first_enqueue_is_a_non_negative_carried_time_else_the_sent_time(
    record: dict[str, Any], expected: int | None
) -> None:
    assert _first_enqueued_ms(record) == expected


# -- attributes carried to the next hop --------------------------------------------------------------
def test_the_producers_attributes_follow_ours_in_sendmessage_shape() -> None:
    ours = {"ours": {"DataType": "String", "StringValue": "1"}}
    given = {
        "ours": {"stringValue": "theirs"},
        "text": {"stringValue": "acme", "dataType": "String.tenant"},
        "count": {"StringValue": "3", "DataType": "Number"},
        "bytes": {"binaryValue": "aGk=", "dataType": "Binary"},
        "raw": {"BinaryValue": b"hi"},
        "untyped": {"StringValue": "x"},
        "empty": {"dataType": "String"},
        "odd": "not a mapping",
    }
    assert _forwarded_attributes(given, ours) == {
        "ours": {"DataType": "String", "StringValue": "1"},
        "text": {"DataType": "String.tenant", "StringValue": "acme"},
        "count": {"DataType": "Number", "StringValue": "3"},
        "bytes": {"DataType": "Binary", "BinaryValue": b"hi"},
        "raw": {"DataType": "String", "BinaryValue": b"hi"},
        "untyped": {"DataType": "String", "StringValue": "x"},
    }


def test_no_more_than_ten_attributes_are_carried() -> None:
    ours = {f"o{i}": {"DataType": "String", "StringValue": "1"} for i in range(3)}
    given = {f"g{i}": {"stringValue": str(i)} for i in range(9)}
    assert list(_forwarded_attributes(given, ours)) == ["o0", "o1", "o2"] + [f"g{i}" for i in range(7)]


def test_entry_size_counts_a_missing_binary_value_as_empty() -> None:
    entry = {"MessageBody": "ab", "MessageAttributes": {"k": {"DataType": "Binary", "BinaryValue": None}}}
    assert entry_size(entry) == 2 + 1 + 6


def test_entry_size_counts_a_non_ascii_attribute_in_utf8_bytes() -> None:
    entry = {"MessageBody": "ab", "MessageAttributes": {"k": {"DataType": "String", "StringValue": "é"}}}
    assert entry_size(entry) == 2 + 1 + 6 + 2


# -- batches -----------------------------------------------------------------------------------------
def test_a_batch_may_hold_exactly_the_byte_limit() -> None:
    assert _batches([(4, "a"), (6, "b"), (1, "c")], 10, 10) == [["a", "b"], ["c"]]


def test_a_batch_holds_at_most_the_entry_limit() -> None:
    assert _batches([(1, i) for i in range(5)], 2, 100) == [[0, 1], [2, 3], [4]]


def test_an_item_over_the_byte_limit_goes_alone() -> None:
    assert _batches([(1, "a"), (50, "big"), (1, "c")], 10, 10) == [["a"], ["big"], ["c"]]


# -- the dedup store ---------------------------------------------------------------------------------
class RecordingDynamoDB:
    """BatchGetItem and BatchWriteItem that hold back the first request's last key/item once."""

    def __init__(self, found: set[str]) -> None:
        self.found = found
        self.requests: list[tuple[str, Any]] = []

    def batch_get_item(self, RequestItems: dict[str, Any]) -> dict[str, Any]:
        self.requests.append(("get", RequestItems))
        keys = [k["pk"]["S"] for k in RequestItems["dedup"]["Keys"]]
        held = keys[-1:] if len(self.requests) == 1 and len(keys) > 1 else []
        answered = [k for k in keys if k in self.found and k not in held]
        response: dict[str, Any] = {"Responses": {"dedup": [{"pk": {"S": k}} for k in answered]}}
        if held:
            response["UnprocessedKeys"] = {"dedup": {**RequestItems["dedup"], "Keys": [{"pk": {"S": held[0]}}]}}
        return response

    def batch_write_item(self, RequestItems: dict[str, Any]) -> dict[str, Any]:
        self.requests.append(("write", RequestItems))
        items = RequestItems["dedup"]
        if len(self.requests) == 1 and len(items) > 1:
            return {"UnprocessedItems": {"dedup": items[-1:]}}
        return {}


def test_the_dedup_store_reads_100_keys_a_request_consistently_until_all_are_answered() -> None:
    keys = [f"k{i}" for i in range(101)]
    client = RecordingDynamoDB(found={"k0", "k99", "k100"})
    assert DynamoDBDedupStore("dedup", client).seen([*keys, "k0"]) == {"k0", "k99", "k100"}
    sizes = [(kind, len(request["dedup"]["Keys"])) for kind, request in client.requests]
    assert sizes == [("get", 100), ("get", 1), ("get", 1)]
    first = client.requests[0][1]["dedup"]
    assert (first["ConsistentRead"], first["ProjectionExpression"]) == (True, "pk")


def test_the_dedup_store_writes_25_items_a_request_expiring_a_day_later() -> None:
    client = RecordingDynamoDB(found=set())
    DynamoDBDedupStore("dedup", client, clock=lambda: 1000.9).mark([f"k{i}" for i in range(26)])
    sizes = [(kind, len(request["dedup"])) for kind, request in client.requests]
    assert sizes == [("write", 25), ("write", 1), ("write", 1)]
    assert client.requests[0][1]["dedup"][0] == {
        "PutRequest": {"Item": {"pk": {"S": "k0"}, "expires_at": {"N": "87400"}}}
    }


# -- the byte limit of a batch write, with sizes counted as SQS counts them ---------------------------
class RecordingSqs:
    def __init__(self) -> None:
        self.requests: list[list[dict[str, Any]]] = []

    def send_message_batch(self, QueueUrl: str, Entries: list[dict[str, Any]]) -> dict[str, Any]:
        self.requests.append([{k: v for k, v in e.items() if k != "Id"} for e in Entries])
        return {"Successful": [{"Id": e["Id"]} for e in Entries], "Failed": []}


def old_record(message_id: str, body: str) -> dict[str, Any]:
    return {
        "messageId": message_id,
        "body": body,
        "attributes": {"SentTimestamp": "1000000", "ApproximateReceiveCount": "2"},
        "messageAttributes": {},
    }


def requests_for(limit: int, **kwargs: Any) -> list[int]:
    sqs = RecordingSqs()
    consumer = PriorityConsumer(
        process=lambda body, message: None, sqs=sqs, clock=lambda: 100_000.0, max_batch_bytes=limit, **kwargs
    )
    consumer.handle({"Records": [old_record("a", '{"n": "é"}'), old_record("b", "[1, 2]")]})
    return [len(entries) for entries in sqs.requests]


def sqs_counted_bytes(**kwargs: Any) -> int:
    sqs = RecordingSqs()
    consumer = PriorityConsumer(process=lambda body, message: None, sqs=sqs, clock=lambda: 100_000.0, **kwargs)
    consumer.handle({"Records": [old_record("a", '{"n": "é"}'), old_record("b", "[1, 2]")]})
    return sum(entry_size(entry) for entries in sqs.requests for entry in entries)


DEFER = {"role": "high", "low_queue_url": "low", "defer_after_s": 60}
DEAD_LETTER = {"role": "low", "dlq_url": "dlq", "validate": lambda body: "bad order"}


@pytest.mark.parametrize("settings", [DEFER, DEAD_LETTER], ids=["deferral", "dead-letter"])
def test_two_writes_that_fill_the_byte_limit_exactly_go_in_one_request(settings: dict[str, Any]) -> None:
    total = sqs_counted_bytes(**settings)
    assert requests_for(total, **settings) == [2]


@pytest.mark.parametrize("settings", [DEFER, DEAD_LETTER], ids=["deferral", "dead-letter"])
def test_two_writes_one_byte_over_the_limit_go_in_two_requests(settings: dict[str, Any]) -> None:
    total = sqs_counted_bytes(**settings)
    assert requests_for(total - 1, **settings) == [1, 1]


def test_each_outcome_of_a_batch_is_counted_under_its_own_metric() -> None:
    # GIVEN a batch with one message for each outcome
    def aged(message_id: str, body: str, age_s: float) -> dict[str, Any]:
        sent = str(int((100_000.0 - age_s) * 1000))
        return {"messageId": message_id, "body": body, "attributes": {"SentTimestamp": sent}, "messageAttributes": {}}

    def process(body: Any, message: SqsMessage) -> None:
        if body == "fail":
            raise ConnectionError("down")

    counted: dict[str, int] = {}
    consumer = PriorityConsumer(
        process=process,
        sqs=RecordingSqs(),
        low_queue_url="low",
        dlq_url="dlq",
        defer_after_s=60,
        ttl_s=3600,
        validate=lambda body: "bad order" if body == "bad" else None,
        metric=lambda name, count: counted.update({name: count}),
        clock=lambda: 100_000.0,
    )
    records = [aged("p", '"ok"', 1), aged("d", '"ok"', 120), aged("x", '"bad"', 1), aged("t", '"ok"', 7200)]
    # WHEN it is handled
    response = consumer.handle({"Records": [*records, aged("f", '"fail"', 1)]})
    # THEN each outcome is counted once under its metric, and only the failure is retried
    assert counted == {
        "MessagesProcessed": 1,
        "MessagesDeferred": 1,
        "MessagesDeadLettered": 1,
        "MessagesDroppedTTL": 1,
        "MessagesFailed": 1,
    }
    assert response == {"batchItemFailures": [{"itemIdentifier": "f"}]}


def test_a_message_reads_its_body_and_producer_attributes_from_the_record() -> None:
    attributes = {"tenant": {"stringValue": "acme", "dataType": "String"}}
    message = SqsMessage({"messageId": "m1", "body": '{"n": 1}', "messageAttributes": attributes})
    assert (message.body, dict(message.message_attributes)) == ('{"n": 1}', attributes)


# -- found by the run after the warm-cost work ------------------------------------------------------
def test_each_group_after_the_first_starts_counting_bytes_from_zero() -> None:
    # GIVEN four items of 5 bytes and a 10-byte limit
    groups = _batches([(5, "a"), (5, "b"), (5, "c"), (5, "d")], max_entries=10, max_bytes=10)
    # THEN two groups of exactly 10 bytes each
    assert groups == [["a", "b"], ["c", "d"]]


def test_entry_size_counts_a_lone_surrogate_as_three_bytes() -> None:
    # A Lambda event's JSON may hold an escaped lone surrogate ("\\ud800"), which Python decodes
    # into the body string; SQS counts it as UTF-8 would encode it with surrogatepass.
    entry = {"MessageBody": "a\ud800", "MessageAttributes": {"n": {"DataType": "String", "StringValue": "\udfff"}}}
    assert entry_size(entry) == 1 + 3 + len("n") + len("String") + 3


def test_entry_size_of_an_entry_without_a_body_counts_only_its_attributes() -> None:
    assert entry_size({"MessageAttributes": {"n": {"DataType": "String", "StringValue": "v"}}}) == 1 + 6 + 1


def test_an_event_that_is_not_an_object_is_an_empty_batch() -> None:
    consumer = PriorityConsumer(process=lambda body, message: None, sqs=None)
    assert consumer.handle("not an event") == {"batchItemFailures": []}  # type: ignore[arg-type]


def test_an_event_that_is_a_read_only_mapping_is_read() -> None:
    from types import MappingProxyType

    processed: list[str] = []
    consumer = PriorityConsumer(process=lambda body, message: processed.append(message.message_id), sqs=None)
    event = MappingProxyType({"Records": [{"messageId": "m1", "body": "{}", "attributes": {}}]})
    assert consumer.handle(event) == {"batchItemFailures": []}
    assert processed == ["m1"]


def _recording(**kwargs: Any) -> tuple[PriorityConsumer, list[str], list[list[dict[str, Any]]]]:
    processed: list[str] = []
    sent: list[list[dict[str, Any]]] = []

    class Sqs:
        def send_message_batch(self, QueueUrl: str, Entries: list[dict[str, Any]]) -> dict[str, Any]:
            sent.append(Entries)
            return {"Successful": [{"Id": e["Id"]} for e in Entries], "Failed": []}

    args = {"process": lambda body, message: processed.append(message.message_id), "sqs": Sqs(), **kwargs}
    return PriorityConsumer(**args), processed, sent


def _aged(message_id: str, age_ms: int, now_s: float = 1_800_000_000.0) -> dict[str, Any]:
    sent = int(now_s * 1000) - age_ms
    return {"messageId": message_id, "body": "{}", "attributes": {"SentTimestamp": str(sent)}, "messageAttributes": {}}


def test_ttl_and_deferral_cut_offs_are_exact_to_the_millisecond() -> None:
    # GIVEN TTL 60 s and deferral after 30 s, and messages at and 1 ms past each
    now = 1_800_000_000.0
    consumer, processed, sent = _recording(low_queue_url="low", defer_after_s=30, ttl_s=60, clock=lambda: now)
    ages = {"at-defer": 30_000, "past-defer": 30_001, "at-ttl": 60_000, "past-ttl": 60_001}
    # WHEN they are handled
    outcomes = consumer._consume([_aged(m, age) for m, age in ages.items()])
    # THEN a message is deferred or dropped only once it is strictly older than the setting
    assert outcomes == {"at-defer": "processed", "past-defer": "deferred", "at-ttl": "deferred", "past-ttl": "dropped"}
    assert processed == ["at-defer"]
    assert [e["MessageAttributes"]["resilient-first-enqueued-ms"]["StringValue"] for e in sent[0]] == [
        str(int(now * 1000) - 30_001),
        str(int(now * 1000) - 60_000),
    ]


def test_a_high_consumer_without_deferral_processes_old_messages() -> None:
    consumer, processed, sent = _recording(role="high", clock=lambda: 1_800_000_000.0)
    assert consumer.handle({"Records": [_aged("old", 3_600_000)]}) == {"batchItemFailures": []}
    assert (processed, sent) == (["old"], [])


def test_the_first_record_is_started_whatever_time_is_left_after_the_margin() -> None:
    # GIVEN 1.5 s left and a 1 s margin: half a second, and no record timed yet to estimate from
    from resilient_serverless.components.testing import FakeLambdaContext

    consumer, processed, _ = _recording(clock=lambda: 1_800_000_000.0, deadline_margin_s=1.0)
    # WHEN a batch is handled
    consumer.handle({"Records": [_aged("m1", 1)]}, FakeLambdaContext(remaining_ms=1_500))
    # THEN the record is started
    assert processed == ["m1"]


@pytest.mark.parametrize("message_id", [5, "", None])
def test_a_record_whose_messageid_is_not_a_non_empty_string_is_dead_lettered_under_a_stand_in(message_id: Any) -> None:
    consumer, processed, sent = _recording(dlq_url="dlq", clock=lambda: 1_800_000_000.0)
    record = {**_aged("x", 1), "messageId": message_id}
    assert consumer._consume([_aged("ok", 1), record]) == {
        "ok": "processed",
        "record-1-without-messageId": "dead-lettered",
    }
    assert processed == ["ok"]
    assert sent[0][0]["MessageAttributes"]["reason"]["StringValue"] == "the record has no messageId"


def test_a_record_that_is_not_an_object_fails_under_a_stand_in_id_and_is_logged() -> None:
    # GIVEN a record that is a long string, not an object
    logged: list[tuple[str, dict[str, Any]]] = []
    consumer, processed, sent = _recording(log=lambda m, f: logged.append((m, dict(f))))
    junk = "x" * 300
    # WHEN the batch is handled
    response = consumer.handle({"Records": [_aged("ok", 1), junk]})
    # THEN it fails under its stand-in id (Lambda takes an unknown id as a failure of the whole
    # batch, so SQS delivers it again rather than losing it), and the log shows its first 200 chars
    assert response == {"batchItemFailures": [{"itemIdentifier": "record-1-without-messageId"}]}
    assert logged == [("record is not an object", {"index": 1, "record": repr(junk)[:200]})]
    assert (processed, sent) == (["ok"], [])


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


def test_a_ttl_drop_logs_the_age_to_the_millisecond() -> None:
    logged: list[tuple[str, dict[str, Any]]] = []
    consumer, _, _ = _recording(
        ttl_s=60, clock=lambda: 1_800_000_000.00025, log=lambda m, f: logged.append((m, dict(f)))
    )
    consumer.handle({"Records": [_aged("old", 61_000)]})
    assert logged == [("message dropped by TTL", {"message_id": "old", "age_s": 61.0, "ttl_s": 60, "reason": "ttl"})]


def test_a_deferred_body_with_a_lone_surrogate_is_sized_and_sent() -> None:
    # GIVEN an old message whose body holds a lone surrogate (JSON accepts it inside a string).
    # SQS never delivers one (it refuses the character on send, and botocore cannot encode it), so
    # this pins only that sizing the copy does not fail the batch; the fake client stands for SQS.
    consumer, _, sent = _recording(low_queue_url="low", defer_after_s=60, clock=lambda: 1_800_000_000.0)
    record = {**_aged("old", 120_000), "body": '{"s": "\ud800"}'}
    # WHEN it is handled
    response = consumer.handle({"Records": [record]})
    # THEN it is deferred like any other
    assert response == {"batchItemFailures": []}
    assert sent[0][0]["MessageBody"] == '{"s": "\ud800"}'


# -- the batch writes: every group tried, every failure kept, the dedup store told what was written --
class ScriptedSqs:
    """Answers each send_message_batch call in turn: "ok", "raise", or a set of entry positions
    to refuse; keeps every call's entries."""

    def __init__(self, *answers: Any) -> None:
        self.answers = list(answers)
        self.calls: list[tuple[str, list[dict[str, Any]]]] = []

    def send_message_batch(self, QueueUrl: str, Entries: list[dict[str, Any]]) -> dict[str, Any]:
        self.calls.append((QueueUrl, Entries))
        answer = self.answers.pop(0)
        if answer == "raise":
            raise ConnectionError("sqs down")
        refused = set() if answer == "ok" else answer
        return {
            "Successful": [{"Id": e["Id"]} for i, e in enumerate(Entries) if i not in refused],
            "Failed": [{"Id": e["Id"], "Code": "InternalError"} for i, e in enumerate(Entries) if i in refused],
        }


class RecordingStore:
    def __init__(self, seen: set[str] = frozenset()) -> None:  # type: ignore[assignment]
        self.already, self.marked = set(seen), []  # type: ignore[var-annotated]

    def seen(self, keys: Any) -> set[str]:
        return self.already & set(keys)

    def mark(self, keys: Any) -> None:
        self.marked.append(list(keys))


def _deferring(sqs: ScriptedSqs, **kwargs: Any) -> PriorityConsumer:
    return PriorityConsumer(
        process=lambda body, message: None,
        sqs=sqs,
        low_queue_url="low",
        dlq_url="dlq",
        defer_after_s=60,
        clock=lambda: 1_800_000_000.0,
        **kwargs,
    )


def _old_batch(count: int) -> list[dict[str, Any]]:
    return [_aged(f"m{i}", 120_000) for i in range(count)]


def test_a_group_whose_send_raised_fails_alone_and_the_next_group_is_still_sent() -> None:
    logged: list[tuple[str, dict[str, Any]]] = []
    sqs = ScriptedSqs("raise", "ok")
    consumer = _deferring(sqs, log=lambda m, f: logged.append((m, dict(f))))
    outcomes = consumer._consume(_old_batch(11))
    assert [m for m, o in outcomes.items() if o == "failed"] == [f"m{i}" for i in range(10)]
    assert [len(entries) for _, entries in sqs.calls] == [10, 1]
    assert logged == [("batch send failed", {"queue_url": "low", "error": "ConnectionError('sqs down')"})]


def test_groups_that_all_raise_fail_every_message() -> None:
    consumer = _deferring(ScriptedSqs("raise", "raise"))
    assert set(consumer._consume(_old_batch(11)).values()) == {"failed"}


def test_entries_refused_in_each_group_all_fail() -> None:
    consumer = _deferring(ScriptedSqs({0}, {0}))
    outcomes = consumer._consume(_old_batch(11))
    assert [m for m, o in outcomes.items() if o == "failed"] == ["m0", "m10"]


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


def test_the_dedup_store_is_told_every_write_of_every_group_and_nothing_else() -> None:
    # GIVEN 12 old messages, m3 written by an earlier receive, and m4 refused by SQS
    store = RecordingStore(seen={"high:defer:m3"})
    sqs = ScriptedSqs({3}, "ok")
    consumer = _deferring(sqs, dedup=store)
    # WHEN they are handled (in two requests: 10, then 1)
    outcomes = consumer._consume(_old_batch(12))
    # THEN m3 is not written again, m4 fails, and the store records the other ten
    assert [len(entries) for _, entries in sqs.calls] == [10, 1]
    assert [m for m, o in outcomes.items() if o == "failed"] == ["m4"]
    assert store.marked == [[f"high:defer:m{i}" for i in (0, 1, 2, 5, 6, 7, 8, 9, 10, 11)]]


def test_the_dedup_store_is_not_told_of_writes_sqs_refused() -> None:
    store = RecordingStore()
    consumer = _deferring(ScriptedSqs({0}), dedup=store)
    assert consumer._consume(_old_batch(1)) == {"m0": "failed"}
    assert store.marked == []


def test_the_dedup_store_is_not_called_when_nothing_was_written() -> None:
    store = RecordingStore(seen={"high:defer:m0"})
    sqs = ScriptedSqs()
    consumer = _deferring(sqs, dedup=store)
    assert consumer._consume(_old_batch(1)) == {"m0": "deferred"}
    assert (sqs.calls, store.marked) == ([], [])


def test_dead_letter_writes_are_deduplicated_under_their_own_key() -> None:
    store = RecordingStore()
    consumer = _deferring(ScriptedSqs("ok"), dedup=store, validate=lambda body: "bad")
    assert consumer._consume([_aged("m1", 1)]) == {"m1": "dead-lettered"}
    assert store.marked == [["high:dlq:m1"]]


def test_a_poison_record_of_unknown_age_is_dead_lettered_as_first_enqueued_now() -> None:
    sqs = ScriptedSqs("ok")
    consumer = _deferring(sqs, validate=lambda body: "bad")
    consumer.clock = lambda: 1_800_000_000.25
    consumer._consume([{"messageId": "m1", "body": "{}"}])
    [(url, [entry])] = sqs.calls
    assert url == "dlq"
    assert entry["MessageAttributes"]["resilient-first-enqueued-ms"]["StringValue"] == "1800000000250"


@pytest.mark.parametrize(
    ("system", "carried", "count"),
    [
        ({"ApproximateReceiveCount": "3"}, None, "3"),
        ({"ApproximateReceiveCount": "3"}, "2", "5"),
        ({}, "2", "3"),
        ({"ApproximateReceiveCount": "many"}, "2", "3"),
    ],
)
def test_a_copy_counts_the_receives_of_every_hop(system: dict[str, str], carried: str | None, count: str) -> None:
    # GIVEN an old record with producer attributes (the careful path) and this hop's receive count
    attributes: dict[str, Any] = {"tenant": {"dataType": "String", "stringValue": "t1"}}
    if carried is not None:
        attributes["resilient-receive-count"] = {"dataType": "String", "stringValue": carried}
    record = {**_aged("m1", 120_000), "messageAttributes": attributes}
    record["attributes"] = {**record["attributes"], **system}
    sqs = ScriptedSqs("ok")
    # WHEN it is deferred
    _deferring(sqs)._consume([record])
    # THEN its copy carries the receives so far: carried plus this queue's (1 when unknown)
    [(_, [entry])] = sqs.calls
    assert entry["MessageAttributes"]["resilient-receive-count"]["StringValue"] == count


# -- copies of records that are odd, FIFO copies, and the consumer the component configures ---------
@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (5, "the record has no body"),
        (None, "the record has no body"),
        ("", "body is not JSON: Expecting value: line 1 column 1 (char 0)"),
    ],
)
def test_a_record_whose_body_is_not_a_non_empty_string_is_dead_lettered_with_a_stand_in_body(
    body: Any, reason: str
) -> None:
    # SQS refuses an empty body, and a body must be a string
    sqs = ScriptedSqs("ok")
    consumer = _deferring(sqs)
    assert consumer._consume([{**_aged("m1", 1), "body": body}]) == {"m1": "dead-lettered"}
    [(_, [entry])] = sqs.calls
    assert (entry["MessageBody"], entry["MessageAttributes"]["reason"]["StringValue"]) == ("(no body)", reason)


def test_a_poison_body_with_a_lone_surrogate_is_sized_and_dead_lettered() -> None:
    # A hand-built record only (SQS never delivers a lone surrogate): sizing must not fail the batch.
    sqs = ScriptedSqs("ok")
    consumer = _deferring(sqs)
    assert consumer._consume([{**_aged("m1", 1), "body": "not json \ud800"}]) == {"m1": "dead-lettered"}
    assert sqs.calls[0][1][0]["MessageBody"] == "not json \ud800"


def test_a_fifo_copy_without_a_group_id_goes_to_the_default_group() -> None:
    sqs = ScriptedSqs("ok")
    consumer = PriorityConsumer(
        process=lambda b, m: None, sqs=sqs, dlq_url="dlq.fifo", fifo=True, validate=lambda b: "bad"
    )
    consumer._consume([_aged("m1", 1)])
    [(_, [entry])] = sqs.calls
    assert (entry["MessageGroupId"], entry["MessageDeduplicationId"]) == ("default", "m1")


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


def test_a_non_ascii_reason_is_sized_in_utf8_and_dead_lettered() -> None:
    # The accented text is what matters for the size; the surrogate reaches the encoder's error path.
    sqs = ScriptedSqs("ok")
    consumer = _deferring(sqs, validate=lambda body: "prix non numérique \ud800")
    assert consumer._consume([_aged("m1", 1)]) == {"m1": "dead-lettered"}
    assert sqs.calls[0][1][0]["MessageAttributes"]["reason"]["StringValue"] == "prix non numérique \ud800"
