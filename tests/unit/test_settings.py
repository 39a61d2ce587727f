"""Stack settings: typed in one place, validated before any resource, equal to Pulumi.yaml."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from resilient_serverless.components import defaults
from resilient_serverless.components.validation import ConfigError

from environments.settings import SPECS, StackSettings, parse_settings


def test_no_key_gives_the_documented_defaults() -> None:
    settings = parse_settings({})
    assert settings == StackSettings(
        log_retention_days=30,
        log_level="INFO",
        tracing=True,
        architecture="arm64",
        function_timeout=10,
        function_memory=512,
        account_concurrency=1000,
        reserved_concurrency=10,
        provisioned_concurrency=0,
        ingest_max_concurrency=5,
        ingest_dedup_store=False,
        powertools="layer",
        api_flavor="rest",
        api_rate_limit=50,
        api_burst_limit=100,
        api_gateway_account_role=False,
        api_gateway_account_role_managed_elsewhere=False,
        api_auth="iam",
        canary=False,
        contributor_insights=False,
        alarm_email="",
        push_notifications=True,
        push_off_reason="",
        waivers=(),
        job_workflow_type="STANDARD",
        job_execution_timeout=3600,
        job_starter_max_concurrency=2,
        job_result_url_ttl=900,
    )


def test_string_values_are_parsed_as_the_cli_passes_them() -> None:
    settings = parse_settings({"logRetentionDays": "7", "tracing": "false", "waivers": '["alarm-has-actions: test"]'})
    assert (settings.log_retention_days, settings.tracing) == (7, False)
    assert settings.waived_rules() == {"alarm-has-actions": "test"}


def test_unknown_key_names_the_closest_valid_key_and_where_all_are_listed() -> None:
    with pytest.raises(ConfigError) as raised:
        parse_settings({"logRetention": 7}, subject="stack 'dev' settings")
    assert str(raised.value) == (
        "stack 'dev' settings: unknown setting 'logRetention': did you mean 'logRetentionDays'? "
        f"(run 'resilient-serverless keys' for all {len(SPECS)})"
    )


def test_unknown_key_like_no_valid_key_points_to_the_list() -> None:
    with pytest.raises(ConfigError) as raised:
        parse_settings({"zzz": 7}, subject="stack 'dev' settings")
    assert str(raised.value) == (
        f"stack 'dev' settings: unknown setting 'zzz' (run 'resilient-serverless keys' for all {len(SPECS)})"
    )


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"functionTimeoutSeconds": 901}, "functionTimeoutSeconds=901 is outside 1 to 900 seconds (Lambda timeout)"),
        ({"functionMemoryMb": 64}, "functionMemoryMb=64 is outside 128 to 10240 MB (Lambda memory)"),
        (
            {"ingestMaxConcurrency": 1},
            "ingestMaxConcurrency=1 is outside 2 to 1000 (SQS event source mapping maximum concurrency)",
        ),
        ({"apiRateLimit": 0}, "apiRateLimit=0 is outside 1 to 10000 requests per second (never 0)"),
        ({"apiBurstLimit": 5001}, "apiBurstLimit=5001 is outside 1 to 5000 (API Gateway account burst)"),
        (
            {"apiRateLimit": 200, "apiBurstLimit": 100},
            "apiBurstLimit=100 is below apiRateLimit=200: the bucket must hold one second of the rate",
        ),
        (
            {"logRetentionDays": 10},
            "logRetentionDays=10 is not one of " + ", ".join(map(str, defaults.LOG_RETENTION_DAYS_ALLOWED)),
        ),
        (
            {"reservedConcurrency": 950},
            "reservedConcurrency=950 is outside 1 to 900 (accountConcurrency 1000 minus the 100 AWS keeps unreserved)",
        ),
        (
            {"reservedConcurrency": 5, "provisionedConcurrency": 6},
            "provisionedConcurrency=6 is outside 0 to 5 (provisioned concurrency cannot exceed reservedConcurrency)",
        ),
        ({"tracing": "yes"}, "tracing='yes' must be true or false"),
        ({"functionTimeoutSeconds": "ten"}, "functionTimeoutSeconds='ten' must be a whole number"),
        ({"apiFlavor": "graphql"}, "apiFlavor='graphql' is not one of 'rest', 'http'"),
        ({"alarmEmail": "ops"}, "alarmEmail='ops' is not an email address (or leave it empty for no subscription)"),
        ({"waivers": ["no-such-rule: because"]}, "waivers entry 'no-such-rule: because' names no rule (known rules: "),
        (
            {"waivers": ["alarm-has-actions"]},
            "waivers entry 'alarm-has-actions' needs a reason: 'rule-id: why this stack waives it'",
        ),
    ],
)
def test_bad_values_name_key_value_and_range(raw: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError) as raised:
        parse_settings(raw)
    assert raised.value.problems[0].startswith(message), raised.value.problems


def test_pulumi_yaml_declares_every_setting_with_its_type_and_default(root: Path) -> None:
    declared = yaml.safe_load((root / "Pulumi.yaml").read_text())["config"]
    types = {int: "integer", bool: "boolean", str: "string", list: "array"}
    assert set(declared) == {s.key for s in SPECS}
    for spec in SPECS:
        assert declared[spec.key]["type"] == types[spec.type], spec.key
        assert declared[spec.key]["default"] == spec.default, spec.key
        assert declared[spec.key]["description"] == spec.description, spec.key


def test_every_spec_maps_to_a_settings_field() -> None:
    assert {s.attr for s in SPECS} == set(StackSettings.__dataclass_fields__)


def test_waivers_must_be_a_list() -> None:
    with pytest.raises(ConfigError) as raised:
        parse_settings({"waivers": 7})
    assert raised.value.problems == ["waivers=7 must be a list"]


def test_push_off_needs_a_reason() -> None:
    with pytest.raises(ConfigError) as raised:
        parse_settings({"pushNotifications": "false"})
    assert raised.value.problems == [
        "pushOffReason is required when pushNotifications is false: say why clients of this stack poll "
        "(the plan shows it)"
    ]
    assert (
        parse_settings({"pushNotifications": False, "pushOffReason": "no WebSocket APIs"}).push_notifications is False
    )


def test_an_express_job_workflow_runs_at_most_five_minutes() -> None:
    with pytest.raises(ConfigError) as raised:
        parse_settings({"jobWorkflowType": "EXPRESS", "jobExecutionTimeoutSeconds": 600})
    assert raised.value.problems == ["jobExecutionTimeoutSeconds=600 is above 300 s, the most an EXPRESS workflow runs"]


# --- numbers are ASCII digits or YAML integers ------------------------------------------------------
INT_KEYS = sorted(s.key for s in SPECS if s.type is int)
NOT_A_NUMBER = "must be a whole number (the digits 0 to 9, or a YAML integer)"
# Decimal digits of every script but ASCII's (Arabic-Indic, Devanagari, full-width...): int() reads them.
other_digits = st.text(st.characters(categories=["Nd"], exclude_characters="0123456789"), min_size=1, max_size=6)


@settings(max_examples=60, deadline=None)
@given(key=st.sampled_from(INT_KEYS), digits=other_digits)
def test_digits_of_other_scripts_are_not_a_number(key: str, digits: str) -> None:
    # GIVEN a numeric setting written with non-ASCII digits (functionMemoryMb: "١٠٢٤" reads as 1024 to int())
    # WHEN the settings are parsed
    with pytest.raises(ConfigError) as raised:
        parse_settings({key: digits})
    # THEN it is refused as not a number, naming the key and the value as written
    assert raised.value.problems == [f"{key}={digits!r} {NOT_A_NUMBER}"]


@settings(max_examples=60, deadline=None)
@given(key=st.sampled_from(INT_KEYS), number=st.integers(min_value=-(10**7), max_value=10**7))
def test_a_yaml_integer_and_its_ascii_digits_are_the_same_setting(key: str, number: int) -> None:
    # GIVEN a numeric setting as a YAML integer and as the CLI hands it over (its ASCII digits)
    def outcome(raw: object) -> object:
        try:
            return getattr(parse_settings({key: raw}), next(s.attr for s in SPECS if s.key == key))
        except ConfigError as error:
            return error.problems

    # WHEN both are parsed THEN both give the same value, or the same range problem (never "not a number")
    as_int, as_text = outcome(number), outcome(str(number))
    assert as_int == as_text
    assert not (isinstance(as_int, list) and any(NOT_A_NUMBER in p for p in as_int)), as_int


FULL_WIDTH_1024 = "\uff11\uff10\uff12\uff14"


@pytest.mark.parametrize("raw", ["1_024", " 1024", "1024 ", "+1024", "1024.0", "1e3", "0x400", FULL_WIDTH_1024, True])
def test_anything_but_ascii_digits_is_not_a_number(raw: object) -> None:
    with pytest.raises(ConfigError) as raised:
        parse_settings({"functionMemoryMb": raw})
    assert raised.value.problems == [f"functionMemoryMb={raw!r} {NOT_A_NUMBER}"]


# --- a reason needs its switch ----------------------------------------------------------------------
def test_a_push_off_reason_while_push_is_on_is_refused() -> None:
    # GIVEN a reason for polling on a stack that pushes (the default, and said explicitly)
    for raw in ({"pushOffReason": "no WebSocket APIs"}, {"pushNotifications": "true", "pushOffReason": "x"}):
        # WHEN parsed THEN the reason without its switch is an error naming both keys
        with pytest.raises(ConfigError) as raised:
            parse_settings(raw)
        assert raised.value.problems == [
            f"pushOffReason={raw['pushOffReason']!r} is set while pushNotifications is true: a reason without its "
            "switch (set pushNotifications: false, or remove pushOffReason)"
        ]


def test_a_push_off_reason_must_be_text() -> None:
    # GIVEN an integer as the reason, with push off WHEN parsed THEN one problem: it is not text
    with pytest.raises(ConfigError) as raised:
        parse_settings({"pushNotifications": False, "pushOffReason": 5})
    assert raised.value.problems == ["pushOffReason=5 must be text (quote it in the stack file)"]
    # AND with push on, the same
    with pytest.raises(ConfigError) as raised:
        parse_settings({"pushOffReason": 5})
    assert raised.value.problems == ["pushOffReason=5 must be text (quote it in the stack file)"]


def test_a_stack_burst_equal_to_its_rate_is_accepted() -> None:
    settings = parse_settings({"apiRateLimit": 100, "apiBurstLimit": 100})
    assert (settings.api_rate_limit, settings.api_burst_limit) == (100, 100)


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
