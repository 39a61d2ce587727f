"""The plan warns on a function whose traces go through the X-Ray SDKs or daemon from 180 days
before their end of support (2027-02-25, AWS's published timeline) and after it, and never on one
on OpenTelemetry or with tracing off; "today" is passed in, or ``$RESILIENT_SERVERLESS_TODAY``."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest
from resilient_serverless.components import ResilientFunction, aws_facts, defaults, rules
from resilient_serverless.components.rules.tracing import tracing_path, tracing_support_problem
from resilient_serverless.components.testing import run_program

HANDLERS = str(Path(__file__).resolve().parents[2])
ADOT = "arn:aws:lambda:eu-west-1:615299751070:layer:AWSOpenTelemetryDistroPython:11"
ACTIVE = {"tracingConfig": {"mode": "Active"}, "environment": {"variables": {"POWERTOOLS_SERVICE_NAME": "s"}}}
OTEL = {"tracingConfig": {"mode": "Active"}, "environment": {"variables": {"RESILIENT_TRACING": "otel"}}}
EOS_URL = "https://docs.aws.amazon.com/xray/latest/devguide/xray-daemon-eos.html"
ADVICE = "set tracing_provider='otel' with the region's ADOT layer (otel_layer_arn)"


def test_the_support_dates_are_awss_published_ones_with_their_source() -> None:
    xray = aws_facts.TRACING_PATHS["xray"]
    assert (xray.maintenance_on, xray.end_of_support_on, xray.source) == (
        date(2026, 2, 25),
        date(2027, 2, 25),
        EOS_URL,
    )
    assert aws_facts.TRACING_PATHS["otel"].end_of_support_on is None


def test_the_warning_window_is_two_quarters() -> None:
    assert defaults.TRACING_END_OF_SUPPORT_WARNING_DAYS == 180


@pytest.mark.parametrize(
    ("inputs", "path"),
    [
        (ACTIVE, "xray"),
        (OTEL, "otel"),
        ({**ACTIVE, "environment": {"variables": {"AWS_LAMBDA_EXEC_WRAPPER": "/opt/otel-instrument"}}}, "otel"),
        ({"tracingConfig": {"mode": "PassThrough"}}, None),
        ({}, None),
    ],
)
def test_a_functions_tracing_path_is_read_from_its_tracing_mode_and_environment(
    inputs: dict[str, Any], path: str | None
) -> None:
    assert tracing_path(inputs) == path


def test_the_xray_path_is_quiet_until_the_window_opens() -> None:
    assert tracing_support_problem(ACTIVE, date(2026, 8, 28)) is None  # 181 days before


def test_the_xray_path_is_warned_about_inside_the_window_with_the_days_left_and_the_source() -> None:
    assert tracing_support_problem(ACTIVE, date(2026, 12, 7)) == (
        f"traces go through the X-Ray SDKs and daemon, whose support ends on 2027-02-25 (in 80 days) ({EOS_URL}); "
        + ADVICE
    )


def test_the_xray_path_past_its_end_of_support_is_warned_about_as_past() -> None:
    assert tracing_support_problem(ACTIVE, date(2027, 3, 1)) == (
        f"traces go through the X-Ray SDKs and daemon, whose support ended on 2027-02-25 (4 days ago) ({EOS_URL}); "
        + ADVICE
    )


@pytest.mark.parametrize("inputs", [OTEL, {"tracingConfig": {"mode": "PassThrough"}}])
def test_otel_or_no_active_tracing_is_never_warned_about(inputs: dict[str, Any]) -> None:
    assert tracing_support_problem(inputs, date(2030, 1, 1)) is None


def findings_on(today: str, monkeypatch: pytest.MonkeyPatch, **args: Any) -> list[str]:
    monkeypatch.setenv(aws_facts.TODAY_ENV, today)

    def program() -> None:
        ResilientFunction("billing", {"handler": "app.handlers.orders.lambda_handler", "code": HANDLERS, **args})

    graph = run_program(program, project="ledger", stack="qa")
    return [
        f"{f.severity} {f.name}: {f.message}"
        for f in rules.check(graph, waived={})
        if f.rule == "tracing-path-supported"
    ]


def test_the_plan_warns_on_a_function_left_on_the_default_provider(monkeypatch: pytest.MonkeyPatch) -> None:
    assert findings_on("2027-03-01", monkeypatch) == [
        f"warning billing-function: traces go through the X-Ray SDKs and daemon, whose support ended on "
        f"2027-02-25 (4 days ago) ({EOS_URL}); {ADVICE}"
    ]


def test_the_plan_is_quiet_on_a_function_moved_to_otel(monkeypatch: pytest.MonkeyPatch) -> None:
    assert findings_on("2027-03-01", monkeypatch, tracing_provider="otel", otel_layer_arn=ADOT) == []
