"""The model reads every figure of the stack from its captured graph, and the naive baseline
takes the defenses away with AWS's own defaults and maxima (``aws_facts``)."""

from __future__ import annotations

from collections.abc import Callable

from resilient_serverless.components.aws_facts import QUOTAS, quota
from resilient_serverless.components.simulate import build_model, naive
from resilient_serverless.components.testing import Graph


def test_given_prod_when_modelled_then_the_sync_route_carries_the_graphs_throttle_concurrency_and_timeouts(
    stack_graph: Callable[[str], Graph],
) -> None:
    model = build_model(stack_graph("prod"))
    route = next(r for r in model.routes if r.key == "GET /orders/{order_id}")
    assert (route.kind, route.rate, route.burst) == ("sync", 500.0, 1000.0)
    assert (route.reserved, route.provisioned, route.timeout_s, route.integration_timeout_s) == (100, 5, 10.0, 11.0)
    assert (route.latency_ms, route.memory_mb, route.arch) == (100.0, 1024, "arm64")
    assert (route.capacity_rps, route.bottleneck) == (500.0, "route throttle 500 rps")


def test_given_prod_when_modelled_then_the_queue_route_carries_its_mapping_redrive_deferral_and_low_queue(
    stack_graph: Callable[[str], Graph],
) -> None:
    model = build_model(stack_graph("prod"))
    route = next(r for r in model.routes if r.key == "POST /orders")
    consumer = route.consumer
    assert consumer is not None
    assert (consumer.queue, consumer.max_concurrency, consumer.batch_size) == ("orders-inbox-high", 20, 10)
    assert (consumer.timeout_s, consumer.visibility_s, consumer.max_receives) == (10.0, 61.0, 5)
    assert (consumer.defer_after_s, consumer.ttl_s) == (60.0, None)
    assert consumer.low is not None
    assert (consumer.low.queue, consumer.low.max_concurrency) == ("orders-inbox-low", 2)
    assert (route.capacity_rps, route.bottleneck) == (200.0, "mapping max concurrency 20")


def test_given_prod_when_made_naive_then_throttles_reservations_deferral_and_redrive_are_gone_and_timeouts_at_maxima(
    stack_graph: Callable[[str], Graph],
) -> None:
    model = naive(build_model(stack_graph("prod")))
    assert model.name == "naive"
    for route in model.routes:
        assert (route.rate, route.burst, route.reserved, route.provisioned) == (None, None, None, 0), route.key
        assert route.integration_timeout_s == 29.0, route.key
        if route.kind == "sync":
            assert route.timeout_s == 900.0, route.key
    consumer = next(r for r in model.routes if r.key == "POST /orders").consumer
    assert consumer is not None
    assert (consumer.max_concurrency, consumer.timeout_s, consumer.visibility_s) == (1250, 900.0, 900.0)
    assert (consumer.max_receives, consumer.defer_after_s, consumer.ttl_s, consumer.low) == (None, None, None, None)


def test_given_the_figures_the_model_reads_then_each_is_dated_data_with_its_source() -> None:
    names = [
        "lambda_scaling_environments_per_window",
        "lambda_scaling_window_s",
        "lambda_account_concurrency",
        "lambda_max_timeout_s",
        "sqs_mapping_initial_concurrency",
        "sqs_mapping_scale_per_minute",
        "sqs_mapping_max_concurrency",
        "apigateway_account_rps",
        "apigateway_account_burst",
        "apigateway_rest_max_integration_timeout_ms",
    ]
    assert [quota(n) for n in names] == [1000, 10, 1000, 900, 5, 300, 1250, 10_000, 5_000, 29_000]
    for name in names:
        assert QUOTAS[name].source.startswith("https://docs.aws.amazon.com/"), name
