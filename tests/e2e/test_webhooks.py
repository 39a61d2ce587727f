"""Webhooks through the reference deployment: a callback registered (its challenge answered), a
report submitted with it, and the delivery's Standard Webhooks signature checked as a receiver
checks it, with the secret the stack gave at registration. The sender's defence against calls
into the platform's own network stays on in the local run."""

from __future__ import annotations

from typing import Any

import pytest
import standardwebhooks
import standardwebhooks.webhooks
from resilient_serverless.components.testing import LocalRun
from resilient_serverless.components.testing.local.clock import DatetimeModule

from .conftest import CALLER
from .test_reports import ROWS


def register(stack: LocalRun, url: str) -> Any:
    return stack.request("POST", "/reports/webhooks", json={"url": url}, caller=CALLER)


def stored_secret(stack: LocalRun, url: str) -> str:
    """The secret the stack keeps for a registered callback (its job table, on the local backend)."""
    table = stack.outputs["reports_jobs"]["table"]
    items = stack.client("dynamodb").scan(TableName=table)["Items"]
    (hook,) = [i for i in items if i.get("kind", {}).get("S") == "webhook" and i["url"]["S"] == url]
    return str(hook["secret"]["S"])


def test_a_finished_report_is_delivered_to_its_callback_signed_with_the_registered_secret(
    stack: LocalRun, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN a receiver registered as a webhook (it answered the challenge; the stack gave a secret)
    receiver = stack.webhook_receiver()
    registered = register(stack, receiver.url)
    assert registered.status == 201, registered
    secret = registered.json()["secret"]
    assert stored_secret(stack, receiver.url) == secret
    # WHEN a report names it as its callback, and the work runs
    submitted = stack.request("POST", "/reports", json={"input": ROWS, "callback_url": receiver.url}, caller=CALLER)
    assert submitted.status == 202, submitted
    job_id = submitted.json()["job_id"]
    stack.settle()
    # THEN one delivery announces the finished job, and its signature verifies with the secret
    # (the receiver's clock is the run's, as a real receiver's is the sender's)
    assert len(receiver.challenges) == 1
    deliveries = [d for d in receiver.deliveries if d.json()["job"]["job_id"] == job_id]
    assert len(deliveries) == 1, receiver.deliveries
    monkeypatch.setattr(standardwebhooks.webhooks, "datetime", DatetimeModule(stack.clock).datetime)
    verified = standardwebhooks.Webhook(secret).verify(deliveries[0].body, deliveries[0].headers)
    assert verified["type"] == "job.finished"
    assert verified["job"]["status"] == "succeeded"
    assert verified["id"] == deliveries[0].headers["webhook-id"]


def test_a_delivery_the_receiver_refuses_is_retried_later_with_the_same_id(stack: LocalRun) -> None:
    # GIVEN a registered receiver that will answer 503 to the next two deliveries
    receiver = stack.webhook_receiver()
    assert register(stack, receiver.url).status == 201
    receiver.fail_next = 2
    # WHEN a report naming it finishes, and the queued work (with its backoff) is delivered
    submitted = stack.request("POST", "/reports", json={"input": ROWS, "callback_url": receiver.url}, caller=CALLER)
    job_id = submitted.json()["job_id"]
    stack.settle()
    # THEN it was sent three times, the same delivery each time, the third one taken
    sent = [d for d in receiver.deliveries if d.json()["job"]["job_id"] == job_id]
    assert len(sent) == 3, receiver.deliveries
    assert len({d.headers["webhook-id"] for d in sent}) == 1
    assert receiver.fail_next == 0


def test_a_callback_on_the_loopback_address_is_still_refused(stack: LocalRun) -> None:
    # GIVEN the local run, whose receivers are reached on 127.0.0.1 through public names
    # WHEN a caller registers a callback that names 127.0.0.1 itself
    answer = register(stack, "https://127.0.0.1:8443/hooks")
    # THEN the sender's defence refuses it, as in AWS
    assert answer.status == 400, answer
    assert answer.json()["error"]["message"] == (
        "callback_url host '127.0.0.1' resolves to a non-public address 127.0.0.1"
    )
