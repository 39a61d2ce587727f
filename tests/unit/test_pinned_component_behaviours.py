"""Component and settings behaviours no test pinned before (issue 9): a burst equal to the rate,
the email check, a usage plan's default throttle, a KMS-encrypted queue in the plan."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pulumi
import pulumi_aws as aws
import pytest
from resilient_serverless.components import ConfigError, ResilientFunction, ThrottledApi
from resilient_serverless.components.plan import SETTINGS
from resilient_serverless.components.testing import run_program

from environments.settings import parse_settings

HANDLERS = str(Path(__file__).resolve().parents[2])  # code: the package root, holding handlers/


def api(extra: dict[str, Any]) -> Any:
    def program() -> None:
        fn = ResilientFunction("get", {"handler": "app.handlers.orders.lambda_handler", "code": HANDLERS})
        ThrottledApi("front", {"flavor": "rest", "routes": [{"method": "GET", "path": "/x", "function": fn}], **extra})

    return run_program(program, project="shop", stack="dev")


# --- burst equal to rate -------------------------------------------------------------------------
def test_a_stack_burst_equal_to_its_rate_is_accepted() -> None:
    settings = parse_settings({"apiRateLimit": 100, "apiBurstLimit": 100})
    assert (settings.api_rate_limit, settings.api_burst_limit) == (100, 100)


def test_an_api_throttle_with_burst_equal_to_rate_is_accepted() -> None:
    graph = api({"throttle": {"rate": 20, "burst": 20}})
    stage_wide = graph.one("aws:apigateway/methodSettings:MethodSettings", "front-stage-settings")
    assert (
        stage_wide.inputs["settings"]["throttlingRateLimit"],
        stage_wide.inputs["settings"]["throttlingBurstLimit"],
    ) == (20, 20)


def test_an_api_burst_one_below_the_rate_is_refused() -> None:
    with pytest.raises(ConfigError) as raised:
        api({"throttle": {"rate": 20, "burst": 19}})
    assert "throttle.burst=19 is below throttle.rate=20: the bucket must hold at least one second of the rate" in (
        raised.value.problems
    )


# --- the email check -----------------------------------------------------------------------------
@pytest.mark.parametrize("email", ["ops@example.com", "ops+alarms@mail.example.co.uk", ""])
def test_email_addresses_and_empty_are_accepted(email: str) -> None:
    assert parse_settings({"alarmEmail": email}).alarm_email == email


@pytest.mark.parametrize(
    "email",
    ["ops@example", "@example.com", "ops@@example.com", "ops @example.com", "ops@example.com\n", " ops@example.com"],
)
def test_strings_that_are_not_one_email_address_are_refused(email: str) -> None:
    with pytest.raises(ConfigError) as raised:
        parse_settings({"alarmEmail": email})
    assert raised.value.problems == [
        f"alarmEmail={email!r} is not an email address (or leave it empty for no subscription)"
    ]


# --- a usage plan's default throttle -------------------------------------------------------------
def test_a_usage_plan_without_a_throttle_gets_the_stage_default_of_50_and_100() -> None:
    graph = api({"usage_plans": {"acme": {"quota": {"limit": 1000, "period": "DAY"}}}})
    plan = graph.one("aws:apigateway/usagePlan:UsagePlan", "front-plan-acme")
    assert plan.inputs["throttleSettings"] == {"rateLimit": 50, "burstLimit": 100}, plan.urn


# --- the plan counts a KMS-encrypted queue as encrypted -------------------------------------------
def test_the_plan_shows_a_kms_encrypted_queue_as_encrypted() -> None:
    def program() -> None:
        aws.sqs.Queue("kms", kms_master_key_id="alias/orders")
        aws.sqs.Queue("plain", sqs_managed_sse_enabled=False)
        pulumi.export("n", 2)

    graph = run_program(program)
    extract = SETTINGS["aws:sqs/queue:Queue"]
    assert extract(graph.one("aws:sqs/queue:Queue", "kms").inputs)["encrypted"] is True
    assert extract(graph.one("aws:sqs/queue:Queue", "plain").inputs)["encrypted"] is False
