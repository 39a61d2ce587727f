"""ResilientFunction's tracing_provider: the X-Ray daemon provider by default, OpenTelemetry
through the ADOT layer on request (from a program that is not the reference deployment)."""

from __future__ import annotations

from typing import Any

import pytest
from resilient_serverless.components import ConfigError, ResilientFunction
from resilient_serverless.components.testing import Graph, run_program

from tests.conftest import HANDLERS

ADOT = "arn:aws:lambda:ap-southeast-2:615299751070:layer:AWSOpenTelemetryDistroPython:11"


def build(**args: Any) -> Graph:
    def program() -> None:
        ResilientFunction("billing", {"handler": "app.handlers.orders.lambda_handler", "code": HANDLERS, **args})

    return run_program(program, project="ledger", stack="qa")


def test_default_is_the_xray_daemon_provider_with_no_extra_layer_or_wrapper() -> None:
    # Default: xray (RESILIENT_TRACING unset: the handler library's default)
    fn = build().one("aws:lambda/function:Function")
    env = fn.inputs["environment"]["variables"]
    assert "RESILIENT_TRACING" not in env and "AWS_LAMBDA_EXEC_WRAPPER" not in env, fn.urn
    assert len(fn.inputs["layers"]) == 1 and "AWSLambdaPowertoolsPythonV3" in fn.inputs["layers"][0], fn.urn
    assert fn.inputs["tracingConfig"] == {"mode": "Active"}, fn.urn


@pytest.mark.parametrize("powertools", ["layer", "bundle"])
def test_otel_adds_the_adot_layer_and_its_wrapper(powertools: str) -> None:
    fn = build(tracing_provider="otel", otel_layer_arn=ADOT, powertools=powertools).one("aws:lambda/function:Function")
    env = fn.inputs["environment"]["variables"]
    assert env["RESILIENT_TRACING"] == "otel", fn.urn
    assert env["AWS_LAMBDA_EXEC_WRAPPER"] == "/opt/otel-instrument", fn.urn
    assert fn.inputs["layers"][-1] == ADOT, fn.urn
    assert len(fn.inputs["layers"]) == (2 if powertools == "layer" else 1), fn.urn
    assert fn.inputs["tracingConfig"] == {"mode": "Active"}, fn.urn


def test_otel_without_its_layer_or_with_a_bad_one_is_refused() -> None:
    with pytest.raises(ConfigError) as missing:
        build(tracing_provider="otel")
    assert str(missing.value) == (
        "ResilientFunction 'billing': tracing_provider='otel' needs otel_layer_arn: the "
        "AWSOpenTelemetryDistroPython layer of the function's region (its account and version differ per region)"
    )
    with pytest.raises(ConfigError) as bad:
        build(tracing_provider="otel", otel_layer_arn="AWSOpenTelemetryDistroPython:11")
    assert bad.value.problems == ["otel_layer_arn='AWSOpenTelemetryDistroPython:11' is not a Lambda layer version ARN"]


def test_unknown_provider_and_a_stray_layer_are_refused() -> None:
    with pytest.raises(ConfigError) as raised:
        build(tracing_provider="jaeger")
    assert raised.value.problems == ["tracing_provider='jaeger' is not one of 'xray', 'otel'"]
    with pytest.raises(ConfigError) as stray:
        build(otel_layer_arn=ADOT)
    assert stray.value.problems == ["otel_layer_arn applies only to tracing_provider='otel', not 'xray'"]


def test_queue_consumers_take_the_tracing_provider_too() -> None:
    from resilient_serverless.components import PriorityQueuePair

    def program() -> None:
        PriorityQueuePair(
            "events",
            {
                "handler": "app.handlers.ingest.lambda_handler",
                "code": HANDLERS,
                "consumer": {"tracing_provider": "otel", "otel_layer_arn": ADOT},
            },
        )

    functions = run_program(program, project="ledger", stack="qa").of_type("aws:lambda/function:Function")
    assert len(functions) == 2
    for fn in functions:
        assert fn.inputs["environment"]["variables"]["RESILIENT_TRACING"] == "otel", fn.urn
        assert ADOT in fn.inputs["layers"], fn.urn
