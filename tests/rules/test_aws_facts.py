"""Rules that read dated AWS facts (``components/aws_facts.py``): runtimes past their deprecation
date, and integration patterns an Express workflow cannot run. Each fires on its mistake and is
quiet on the fix; "today" is injected through ``$RESILIENT_SERVERLESS_TODAY``."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import pulumi
import pulumi_aws as aws
import pytest
from resilient_serverless.components import ConfigError, aws_facts, defaults, rules
from resilient_serverless.components.operations.canary import check_canary_args
from resilient_serverless.components.testing import run_program
from resilient_serverless.components.validation import Problems

CODE = pulumi.AssetArchive({})
ROLE = "arn:aws:iam::123456789012:role/r"
SYNTHETICS_POLICY = aws_facts.SYNTHETICS_POLICY_URL
SYNTHETICS_PYTHON = aws_facts.SYNTHETICS_PYTHON_URL


def findings(program: Callable[[], None], rule_id: str) -> list[str]:
    graph = run_program(program)
    return [f"{f.name}: {f.message}" for f in rules.check(graph, waived={}) if f.rule == rule_id]


def function_and_canary(runtime: str = defaults.FUNCTION_RUNTIME, canary: str = defaults.CANARY_RUNTIME) -> None:
    aws.lambda_.Function("fn", role=ROLE, handler="h.h", runtime=runtime, code=CODE)
    aws.synthetics.Canary(
        "probe",
        name="probe",
        artifact_s3_location="s3://bkt/artifacts/",
        execution_role_arn=ROLE,
        handler="canary.handler",
        runtime_version=canary,
        schedule={"expression": "rate(5 minutes)"},
    )


@pytest.fixture
def today(monkeypatch: pytest.MonkeyPatch) -> Callable[[date], None]:
    return lambda day: monkeypatch.setenv(aws_facts.TODAY_ENV, day.isoformat())


# --- runtimes -------------------------------------------------------------------------------------
def test_the_default_runtimes_are_supported_on_the_day_the_facts_were_checked() -> None:
    # GIVEN the facts as read on CHECKED_ON THEN neither default runtime is deprecated that day
    assert aws_facts.deprecated_runtime(defaults.FUNCTION_RUNTIME, aws_facts.CHECKED_ON) is None
    assert aws_facts.deprecated_runtime(defaults.CANARY_RUNTIME, aws_facts.CHECKED_ON) is None


def test_every_lambda_runtime_the_library_accepts_is_dated_and_supported_on_that_day() -> None:
    from resilient_serverless.components import packaging, resilient_function

    for runtime in {*packaging.RUNTIMES, *resilient_function.RUNTIMES}:
        assert runtime in aws_facts.LAMBDA_RUNTIMES, runtime
        assert aws_facts.deprecated_runtime(runtime, aws_facts.CHECKED_ON) is None, runtime


def test_the_rule_is_quiet_on_the_default_runtimes_today(today: Callable[[date], None]) -> None:
    today(aws_facts.CHECKED_ON)
    assert findings(function_and_canary, "runtime-supported") == []


def test_the_rule_fires_on_the_default_runtimes_once_each_deprecation_date_has_passed(
    today: Callable[[date], None],
) -> None:
    # GIVEN a day after the deprecation (announced or projected) of both default runtimes
    lambda_fact = aws_facts.LAMBDA_RUNTIMES[defaults.FUNCTION_RUNTIME]
    canary_fact = aws_facts.SYNTHETICS_RUNTIMES[defaults.CANARY_RUNTIME]
    today(max(lambda_fact.deprecated_on, canary_fact.deprecated_on) + timedelta(days=1))
    # WHEN a program uses them THEN the rule names each, with its date, its source and what to use
    assert findings(function_and_canary, "runtime-supported") == [
        "fn: runtime python3.13 (deprecated on 2029-06-30, https://docs.aws.amazon.com/lambda/latest/dg/"
        "lambda-python.html): AWS refuses to create a function on it; use a supported runtime",
        f"probe: runtime syn-python-selenium-12.0 (expected to be deprecated on 2028-10-31, {SYNTHETICS_PYTHON}): "
        "AWS refuses to create a canary on it; use a supported runtime",
    ]
    assert rules.RULES["runtime-supported"].severity == "error"


def test_the_rule_fires_on_a_canary_runtime_deprecated_before_today(today: Callable[[date], None]) -> None:
    # GIVEN the runtime prod's canary used, deprecated on 2026-02-03, and a function on python3.11
    today(aws_facts.CHECKED_ON)
    found = findings(lambda: function_and_canary("python3.11", "syn-python-selenium-5.1"), "runtime-supported")
    assert found == [
        "fn: runtime python3.11 (deprecated on 2026-06-30, https://docs.aws.amazon.com/lambda/latest/dg/"
        "lambda-runtimes.html): AWS refuses to create a function on it; use python3.13 or python3.12",
        f"probe: runtime syn-python-selenium-5.1 (deprecated on 2026-02-03, {SYNTHETICS_POLICY}): AWS refuses to "
        "create a canary on it; use syn-python-selenium-14.0 or syn-python-selenium-13.0",
    ]


def test_a_runtime_the_facts_do_not_know_is_not_judged(today: Callable[[date], None]) -> None:
    today(date(2100, 1, 1))
    assert findings(lambda: function_and_canary("nodejs22.x", "syn-nodejs-puppeteer-99.0"), "runtime-supported") == []


def test_every_runtime_row_names_its_source_and_the_day_it_was_read() -> None:
    for fact in [*aws_facts.LAMBDA_RUNTIMES.values(), *aws_facts.SYNTHETICS_RUNTIMES.values()]:
        assert fact.source.startswith("https://docs.aws.amazon.com/"), fact
        assert fact.checked_on == aws_facts.CHECKED_ON, fact
    for name, q in aws_facts.QUOTAS.items():
        assert q.source.startswith("https://docs.aws.amazon.com/"), name


def canary_problems(args: dict[str, Any]) -> str:
    p = Problems("Operations 'ops'")
    check_canary_args({"url": "https://api.example.com", "read_path": "/health", **args}, p)
    with pytest.raises(ConfigError) as raised:
        p.raise_if_any()
    return str(raised.value)


def test_a_canary_on_a_deprecated_runtime_is_refused_before_any_child(today: Callable[[date], None]) -> None:
    today(aws_facts.CHECKED_ON)
    assert canary_problems({"runtime_version": "syn-python-selenium-5.1"}) == (
        "Operations 'ops': canary.runtime_version='syn-python-selenium-5.1' is deprecated (syn-python-selenium-5.1 "
        f"(deprecated on 2026-02-03, {SYNTHETICS_POLICY})): CreateCanary refuses it; use one of "
        "syn-python-selenium-14.0, syn-python-selenium-13.0, syn-python-selenium-12.0, syn-python-selenium-8.0, "
        "syn-python-selenium-7.0, syn-python-selenium-6.0"
    )


def test_a_canary_runtime_that_is_not_python_synthetics_is_refused(today: Callable[[date], None]) -> None:
    today(date(2028, 1, 1))
    assert canary_problems({"runtime_version": "syn-nodejs-puppeteer-9.1"}) == (
        "Operations 'ops': canary.runtime_version='syn-nodejs-puppeteer-9.1' is not a known Python Synthetics "
        "runtime (one of syn-python-selenium-14.0, syn-python-selenium-13.0, syn-python-selenium-12.0)"
    )


# --- integration patterns per workflow type -------------------------------------------------------
def machine(kind: str, resources: list[str]) -> Callable[[], None]:
    states: dict[str, Any] = {}
    for i, resource in enumerate(resources):
        states[f"Step{i}"] = {"Type": "Task", "Resource": resource, "TimeoutSeconds": 60, "Next": f"Step{i + 1}"}
    states[f"Step{len(resources)}"] = {"Type": "Succeed"}
    definition = json.dumps({"StartAt": "Step0", "TimeoutSeconds": 300, "States": states})

    def program() -> None:
        aws.sfn.StateMachine("flow", role_arn=ROLE, type=kind, definition=definition)

    return program


CALLBACK = "arn:aws:states:::lambda:invoke.waitForTaskToken"
RUN_JOB = "arn:aws:states:::ecs:runTask.sync"
RUN_JOB_2 = "arn:aws:states:::states:startExecution.sync:2"
REQUEST_RESPONSE = "arn:aws:states:::lambda:invoke"


def test_an_express_machine_waiting_for_a_token_or_a_job_is_an_error() -> None:
    found = findings(
        machine("EXPRESS", [REQUEST_RESPONSE, CALLBACK, RUN_JOB, RUN_JOB_2]), "sfn-express-request-response"
    )
    url = aws_facts.SFN_PATTERNS_URL
    assert found == [
        f"flow: task Step1 uses {CALLBACK} (waitForTaskToken), which a EXPRESS workflow cannot run (it supports "
        f"request-response; {url}): CreateStateMachine refuses it; use a STANDARD workflow or a Request Response "
        "integration",
        f"flow: task Step2 uses {RUN_JOB} (sync), which a EXPRESS workflow cannot run (it supports "
        f"request-response; {url}): CreateStateMachine refuses it; use a STANDARD workflow or a Request Response "
        "integration",
        f"flow: task Step3 uses {RUN_JOB_2} (sync), which a EXPRESS workflow cannot run (it supports "
        f"request-response; {url}): CreateStateMachine refuses it; use a STANDARD workflow or a Request Response "
        "integration",
    ]
    assert rules.RULES["sfn-express-request-response"].severity == "error"


@pytest.mark.parametrize(
    ("kind", "resources"),
    [("STANDARD", [REQUEST_RESPONSE, CALLBACK, RUN_JOB, RUN_JOB_2]), ("EXPRESS", [REQUEST_RESPONSE])],
)
def test_a_standard_machine_or_an_express_one_on_request_response_is_quiet(kind: str, resources: list[str]) -> None:
    assert findings(machine(kind, resources), "sfn-express-request-response") == []


def test_the_patterns_per_workflow_type_are_the_documented_ones() -> None:
    patterns = {kind: set(allowed) for kind, allowed in aws_facts.INTEGRATION_PATTERNS.items()}
    assert patterns == {"STANDARD": {"request-response", "sync", "waitForTaskToken"}, "EXPRESS": {"request-response"}}
    assert [aws_facts.integration_pattern(r) for r in (REQUEST_RESPONSE, CALLBACK, RUN_JOB, RUN_JOB_2)] == [
        "request-response",
        "waitForTaskToken",
        "sync",
        "sync",
    ]
