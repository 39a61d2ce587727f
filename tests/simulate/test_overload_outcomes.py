"""What the engine does with work it cannot finish in time: redrive to the DLQ, TTL drops,
waste after the client gives up, retries that become failures; and what the defaults buy."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from resilient_serverless.components.simulate import (
    Assumptions,
    StackModel,
    build_model,
    naive,
    parse_load,
    simulate,
    simulate_model,
)
from resilient_serverless.components.simulate.model import ConsumerModel, RouteModel
from resilient_serverless.components.testing import Graph


def queue_stack(**consumer: object) -> StackModel:
    defaults: dict[str, object] = {
        "queue": "q",
        "function": "consumer",
        "max_concurrency": 10,
        "batch_size": 10,
        "timeout_s": 10.0,
        "visibility_s": 1.0,
        "max_receives": 2,
        "defer_after_s": None,
        "ttl_s": None,
        "memory_mb": 1024,
        "arch": "arm64",
    }
    c = ConsumerModel(**{**defaults, **consumer})
    route = RouteModel("POST /q", "queue", 100.0, 100.0, 5.0, 100.0, "route throttle 100 rps", consumer=c)
    return StackModel("test", "us-east-1", "rest", (route,), Assumptions())


def sync_stack(latency_ms: float, timeout_s: float, assumptions: Assumptions) -> StackModel:
    route = RouteModel(
        "GET /x", "sync", 100.0, 100.0, 29.0, 100.0, "route throttle 100 rps", "fn", latency_ms, timeout_s, 500
    )
    return StackModel("test", "us-east-1", "rest", (route,), assumptions)


def test_given_batches_that_outlive_the_function_timeout_when_run_then_every_message_reaches_the_dlq() -> None:
    doc = simulate_model(queue_stack(timeout_s=0.5), parse_load("rate:20", duration_s=5), series=False)
    route = doc["routes"][0]
    assert route["offered"] == 100
    assert (route["goodput"], route["dlq_arrivals"]) == (0, 100)
    assert route["wasted_invocations"] == pytest.approx(20)  # 100 messages, 10 a batch, received twice


def test_given_a_backlog_older_than_the_ttl_when_run_then_stale_messages_are_dropped_and_counted() -> None:
    slow = queue_stack(max_concurrency=1, ttl_s=2.0)  # drains 10 msg/s, offered 100 msg/s
    doc = simulate_model(slow, parse_load("rate:100", duration_s=10), series=False)
    route = doc["routes"][0]
    assert route["ttl_drops"] > 0
    assert route["goodput"] + route["late_messages"] + route["ttl_drops"] == route["offered"]


def test_given_work_slower_than_the_client_deadline_when_run_then_it_is_wasted_retried_and_finally_failed() -> None:
    model = sync_stack(latency_ms=2000, timeout_s=10.0, assumptions=Assumptions(client_deadline_s=1.0))
    doc = simulate_model(model, parse_load("rate:10", duration_s=5), series=False)
    route = doc["routes"][0]
    assert route["goodput"] == 0
    assert route["failed_requests"] == route["offered"] == 50
    assert route["wasted_invocations"] == pytest.approx(150)  # three attempts each, all after the deadline


def test_given_prod_under_a_10x_spike_when_run_beside_its_naive_baseline_then_the_defaults_keep_more_goodput(
    stack_graph: Callable[[str], Graph],
) -> None:
    doc = simulate(stack_graph("prod"), parse_load("spike:10x:20s", duration_s=60), baseline="naive", series=False)
    assert doc["naive"]["model"] == "naive"
    assert doc["goodput_per_capacity"] > doc["naive"]["goodput_per_capacity"]
    assert doc["throttled_429"]["function"] < doc["naive"]["throttled_429"]["function"]
    isolated = next(r for r in doc["routes"] if r["route"] == "POST /reports")
    shared = next(r for r in doc["naive"]["routes"] if r["route"] == "POST /reports")
    assert isolated["goodput_per_capacity"] > shared["goodput_per_capacity"]


def test_given_a_model_when_made_naive_then_the_downstream_and_the_clients_stay_the_same(
    stack_graph: Callable[[str], Graph],
) -> None:
    model = build_model(stack_graph("prod"), Assumptions(client_deadline_s=2.0))
    baseline = naive(model)
    assert baseline.assumptions == model.assumptions
    assert [r.capacity_rps for r in baseline.routes] == [r.capacity_rps for r in model.routes]


def test_given_async_events_older_than_their_maximum_age_when_run_then_they_reach_the_on_failure_destination() -> None:
    slow = queue_stack(kind="async", max_concurrency=1, batch_size=1, ttl_s=2.0)  # drains 10 events/s
    doc = simulate_model(slow, parse_load("rate:100", duration_s=10), series=False)
    route = doc["routes"][0]
    assert route["ttl_drops"] == 0
    assert route["dlq_arrivals"] > 0
    assert route["goodput"] + route["late_messages"] + route["dlq_arrivals"] == route["offered"]
