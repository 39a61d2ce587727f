"""Stack and project files that cannot be read, keys in a misspelt namespace, and settings the
plan used to accept: each is one line on stderr naming the file or key, and exit 2."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from resilient_serverless.components.cli import main
from resilient_serverless.components.testing import run_program
from resilient_serverless.components.testing.capture import OFFLINE_SECRET, ProjectFileError, read_config_file
from resilient_serverless.components.validation import ConfigError

from environments import settings as stack_settings
from environments.settings import load_settings, parse_settings

from .test_plan_cli import copy_project

PREFIX = "resilient-serverless: "


def plan_error(project: Path, capsys: pytest.CaptureFixture[str], stack: str = "dev") -> str:
    """Run the plan CLI; it must exit 2 with exactly one line on stderr, which is returned."""
    assert main(["plan", "--stack", stack, "--project-dir", str(project), "--json"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    assert err.startswith(PREFIX), err
    return err[len(PREFIX) : -1]


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return copy_project(tmp_path)


# --- files that cannot be read ------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (
            b"config:\n  aws:region: [eu-west-1\n",
            "malformed YAML at line 3, column 1: expected ',' or ']', but got '<stream end>'",
        ),
        (
            b"config:\n\tresilient-serverless:logLevel: DEBUG\n",
            "malformed YAML at line 2, column 1: found character a tab (YAML indents with spaces) that cannot "
            "start any token",
        ),
        (b"config:\n  - logLevel\n", "config must be a mapping of 'namespace:key: value', not a list: ['logLevel']"),
        (
            b"config: logLevel=DEBUG\n",
            "config must be a mapping of 'namespace:key: value', not a str: 'logLevel=DEBUG'",
        ),
        (b"config:\n  1: DEBUG\n", "config key 1 is not a string (keys are 'namespace:key')"),
        (b"- config\n", "must be a YAML mapping (key: value), not a list"),
        (b"config:\n  aws:region: eu-west-1\n  # caf\xe9\n", "is not UTF-8 text (byte 0xe9 at offset 39)"),
    ],
)
def test_a_stack_file_that_cannot_be_read_exits_2_naming_file_and_problem(
    project: Path, capsys: pytest.CaptureFixture[str], content: bytes, problem: str
) -> None:
    # GIVEN a stack file with one defect
    stack_file = project / "environments" / "Pulumi.dev.yaml"
    stack_file.write_bytes(content)
    # WHEN the plan runs THEN one line names the file and the problem, and the exit code is 2
    assert plan_error(project, capsys) == f"{stack_file}: {problem}"


def test_a_project_file_that_cannot_be_read_exits_2(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    manifest = project / "Pulumi.yaml"
    manifest.write_text("name: resilient-serverless\nconfig: [a, b]\n")
    assert (
        plan_error(project, capsys)
        == f"{manifest}: config must be a mapping of 'namespace:key: value', not a list: ['a', 'b']"
    )


def test_a_project_file_without_a_name_exits_2(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    manifest = project / "Pulumi.yaml"
    manifest.write_text("runtime: python\n")
    assert plan_error(project, capsys) == f"{manifest}: name=None must be the project name (a string)"


def test_an_empty_stack_file_is_all_defaults(tmp_path: Path) -> None:
    path = tmp_path / "Pulumi.x.yaml"
    path.write_text("")
    assert read_config_file(path) == {}


def test_the_file_error_is_a_config_error_with_one_problem(tmp_path: Path) -> None:
    path = tmp_path / "Pulumi.x.yaml"
    path.write_text("config: 7\n")
    with pytest.raises(ProjectFileError) as raised:
        read_config_file(path)
    assert isinstance(raised.value, ConfigError)
    assert raised.value.problems == ["config must be a mapping of 'namespace:key: value', not a int: 7"]


# --- namespaces ---------------------------------------------------------------------------------------
def test_a_misspelt_project_namespace_is_refused_naming_the_closest_key(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    stack_file = project / "environments" / "Pulumi.dev.yaml"
    stack_file.write_text(stack_file.read_text() + "  resilient-serverles:logLevel: ERROR\n")
    assert plan_error(project, capsys) == (
        "stack 'dev' settings (resilient-serverless:*): 'resilient-serverles:logLevel' is in namespace "
        "'resilient-serverles', neither the project's nor a provider's: did you mean 'resilient-serverless:logLevel'?"
    )


def run_settings(config: dict[str, Any], secret_keys: list[str] | None = None) -> Any:
    """``load_settings`` as ``__main__.py`` calls it, inside a program with this config."""
    loaded: list[Any] = []
    run_program(
        lambda: loaded.append(load_settings()), project="shop", stack="dev", config=config, secret_keys=secret_keys
    )
    return loaded[0]


def settings_error(config: dict[str, Any], secret_keys: list[str] | None = None) -> ConfigError:
    with pytest.raises(ConfigError) as raised:
        run_settings(config, secret_keys)
    return raised.value


def test_a_namespace_far_from_any_key_names_the_project_form() -> None:
    error = settings_error({"shopp:ttl": "5"})
    assert error.problems == [
        "'shopp:ttl' is in namespace 'shopp', neither the project's nor a provider's: "
        "settings of this project are 'shop:<key>'"
    ]


def test_provider_namespaces_and_the_project_are_accepted() -> None:
    settings = run_settings({"aws:skipCredentialsValidation": "true", "pulumi:tags": "{}", "shop:logLevel": "WARN"})
    assert settings.log_level == "WARN"
    assert {"aws", "pulumi"} <= stack_settings.provider_namespaces()


# --- values the plan used to accept -------------------------------------------------------------------
def test_alarm_email_with_a_trailing_newline_is_refused() -> None:
    with pytest.raises(ConfigError) as raised:
        parse_settings({"alarmEmail": "ops@example.com\n"})
    assert raised.value.problems == [
        "alarmEmail='ops@example.com\\n' is not an email address (or leave it empty for no subscription)"
    ]


def test_a_secret_alarm_email_is_validated_on_its_plain_value() -> None:
    settings = run_settings({"alarmEmail": "ops@example.com"}, secret_keys=["shop:alarmEmail"])
    assert settings.alarm_email == "ops@example.com"


def test_a_bad_secret_alarm_email_is_refused_without_printing_it() -> None:
    error = settings_error({"alarmEmail": "ops-at-example.com"}, secret_keys=["shop:alarmEmail"])
    assert str(error) == (
        "stack 'dev' settings (shop:*): alarmEmail=[secret] is not an email address "
        "(or leave it empty for no subscription)"
    )
    assert "ops-at-example" not in str(error)


def test_a_secure_value_the_plan_cannot_decrypt_is_accepted(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # GIVEN prod's alarm email as a secure value (ciphertext the offline plan has no key for)
    stack_file = project / "environments" / "Pulumi.prod.yaml"
    text = stack_file.read_text().replace(
        "resilient-serverless:alarmEmail: ops@example.com",
        "resilient-serverless:alarmEmail:\n    secure: AAABAJk2uF0vdLrJqUQ4nWq6W2v0MUxkZ8c=",
    )
    stack_file.write_text(text)
    # WHEN the plan runs THEN it is clean: there is no plain value to check
    assert main(["plan", "--stack", "prod", "--project-dir", str(project), "--json"]) == 0
    assert capsys.readouterr().err == ""


def test_the_offline_secret_stand_in_is_the_same_in_the_kit_and_the_settings() -> None:
    assert stack_settings.OFFLINE_SECRET == OFFLINE_SECRET


@pytest.mark.parametrize(
    ("region", "shown"),
    [("None", "'None'"), ('["eu-west-1"]', "'[\"eu-west-1\"]'"), ("eu_west_1", "'eu_west_1'"), ("", "''")],
)
def test_a_region_that_is_not_one_region_name_is_refused(region: str, shown: str) -> None:
    error = settings_error({"aws:region": region})
    assert error.problems == [f"aws:region={shown} is not an AWS region name such as 'eu-west-1'"]


@pytest.mark.parametrize("region", ["eu-west-1", "us-gov-west-1", "ap-southeast-3", "cn-north-1"])
def test_region_names_are_accepted(region: str) -> None:
    assert run_settings({"aws:region": region}).api_flavor == "rest"


def test_a_null_region_in_a_stack_file_exits_2(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    stack_file = project / "environments" / "Pulumi.dev.yaml"
    stack_file.write_text(stack_file.read_text().replace("aws:region: eu-west-1", "aws:region: null"))
    assert plan_error(project, capsys).endswith("aws:region='None' is not an AWS region name such as 'eu-west-1'")


@pytest.mark.parametrize(
    ("flavor", "timeout", "limit"),
    [("rest", 29, 29), ("rest", 60, 29), ("http", 30, 30)],
)
def test_a_function_timeout_the_gateway_cannot_wait_for_names_the_setting(
    flavor: str, timeout: int, limit: int
) -> None:
    with pytest.raises(ConfigError) as raised:
        parse_settings({"apiFlavor": flavor, "functionTimeoutSeconds": timeout})
    assert raised.value.problems == [
        f"functionTimeoutSeconds={timeout} must be below {limit} s with apiFlavor={flavor!r}: "
        f"API Gateway {flavor.upper()} gives up after {limit} s, before the function would"
    ]


@pytest.mark.parametrize(("flavor", "timeout"), [("rest", 28), ("http", 29)])
def test_the_longest_timeout_each_gateway_waits_for_is_accepted(flavor: str, timeout: int) -> None:
    assert parse_settings({"apiFlavor": flavor, "functionTimeoutSeconds": timeout}).function_timeout == timeout


def test_a_rest_stack_with_a_29_s_timeout_exits_2_naming_the_setting(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    stack_file = project / "environments" / "Pulumi.prod.yaml"
    stack_file.write_text(stack_file.read_text() + "  resilient-serverless:functionTimeoutSeconds: 29\n")
    assert plan_error(project, capsys, "prod") == (
        "stack 'prod' settings (resilient-serverless:*): functionTimeoutSeconds=29 must be below 29 s with "
        "apiFlavor='rest': API Gateway REST gives up after 29 s, before the function would"
    )


def test_a_secret_number_out_of_range_is_not_printed_either() -> None:
    error = settings_error({"functionTimeoutSeconds": "901"}, secret_keys=["shop:functionTimeoutSeconds"])
    assert error.problems == ["functionTimeoutSeconds=[secret] is outside 1 to 900 seconds (Lambda timeout)"]
    error = settings_error({"functionTimeoutSeconds": "nine"}, secret_keys=["shop:functionTimeoutSeconds"])
    assert error.problems == [
        "functionTimeoutSeconds=[secret] must be a whole number (the digits 0 to 9, or a YAML integer)"
    ]
