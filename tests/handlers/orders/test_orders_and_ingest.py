"""The orders (sync) and ingest (async) handlers on moto: success, not found, bad input,
duplicates, dead-lettering with a reason, and the breaker answering 503."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from tests.conftest import load_event

# The reference handlers read their table through the runtime contract, which has no default;
# a deployment gets it from the graph (tests/stacks/test_function_environment.py checks that).
os.environ.setdefault("ORDERS_TABLE", "orders")
from tests.conftest import client_error


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    with mock_aws():
        dynamodb = boto3.client("dynamodb", region_name="eu-west-1")
        dynamodb.create_table(
            TableName="orders",
            KeySchema=[{"AttributeName": "order_id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "order_id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        sqs = boto3.client("sqs", region_name="eu-west-1")
        dlq_url = sqs.create_queue(QueueName="ingest-dlq")["QueueUrl"]
        from app.handlers import ingest, orders

        low_url = sqs.create_queue(QueueName="ingest-low")["QueueUrl"]
        monkeypatch.setattr(
            ingest,
            "consumer",
            ingest.consumer_from_env(
                ingest.process,
                validate=ingest.reason_invalid,
                sqs=sqs,
                environ={
                    "RESILIENT_QUEUE_ROLE": "high",
                    "RESILIENT_DLQ_URL": dlq_url,
                    "RESILIENT_LOW_QUEUE_URL": low_url,
                    "RESILIENT_DEFER_AFTER_S": "60",
                },
            ),
        )
        monkeypatch.setattr(orders.breaker, "_local", type(orders.breaker._local)())
        yield {"dynamodb": dynamodb, "sqs": sqs, "dlq_url": dlq_url, "orders": orders, "ingest": ingest}


@pytest.mark.parametrize("event_file", ["apigw_rest_get_order.json", "apigw_http_get_order.json"])
def test_get_order_found_for_both_api_flavours(aws: dict[str, Any], context: Any, event_file: str) -> None:
    aws["dynamodb"].put_item(TableName="orders", Item={"order_id": {"S": "o-1"}, "status": {"S": "accepted"}})
    response = aws["orders"].lambda_handler(load_event(event_file), context)
    assert response["statusCode"] == 200
    assert json.loads(response["body"]) == {"order_id": "o-1", "status": "accepted"}


def test_get_order_not_found(aws: dict[str, Any], context: Any) -> None:
    response = aws["orders"].lambda_handler(load_event("apigw_rest_get_order.json"), context)
    assert (response["statusCode"], json.loads(response["body"])) == (404, {"message": "order 'o-1' not found"})


def test_get_order_rejects_a_bad_id_without_a_call(aws: dict[str, Any], context: Any) -> None:
    event = load_event("apigw_rest_get_order.json")
    event["pathParameters"]["order_id"] = "x" * 65
    response = aws["orders"].lambda_handler(event, context)
    assert response["statusCode"] == 400


def test_open_circuit_answers_503_with_retry_after(
    aws: dict[str, Any], context: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    orders = aws["orders"]
    monkeypatch.setattr(orders, "orders_table", lambda: "no-such-table")  # every call fails: ResourceNotFound
    for _ in range(5):
        with pytest.raises(ClientError, match="ResourceNotFoundException"):
            orders.get_order("o-1", orders.Deadline.after(5))
    response = orders.lambda_handler(load_event("apigw_rest_get_order.json"), context)
    assert response["statusCode"] == 503
    assert 1 <= int(response["headers"]["Retry-After"]) <= 30


def sqs_event(*bodies: str, age_s: float = 1.0) -> dict[str, Any]:
    """An SQS event as Lambda delivers it to a mapping's consumer, sent ``age_s`` ago."""
    sent = str(int((time.time() - age_s) * 1000))
    return {
        "Records": [
            {
                "messageId": f"m-{i}",
                "receiptHandle": f"rh-{i}",
                "body": body,
                "attributes": {
                    "ApproximateReceiveCount": "1",
                    "SentTimestamp": sent,
                    "SenderId": "AIDA",
                    "ApproximateFirstReceiveTimestamp": sent,
                },
                "messageAttributes": {},
                "md5OfBody": "",
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:eu-west-1:123456789012:orders-inbox",
                "awsRegion": "eu-west-1",
            }
            for i, body in enumerate(bodies)
        ]
    }


def body(name: str) -> str:
    return json.dumps(load_event(name))


def test_ingest_stores_once_and_counts_duplicates(
    aws: dict[str, Any], context: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    ingest = aws["ingest"]
    assert ingest.lambda_handler(sqs_event(body("order_valid.json")), context) == {"batchItemFailures": []}
    assert ingest.lambda_handler(sqs_event(body("order_valid.json")), context) == {"batchItemFailures": []}
    item = aws["dynamodb"].get_item(TableName="orders", Key={"order_id": {"S": "o-1"}})["Item"]
    assert item["status"] == {"S": "accepted"}
    expires_in_days = (int(item["expires_at"]["N"]) - time.time()) / 86400
    assert 89.9 < expires_in_days <= 90  # the table's TTL removes orders after 90 days
    emf = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]
    assert [m.get("OrdersAccepted") for m in emf] == [[1.0], None]
    assert [m.get("OrdersDuplicate") for m in emf] == [None, [1.0]]


def test_invalid_order_goes_to_the_dlq_with_its_reason_not_retried(aws: dict[str, Any], context: Any) -> None:
    response = aws["ingest"].lambda_handler(sqs_event(body("order_bad_qty.json"), "not json"), context)
    assert response == {"batchItemFailures": []}  # deleted from the inbox: retrying cannot help
    messages = aws["sqs"].receive_message(
        QueueUrl=aws["dlq_url"], MessageAttributeNames=["All"], MaxNumberOfMessages=10
    )["Messages"]
    reasons = sorted(m["MessageAttributes"]["reason"]["StringValue"] for m in messages)
    assert reasons[0].startswith("body is not JSON: ")
    assert reasons[1] == "items[0]={'sku': 'SKU-1', 'qty': 0} needs sku (string) and qty (1 to 1000)"
    assert "Item" not in aws["dynamodb"].get_item(TableName="orders", Key={"order_id": {"S": "o-2"}})


def test_a_transient_fault_fails_only_its_own_message(
    aws: dict[str, Any], context: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    ingest = aws["ingest"]
    real_store = ingest.store

    def flaky(order: dict[str, Any], deadline: Any, now: float) -> bool:
        if order["order_id"] == "o-bad":
            raise ClientError({"Error": {"Code": "ResourceNotFoundException", "Message": "gone"}}, "PutItem")
        return real_store(order, deadline, now)

    monkeypatch.setattr(ingest, "store", flaky)
    other = json.dumps({"order_id": "o-bad", "items": [{"sku": "S", "qty": 1}]})
    response = ingest.lambda_handler(sqs_event(body("order_valid.json"), other), context)
    assert response == {"batchItemFailures": [{"itemIdentifier": "m-1"}]}
    assert "Item" in aws["dynamodb"].get_item(TableName="orders", Key={"order_id": {"S": "o-1"}})


@pytest.mark.parametrize(
    ("event", "reason"),
    [
        ({}, "order_id=None must be a string of 1 to 64 characters"),
        ({"order_id": "a", "items": []}, "items must be a list of 1 to 100 entries, got list"),
        ({"order_id": "a", "items": "x"}, "items must be a list of 1 to 100 entries, got str"),
        ({"order_id": "a", "items": [{"sku": "s", "qty": True}]}, "items[0]={'sku': 's', 'qty': True} needs sku"),
    ],
)
def test_validation_names_the_field(event: dict[str, Any], reason: str) -> None:
    from app.handlers.ingest import InvalidOrder, validate

    with pytest.raises(InvalidOrder) as raised:
        validate(event)
    assert str(raised.value).startswith(reason)


def test_an_order_that_waited_too_long_steps_aside_to_the_low_queue(aws: dict[str, Any], context: Any) -> None:
    ingest = aws["ingest"]
    response = ingest.lambda_handler(sqs_event(body("order_valid.json"), age_s=120), context)
    assert response == {"batchItemFailures": []}
    low = aws["sqs"].get_queue_url(QueueName="ingest-low")["QueueUrl"]
    moved = aws["sqs"].receive_message(QueueUrl=low, MessageAttributeNames=["All"])["Messages"]
    assert json.loads(moved[0]["Body"]) == load_event("order_valid.json")
    assert moved[0]["MessageAttributes"]["deferred-from"]["StringValue"] == "high"
    assert "Item" not in aws["dynamodb"].get_item(TableName="orders", Key={"order_id": {"S": "o-1"}})


def test_an_order_must_be_a_json_object() -> None:
    from app.handlers.ingest import InvalidOrder, validate

    with pytest.raises(InvalidOrder, match="the order must be a JSON object, got list"):
        validate([])


# -- versioned writes ------------------------------------------------------------------


def order(version: int | None, qty: int = 1) -> str:
    fields: dict[str, Any] = {"order_id": "o-9", "items": [{"sku": "S", "qty": qty}]}
    if version is not None:
        fields["version"] = version
    return json.dumps(fields)


def emitted(capsys: pytest.CaptureFixture[str]) -> list[str]:
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]
    return [name for m in lines for name in m if name.startswith("Orders")]


def stored_qty(aws: dict[str, Any]) -> tuple[int, int]:
    item = aws["dynamodb"].get_item(TableName="orders", Key={"order_id": {"S": "o-9"}})["Item"]
    return json.loads(item["items"]["S"])[0]["qty"], int(item["version"]["N"])


def test_a_corrected_resend_with_a_newer_version_replaces_the_order(
    aws: dict[str, Any], context: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    ingest = aws["ingest"]
    ingest.lambda_handler(sqs_event(order(1, qty=1)), context)
    ingest.lambda_handler(sqs_event(order(2, qty=5)), context)
    assert stored_qty(aws) == (5, 2)
    assert emitted(capsys) == ["OrdersAccepted", "OrdersAccepted"]


def test_an_exact_replay_is_a_no_op_and_an_older_version_is_counted_and_logged(
    aws: dict[str, Any], context: Any, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    ingest = aws["ingest"]
    for body_ in (order(2, qty=5), order(2, qty=5), order(1, qty=1), order(2, qty=7)):
        assert ingest.lambda_handler(sqs_event(body_), context) == {"batchItemFailures": []}
    assert stored_qty(aws) == (5, 2)
    out = capsys.readouterr().out
    names = [n for m in (json.loads(x) for x in out.splitlines() if '"_aws"' in x) for n in m if n.startswith("Orders")]
    assert names == ["OrdersAccepted", "OrdersDuplicate", "OrdersStale", "OrdersConflict"]
    refused = [r for r in caplog.records if r.getMessage().startswith("order write refused")]
    assert [(r.getMessage(), r.__dict__["version"], r.__dict__["stored_version"]) for r in refused] == [
        ("order write refused: stale", 1, 2),
        ("order write refused: conflict", 2, 2),
    ]


def test_an_order_without_a_version_is_version_0(aws: dict[str, Any], context: Any) -> None:
    aws["ingest"].lambda_handler(sqs_event(order(None, qty=3)), context)
    assert stored_qty(aws) == (3, 0)


def test_a_lost_put_response_still_counts_as_the_first_write(
    aws: dict[str, Any], context: Any, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN a table whose first PutItem succeeds but whose response is lost (a 500 after the write)
    ingest = aws["ingest"]
    real = ingest.dynamodb

    class LostResponse:
        lost = False

        def put_item(self, **kwargs: Any) -> Any:
            result = real.put_item(**kwargs)
            if not self.lost:
                self.lost = True
                raise client_error("InternalServerError", 500, "PutItem")
            return result

    monkeypatch.setattr(ingest, "dynamodb", LostResponse())
    # WHEN the order is ingested (our retry finds its own write)
    assert ingest.lambda_handler(sqs_event(order(1)), context) == {"batchItemFailures": []}
    # THEN it is an accepted order, not a duplicate
    assert emitted(capsys) == ["OrdersAccepted"]


def test_an_order_dynamodb_cannot_store_is_dead_lettered_at_once_with_the_reason(
    aws: dict[str, Any], context: Any
) -> None:
    # GIVEN a valid order of 100 items whose item in DynamoDB would pass 400 KB
    huge = json.dumps({"order_id": "o-big", "items": [{"sku": "S" * 5000, "qty": 1}] * 100})
    # WHEN ingested
    response = aws["ingest"].lambda_handler(sqs_event(huge), context)
    # THEN it is not retried five times: it is in the DLQ at once, with DynamoDB's reason
    assert response == {"batchItemFailures": []}
    [dead] = aws["sqs"].receive_message(QueueUrl=aws["dlq_url"], MessageAttributeNames=["All"])["Messages"]
    assert dead["MessageAttributes"]["reason"]["StringValue"] == (
        "ValidationException: Item size has exceeded the maximum allowed size"
    )


@pytest.mark.parametrize("version", [-1, 2**53 + 1, "3", True, 1.5])
def test_a_bad_version_is_named(version: Any) -> None:
    from app.handlers.ingest import InvalidOrder, validate

    with pytest.raises(InvalidOrder) as raised:
        validate({"order_id": "a", "items": [{"sku": "s", "qty": 1}], "version": version})
    assert str(raised.value) == f"version={version!r} must be an integer from 0 to 9007199254740992"


def test_ingest_stores_the_order_inside_the_api_envelope(aws: dict[str, Any], context: Any) -> None:
    # GIVEN the message a ThrottledApi queue route sends: the order inside the request's envelope
    from handlers.resilience.envelope import ENVELOPE_VERSION

    order = load_event("order_valid.json")
    envelope = {"envelope": ENVELOPE_VERSION, "body": order, "path": {}, "query": {}, "headers": {}, "requestId": "r"}
    # WHEN the consumer drains it THEN the order is stored, as a bare order from another producer is
    assert aws["ingest"].lambda_handler(sqs_event(json.dumps(envelope)), context) == {"batchItemFailures": []}
    item = aws["dynamodb"].get_item(TableName="orders", Key={"order_id": {"S": order["order_id"]}})["Item"]
    assert item["status"] == {"S": "accepted"}
    assert aws["ingest"].reason_invalid({"envelope": ENVELOPE_VERSION, "body": {"items": []}}) == (
        "order_id=None must be a string of 1 to 64 characters"
    )
