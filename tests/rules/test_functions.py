"""The function rules at their edges: each threshold one step on each side, and the fields each rule
reads, on resources built by hand."""

from __future__ import annotations

import pytest
from resilient_serverless.components import rules

from .hand_built import function, messages, out, res


def test_an_explicit_timeout_is_quiet() -> None:
    assert messages("lambda-explicit-timeout", function(timeout=3)) == []


@pytest.mark.parametrize(
    ("reserved", "found"),
    [(1, []), (-1, ["unreserved concurrency and no queue mapping bounds it: excess work is not shed"])],
)
def test_reserved_concurrency_of_one_bounds_a_function(reserved: int, found: list[str]) -> None:
    assert messages("lambda-bounded-concurrency", function(reservedConcurrentExecutions=reserved)) == found


def test_an_unreserved_function_is_bounded_by_the_mapping_that_names_it_by_name_or_arn() -> None:
    bounded = {"scalingConfig": {"maximumConcurrency": 2}}
    by_name = res(rules.MAPPING, "m1", {"functionName": "f", **bounded})
    by_arn = res(rules.MAPPING, "m2", {"functionName": "arn:aws:lambda:eu-west-1:1:function:g", "scalingConfig": {}})
    other = res(rules.MAPPING, "m3", {"functionName": "h"})
    assert messages("lambda-bounded-concurrency", function("f"), by_name, other) == []
    assert messages("lambda-bounded-concurrency", function("g"), by_arn) == [
        "unreserved and its mapping m2 sets no maximum concurrency (nor maximum pollers)"
    ]


def test_active_tracing_and_a_managed_json_log_group_are_quiet() -> None:
    fn = function(tracingConfig={"mode": "Active"}, loggingConfig={"logFormat": "JSON", "logGroup": "/custom/f"})
    group = out(rules.LOG_GROUP, "g", {"retentionInDays": 1}, {"name": "/custom/f"})
    assert messages("lambda-tracing-active", fn) == []
    assert messages("lambda-json-logs-with-retention", fn, group) == []
    assert messages("lambda-tracing-active", function(tracingConfig={"mode": "PassThrough"})) == [
        "tracing is not Active: no X-Ray trace for this function"
    ]


def test_a_log_group_with_one_day_of_retention_is_quiet() -> None:
    assert messages("log-group-retention", res(rules.LOG_GROUP, "g", {"retentionInDays": 1})) == []


def test_bounded_async_invocations_are_quiet_and_each_missing_bound_is_named() -> None:
    bounded = {
        "maximumRetryAttempts": 0,
        "maximumEventAgeInSeconds": 60,
        "destinationConfig": {"onFailure": {"destination": "arn:q"}},
    }
    assert messages("async-invoke-bounded", res(rules.INVOKE_CONFIG, "c", bounded)) == []
    assert messages("async-invoke-bounded", res(rules.INVOKE_CONFIG, "c", {})) == [
        "maximumRetryAttempts not set: AWS retries twice by default",
        "maximumEventAgeInSeconds not set: events may wait 6 h (a silent backlog)",
        "no on-failure destination: failed events are lost",
    ]


@pytest.mark.parametrize(("wanted", "found"), [(5, []), (6, ["provisioned 6 exceeds reserved concurrency 5"])])
def test_provisioned_equal_to_reserved_is_allowed(wanted: int, found: list[str]) -> None:
    config = res(rules.PROVISIONED, "pc", {"functionName": "f", "provisionedConcurrentExecutions": wanted})
    assert messages("provisioned-within-reserved", function(reservedConcurrentExecutions=5), config) == found


def test_provisioned_on_an_unreserved_function_is_not_compared() -> None:
    config = res(rules.PROVISIONED, "pc", {"functionName": "f", "provisionedConcurrentExecutions": 5})
    assert messages("provisioned-within-reserved", function(), config) == []


def test_provisioned_on_a_zero_reserved_function_exceeds_it() -> None:
    config = res(rules.PROVISIONED, "pc", {"functionName": "f", "provisionedConcurrentExecutions": 1})
    assert messages("provisioned-within-reserved", function(reservedConcurrentExecutions=0), config) == [
        "provisioned 1 exceeds reserved concurrency 0"
    ]


def test_a_provisioned_config_without_a_count_asks_for_none() -> None:
    config = res(rules.PROVISIONED, "pc", {"functionName": "f"})
    assert messages("provisioned-within-reserved", function(reservedConcurrentExecutions=0), config) == []
