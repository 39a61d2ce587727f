"""The test kit's fake Lambda context and the environment a handler needs to run locally."""

from __future__ import annotations

import time

import pytest
from resilient_serverless.components.testing import FakeLambdaContext, handler_environment, lambda_context


def test_context_names_the_function_in_its_arn_and_log_group() -> None:
    context = lambda_context("orders", region="us-east-2", account="111122223333", memory_mb=1024)
    assert context.invoked_function_arn == "arn:aws:lambda:us-east-2:111122223333:function:orders"
    assert context.log_group_name == "/aws/lambda/orders"
    assert (context.function_name, context.memory_limit_in_mb) == ("orders", 1024)
    assert context.aws_request_id != lambda_context("orders").aws_request_id  # one id per invocation


def test_remaining_time_counts_down_from_the_timeout() -> None:
    context = lambda_context("orders", timeout_s=2)
    first = context.get_remaining_time_in_millis()
    time.sleep(0.02)
    second = context.get_remaining_time_in_millis()
    assert 0 < second < first <= 2000


def test_an_exhausted_deadline_reads_zero_and_a_fixed_one_stays() -> None:
    assert lambda_context("orders", timeout_s=0).get_remaining_time_in_millis() == 0
    assert FakeLambdaContext(remaining_ms=123).get_remaining_time_in_millis() == 123


def test_context_defaults_match_resilient_function_defaults() -> None:
    # Default: timeout 10 s, 512 MB, eu-west-1 (ResilientFunction's own defaults)
    context = lambda_context()
    assert context.timeout_s == 10.0
    assert context.memory_limit_in_mb == 512
    assert context.invoked_function_arn.startswith("arn:aws:lambda:eu-west-1:123456789012:")


def test_handler_environment_sets_region_namespace_and_turns_tracing_off() -> None:
    assert handler_environment(region="ap-south-1", namespace="shop") == {
        "AWS_REGION": "ap-south-1",
        "AWS_DEFAULT_REGION": "ap-south-1",
        "POWERTOOLS_METRICS_NAMESPACE": "shop",
        "POWERTOOLS_SERVICE_NAME": "local",
        "POWERTOOLS_LOG_LEVEL": "INFO",
        "POWERTOOLS_TRACE_DISABLED": "true",
    }


def test_metrics_need_the_namespace_the_environment_provides(monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN Powertools Metrics without a namespace, as a handler run outside Lambda would be
    from aws_lambda_powertools import Metrics
    from aws_lambda_powertools.metrics.exceptions import SchemaValidationError

    monkeypatch.delenv("POWERTOOLS_METRICS_NAMESPACE", raising=False)
    bare = Metrics(service="x")
    bare.add_metric("Calls", "Count", 1)
    with pytest.raises(SchemaValidationError):
        bare.flush_metrics()
    bare.clear_metrics()
    # WHEN the handler environment is applied THEN the same flush succeeds
    for key, value in handler_environment(namespace="shop").items():
        monkeypatch.setenv(key, value)
    metrics = Metrics(service="x")
    metrics.add_metric("Calls", "Count", 1)
    metrics.flush_metrics()
