"""The users' programs of tests/consumers/ through the local run, each from its own graph: every
route or queue they wire ends processed, dead-lettered with its reason, or refused with a 4xx.
Nothing is set by hand: the environment, roles and packages are the ones each graph holds."""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from resilient_serverless.components.testing import LocalRun

from .conftest import RUNS, new_id

CONSUMERS = Path(__file__).resolve().parents[1] / "consumers"
# The principal the tests call IAM-authorized routes as.
CALLER = "arn:aws:iam::123456789012:role/consumer-client"


@contextlib.contextmanager
def consumer(name: str) -> Iterator[LocalRun]:
    """The program's dev stack running (the session's one run: started unless the test before
    ran the same program, whose tests use their own ids)."""
    yield RUNS.stack("dev", CONSUMERS / name)


def queue_url(run: LocalRun, name: str) -> str:
    """The queue the program calls ``name``: named so, or auto-named from it (7 hex appended)."""
    urls = run.client("sqs").list_queues()["QueueUrls"]
    found = [u for u in urls if re.fullmatch(rf"(.*-)?{re.escape(name)}(-[0-9a-f]{{7}})?", u.rsplit("/", 1)[-1])]
    assert len(found) == 1, (name, urls)
    return str(found[0])


def messages_in(run: LocalRun, name: str) -> list[dict[str, Any]]:
    """Every message waiting in the queue, with its attributes (made visible again at once)."""
    answer = run.client("sqs").receive_message(
        QueueUrl=queue_url(run, name),
        MaxNumberOfMessages=10,
        MessageAttributeNames=["All"],
        AttributeNames=["All"],
        VisibilityTimeout=0,
    )
    return list(answer.get("Messages") or [])


def submitted_job_succeeds(run: LocalRun, api: str | None = None) -> str:
    submitted = run.request("POST", "/reports", json={"input": {"rows": 1}}, api=api)
    assert submitted.status == 202, submitted
    job_id = str(submitted.json()["job_id"])
    run.settle()
    status = run.request("GET", f"/reports/{job_id}", api=api)
    assert status.status == 200, status
    assert status.json()["status"] == "succeeded", status.json()
    return job_id


def test_a_fifo_route_queues_each_entry_in_its_account_group_and_refuses_the_unsigned() -> None:
    with consumer("api_fifo_route") as run:
        # GIVEN the ledger API; WHEN an entry is posted signed, and another unsigned
        posted = run.request("POST", "/accounts/acct-1/entries", json={"amount": 5}, caller=CALLER)
        unsigned = run.request("POST", "/accounts/acct-1/entries", json={"amount": 6})
        run.settle()
        # THEN the signed one waits in the FIFO queue, grouped by its account; the other is refused
        assert posted.status == 200, posted
        assert 400 <= unsigned.status < 500, unsigned
        queued = messages_in(run, "ledger.fifo")
        assert [m["Attributes"]["MessageGroupId"] for m in queued] == ["acct-1"], queued
        assert '"amount":5' in queued[0]["Body"].replace(" ", ""), queued


def test_a_rest_api_answers_its_function_route_and_queues_its_queue_route() -> None:
    with consumer("api_queue_route") as run:
        # GIVEN the orders API; WHEN its function route is read and an item posted to its queue route
        read = run.request("GET", "/orders/o-1")
        posted = run.request("POST", "/items", json={"sku": "S"}, caller=CALLER)
        unsigned = run.request("POST", "/items", json={"sku": "T"})
        run.settle()
        # THEN the function answered, the item waits in the inbox (no consumer), the unsigned is refused
        assert read.status == 200, read
        assert posted.status in (200, 202), posted
        assert 400 <= unsigned.status < 500, unsigned
        assert [json.loads(m["Body"])["body"]["sku"] for m in messages_in(run, "inbox")] == ["S"]


def test_a_job_workflow_alone_runs_a_submitted_job_to_succeeded() -> None:
    with consumer("jobs_alone") as run:
        # GIVEN the workflow behind its API; WHEN a job is submitted and the work settles
        job_id = submitted_job_succeeds(run)
        # THEN the user's worker rendered it with the bucket its graph gave it
        assert [i for i in run.invocations if "renderer" in i.function and not i.failed], job_id


def test_a_job_with_push_is_subscribed_and_pushed_its_outcome() -> None:
    with consumer("jobs_with_push") as run:
        # GIVEN a submitted job; WHEN a client connects with its token and subscribes
        submitted = run.request("POST", "/reports", json={"input": {"rows": 1}})
        assert submitted.status == 202, submitted
        job = submitted.json()
        socket = run.websocket({"job_id": job["job_id"], "token": job["push"]["token"]})
        reply = socket.send({"action": "subscribe", "job_id": job["job_id"], "token": job["push"]["token"]})
        run.settle()
        # THEN the subscription is acknowledged, and the job's outcome is pushed to the socket
        assert isinstance(reply, dict) and reply.get("type") == "subscribed", reply
        status = run.request("GET", f"/reports/{job['job_id']}").json()["status"]
        pushed = [
            f for f in socket.frames if isinstance(f, dict) and f.get("job_id") == job["job_id"] and f is not reply
        ]
        assert [f.get("status") for f in pushed] == [status], socket.frames


def test_a_priority_pair_processes_a_good_order_and_dead_letters_a_bad_one_with_its_reason() -> None:
    with consumer("priority_queue_pair") as run:
        # GIVEN the pair's high queue, as the producer config names it
        high = run._local_queue_url(run.outputs["producer_config"]["high_url"])
        good, bad = new_id("good"), new_id("bad")
        sqs = run.client("sqs")
        # WHEN a good and a bad order are sent and the queues drained
        sqs.send_message(QueueUrl=high, MessageBody=json.dumps({"order_id": good, "quantity": 1}))
        sqs.send_message(QueueUrl=high, MessageBody=json.dumps({"order_id": bad, "quantity": 0}))
        run.settle()
        # THEN the user's process stored the good one; the bad one is in the DLQ with its reason
        assert f"stored {good}" in run.log_of("priority_queue_pair-dev-orders-inbox-high-consumer")
        dead = [m for m in messages_in(run, "orders-inbox-high-dlq") if bad in m["Body"]]
        assert len(dead) == 1, dead
        assert dead[0]["MessageAttributes"]["reason"]["StringValue"] == "quantity must be positive"
        assert not messages_in(run, "orders-inbox-high")


def test_a_notifier_alone_refuses_a_connect_it_has_no_job_for() -> None:
    from resilient_serverless.components.testing.local import WebSocketRefused

    with consumer("push_alone") as run:
        # GIVEN a notifier bound to no job workflow; WHEN a client connects with a job and a token
        # THEN the connect is refused with a 4xx, as no job table holds its token
        with pytest.raises(WebSocketRefused) as refused:
            run.websocket({"job_id": "job-1", "token": "t" * 16})
        assert "403" in str(refused.value), refused.value


def test_the_readme_program_answers_its_function_routes_and_refuses_what_it_should() -> None:
    with consumer("readme_examples") as run:
        orders = "readme_examples-dev-orders"
        # GIVEN the README's program; WHEN its function routes are called, and its queue route unsigned
        read = run.request("GET", "/orders/o-1", api=orders)
        written = run.request("PUT", "/orders/o-1", json={"items": [1]}, api=orders)
        invalid = run.request("PUT", "/orders/o-1", json={"no": "items"}, api=orders)
        unsigned = run.request("POST", "/orders", json={"order_id": "o-2", "quantity": 1}, api=orders)
        run.settle()
        # THEN the sync route answered, the async one was accepted and its writer ran once with the
        # envelope, and the body without items and the unsigned post were refused with a 4xx
        assert (read.status, written.status, invalid.status, unsigned.status) == (200, 202, 400, 403)
        ran = [i for i in run.invocations if i.function == "readme_examples-dev-orders-writer"]
        assert [(i.failed, i.event["body"]) for i in ran] == [(False, {"items": [1]})], ran


def test_the_readme_program_stores_a_good_order_and_dead_letters_a_bad_one() -> None:
    with consumer("readme_examples") as run:
        orders = "readme_examples-dev-orders"
        good, bad = new_id("good"), new_id("bad")
        # GIVEN the README's program; WHEN a good and a bad order are posted to its queue route
        posted = run.request("POST", "/orders", json={"order_id": good, "quantity": 2}, caller=CALLER, api=orders)
        rejected = run.request("POST", "/orders", json={"order_id": bad, "quantity": 0}, caller=CALLER, api=orders)
        run.settle()
        # THEN both were accepted; the good one is stored, the bad one dead-lettered with its reason
        assert (posted.status, rejected.status) == (202, 202)
        dead = [m for m in messages_in(run, "orders-inbox-high-dlq") if bad in m["Body"]]
        assert [m["MessageAttributes"]["reason"]["StringValue"] for m in dead] == ["quantity must be positive"]
        assert f"stored {good}" in run.log_of("readme_examples-dev-orders-inbox-high-consumer")


def test_a_mailer_of_the_users_own_keeps_what_is_sent_to_its_outbox() -> None:
    with consumer("operations_own") as run:
        # GIVEN the user's own component with an outbox queue no function drains
        # WHEN a message is sent to it
        run.client("sqs").send_message(QueueUrl=queue_url(run, "mail-outbox"), MessageBody="hello")
        run.settle()
        # THEN it waits there, and the user's function answers as its graph packaged it
        assert [m["Body"] for m in messages_in(run, "mail-outbox")] == ["hello"]
        invocation = run.functions.invoke("operations_own-dev-sender", {"Records": []}, source="test")
        assert invocation.result == {"batchItemFailures": []}, invocation


def test_a_users_async_function_runs_an_invoke_and_may_send_to_its_queue() -> None:
    with consumer("resilient_function") as run:
        name = "resilient_function-dev-orders"
        # GIVEN the user's async function; WHEN it is invoked asynchronously and the work settles
        run.invoke_async(name, {"order_id": "o-1"})
        run.settle()
        # THEN it ran once and succeeded, and its role may send to the queue it was granted
        assert [(i.function, i.failed) for i in run.invocations] == [(name, False)]
        role = run.functions.resolve(name).role_arn
        outbox = run._local_queue_url(run.outputs["queue_url"])
        run.client("sqs", role_arn=role).send_message(QueueUrl=outbox, MessageBody="from the function")
        assert [m["Body"] for m in messages_in(run, "outbox")] == ["from the function"]
