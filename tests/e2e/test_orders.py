"""Orders through the reference deployment as its graph wires them: the API's queue route into
the inbox, the ingest consumers from their built package and with their role, the read route."""

from __future__ import annotations

import json

from resilient_serverless.components.testing import LocalRun

from .conftest import CALLER, dlq_messages, new_id


def test_an_order_posted_is_ingested_and_read_back(stack: LocalRun) -> None:
    # GIVEN a well-formed order
    order_id = new_id("order")
    order = {"order_id": order_id, "items": [{"sku": "SKU-1", "qty": 2}]}
    # WHEN it is posted, and the queued work delivered
    posted = stack.request("POST", "/orders", json=order, caller=CALLER)
    stack.settle()
    # THEN the API accepted it, the inbox consumer stored it, and the read route returns it
    assert posted.status in (200, 202), posted
    read = stack.request("GET", f"/orders/{order_id}", caller=CALLER)
    assert read.status == 200, read
    assert read.json()["order_id"] == order_id


def test_a_malformed_order_lands_in_the_dead_letter_queue_with_its_reason(stack: LocalRun) -> None:
    # GIVEN an order whose quantity is 0
    order_id = new_id("bad")
    # WHEN it is posted and the inbox drained
    posted = stack.request(
        "POST", "/orders", json={"order_id": order_id, "items": [{"sku": "S", "qty": 0}]}, caller=CALLER
    )
    stack.settle()
    # THEN it is in the high queue's DLQ at once (one receive), with the reason as an attribute
    assert posted.status in (200, 202), posted
    found = [m for m in dlq_messages(stack, "orders-inbox-high-dlq") if order_id in m["Body"]]
    assert len(found) == 1, found
    assert "qty" in found[0]["MessageAttributes"]["reason"]["StringValue"]
    assert stack.request("GET", f"/orders/{order_id}", caller=CALLER).status == 404


def test_a_route_signed_by_no_one_is_refused_where_the_stack_signs_its_routes(stack: LocalRun) -> None:
    # GIVEN the stack's read route; WHEN it is called without a caller
    answer = stack.request("GET", "/orders/any")
    # THEN IAM-authorized stacks refuse it before any function runs; a public stack answers
    signed = any(r.auth == "AWS_IAM" for api in stack.apis for r in api.routes)
    assert answer.status == (403 if signed else 404), answer


def test_the_envelope_the_api_queues_is_what_the_consumer_reads(stack: LocalRun) -> None:
    # GIVEN an order posted with an idempotency key
    order_id = new_id("env")
    stack.request(
        "POST",
        "/orders",
        json={"order_id": order_id, "items": [{"sku": "S", "qty": 1}]},
        headers={"Idempotency-Key": "k-1"},
        caller=CALLER,
    )
    # WHEN the inbox is drained
    stack.settle()
    # THEN the consumer's invocation got the API's envelope with the header and the body
    records = [
        json.loads(r["body"])
        for i in stack.invocations
        if "inbox" in i.function
        for r in i.event.get("Records", [])
        if order_id in r["body"]
    ]
    assert records and records[0]["headers"]["idempotency-key"] == "k-1", records
    assert records[0]["body"]["order_id"] == order_id


def test_an_order_older_than_the_deferral_age_is_deferred_to_the_low_queue_then_stored(stack: LocalRun) -> None:
    # GIVEN an order that waits in the high queue longer than the deferral age of its consumer
    order_id = new_id("old")
    posted = stack.request(
        "POST", "/orders", json={"order_id": order_id, "items": [{"sku": "S", "qty": 1}]}, caller=CALLER
    )
    high = stack.outputs["ingest_functions"]["high"]
    defer_after_s = int(stack.functions.resolve(high).environment["RESILIENT_DEFER_AFTER_S"])
    stack.clock.advance(defer_after_s + 1)
    # WHEN the queues are drained
    stack.settle()
    # THEN the high consumer stepped it aside, the low consumer stored it, and it reads back
    assert posted.status in (200, 202), posted
    low = stack.outputs["ingest_functions"]["low"]
    handled_by = [i.function for i in stack.invocations for r in i.event.get("Records", []) if order_id in r["body"]]
    assert handled_by == [high, low], handled_by
    assert stack.request("GET", f"/orders/{order_id}", caller=CALLER).json()["order_id"] == order_id
