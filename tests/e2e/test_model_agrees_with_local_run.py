"""At low load the overload model's message paths are the local run's: for the same inputs (a good
order, a malformed one, an old one deferred, one past its TTL, one unsigned, one past the burst, a
job submitted, a job with no input) the outcome ``simulate.outcomes.predict`` gives from the
model of the program's graph is the outcome the local run of that graph gives.

The model is built from the graph the local run captured (the same program, the same settings).
The programs: every reference stack, the consumer program ``api_queue_route`` (a queue route
nothing in the program drains, behind a small burst) and a user's PriorityQueuePair with a TTL
(no reference stack sets one).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from resilient_serverless.components.simulate import build_model
from resilient_serverless.components.simulate.outcomes import Message, predict
from resilient_serverless.components.testing import LocalRun, run_locally

from .conftest import CALLER, new_id

CONSUMERS = Path(__file__).resolve().parents[1] / "consumers"


def bodies_in(run: LocalRun, name_part: str) -> list[str]:
    """The bodies of every message (visible or in flight) in the queues whose name holds
    ``name_part``, read from the backend's queues: a receive would count towards the redrive."""
    names = [u.rsplit("/", 1)[-1] for u in run.client("sqs").list_queues().get("QueueUrls", [])]
    return [str(m.body) for name in names if name_part in name for m in run.backend.sqs_queue(name)._messages]


def queued_outcome(run: LocalRun, status: int, marker: str) -> str:
    """Where the local run put the message holding ``marker`` that a queue route answered with
    ``status``: refused at the edge, dead-lettered, dropped by its consumer's TTL, processed by the
    consumer it was sent to or by the low consumer after a deferral, or held for another program."""
    if status == 429:
        return "throttled 429"
    if 400 <= status < 500:
        return "refused 4xx"
    if any(marker in body for body in bodies_in(run, "dlq")):
        return "dead-lettered"
    handled = [
        (i.function, r["messageId"]) for i in run.invocations for r in i.event.get("Records", []) if marker in r["body"]
    ]
    if not handled:
        return "accepted, drained elsewhere" if any(marker in body for body in bodies_in(run, "")) else "lost"
    last, message_id = handled[-1]
    dropped = [line for line in run.log_of(last).splitlines() if "dropped by TTL" in line and message_id in line]
    if dropped:
        return "dropped by TTL"
    return "deferred-then-processed" if len({f for f, _ in handled}) > 1 else "processed"


def order(order_id: str, quantity: int) -> dict[str, Any]:
    return {"order_id": order_id, "items": [{"sku": "S", "qty": quantity}]}


def test_each_order_and_job_ends_where_the_model_says_in_every_stack(stack: LocalRun) -> None:
    # GIVEN the model of the stack's graph and the stack running locally
    model = build_model(stack.graph)
    orders = next(r for r in model.routes if r.key == "POST /orders")
    assert orders.consumer is not None and orders.consumer.defer_after_s is not None, orders
    old = orders.consumer.defer_after_s + 1
    # WHEN a good order, a malformed one and an unsigned one are posted, each drained at once
    outcomes: dict[str, tuple[str, str]] = {}
    inputs = {
        "good": (order(new_id("good"), 1), Message("POST /orders"), CALLER),
        "malformed": (order(new_id("bad"), 0), Message("POST /orders", valid=False), CALLER),
        "unsigned": (order(new_id("unsigned"), 1), Message("POST /orders", signed=False), None),
    }
    for name, (body, message, caller) in inputs.items():
        answer = stack.request("POST", "/orders", json=body, caller=caller)
        stack.settle()
        outcomes[name] = (predict(model, [message])[0], queued_outcome(stack, answer.status, body["order_id"]))
    # ... and an old order that waits past the deferral age before its consumer sees it
    body = order(new_id("old"), 1)
    answer = stack.request("POST", "/orders", json=body, caller=CALLER)
    stack.clock.advance(old)
    stack.settle()
    outcomes["old"] = (
        predict(model, [Message("POST /orders", waited_s=old)])[0],
        queued_outcome(stack, answer.status, body["order_id"]),
    )
    # ... and a job submitted, and one without its input
    submitted = stack.request("POST", "/reports", json={"input": {"rows": []}}, caller=CALLER)
    empty = stack.request("POST", "/reports", json={"no": "input"}, caller=CALLER)
    stack.settle()
    status = stack.request("GET", f"/reports/{submitted.json()['job_id']}", caller=CALLER).json()["status"]
    outcomes["job"] = (
        predict(model, [Message("POST /reports")])[0],
        "processed" if submitted.status == 202 and status == "succeeded" else f"{submitted.status} {status}",
    )
    outcomes["job without input"] = (
        predict(model, [Message("POST /reports", valid=False)])[0],
        "refused 4xx" if 400 <= empty.status < 500 else f"answered {empty.status}",
    )
    # THEN each ends where the model says it does
    assert {k: v[1] for k, v in outcomes.items()} == {k: v[0] for k, v in outcomes.items()}


@pytest.mark.usefixtures("own_run")
def test_a_consumer_programs_queue_route_throttles_and_refuses_where_the_model_says() -> None:
    with run_locally("dev", project_dir=CONSUMERS / "api_queue_route") as run:
        # GIVEN the program's model: a queue route nothing drains, its bucket (burst) in front
        model = build_model(run.graph)
        items = next(r for r in model.routes if r.key == "POST /items")
        assert items.burst is not None, items
        burst = int(items.burst)
        # WHEN one more signed post than the burst arrives at one instant, and one unsigned one
        messages = [Message("POST /items") for _ in range(burst + 1)] + [Message("POST /items", signed=False)]
        markers = [new_id("item") for _ in messages]
        with run.clock.frozen():
            answers = [
                (run.request("POST", "/items", json={"id": marker}, caller=CALLER if m.signed else None), marker)
                for marker, m in zip(markers, messages, strict=True)
            ]
        # THEN each ends where the model says: held for the program's own reader, one 429 past the
        # burst; the unsigned one is also past the burst (the throttle comes before IAM)
        local = [queued_outcome(run, answer.status, marker) for answer, marker in answers]
        assert local == predict(model, messages)
        assert local.count("throttled 429") == 2, local


TTL_PROGRAM = """\
from resilient_serverless.components import PriorityQueuePair, ThrottledApi, package_function

code = package_function("./src", handlers=["ingest.lambda_handler"])
inbox = PriorityQueuePair("inbox", {"handler": "ingest.lambda_handler", "code": code, "consumer": {"timeout": 10},
                                    "defer_after_s": 60, "ttl_s": 600})
ThrottledApi("front", {"flavor": "rest", "routes": [{"method": "POST", "path": "/orders", "queue": inbox}]})
"""

TTL_INGEST = """\
from resilient_serverless.handlers.resilience.priority import consumer_from_env


def order_of(message):
    return message.get("body", message)


def reason_invalid(message):
    return None if order_of(message).get("quantity", 0) > 0 else "quantity must be positive"


def process(message, record):
    print("stored", order_of(message)["order_id"])


consumer = consumer_from_env(process, validate=reason_invalid)


def lambda_handler(event, context):
    return consumer.handle(event)
"""


@pytest.mark.usefixtures("own_run")
def test_a_users_pair_with_a_ttl_drops_defers_and_dead_letters_where_the_model_says(tmp_path: Path) -> None:
    # GIVEN a user's program: a PriorityQueuePair with a deferral age and a TTL behind a queue route
    (tmp_path / "src").mkdir()
    (tmp_path / "Pulumi.yaml").write_text("name: ttl\nruntime: python\n")
    (tmp_path / "Pulumi.dev.yaml").write_text("config:\n  aws:region: eu-west-1\n")
    (tmp_path / "__main__.py").write_text(TTL_PROGRAM)
    (tmp_path / "src" / "ingest.py").write_text(TTL_INGEST)
    with run_locally("dev", project_dir=tmp_path) as run:
        model = build_model(run.graph)
        # WHEN orders wait, each alone, for as long as each input says before their consumer runs
        inputs = {
            "good": Message("POST /orders"),
            "malformed and old": Message("POST /orders", valid=False, waited_s=700),
            "old": Message("POST /orders", waited_s=90),
            "past its TTL": Message("POST /orders", waited_s=700),
        }
        local: dict[str, str] = {}
        for name, message in inputs.items():
            order_id = new_id("o")
            answer = run.request("POST", "/orders", json={"order_id": order_id, "quantity": int(message.valid)})
            run.clock.advance(message.waited_s)
            run.settle()
            local[name] = queued_outcome(run, answer.status, order_id)
        # THEN each ends where the model says: processed, dead-lettered (validation comes before
        # any age), deferred then processed, dropped by the TTL
        assert local == {name: predict(model, [m])[0] for name, m in inputs.items()}
        assert set(local.values()) == {"processed", "dead-lettered", "deferred-then-processed", "dropped by TTL"}
