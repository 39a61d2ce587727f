"""A user's own stack settings, declared with the package's machinery: the reference deployment's
checks and messages for their keys, and their Pulumi.yaml config block written and checked from
the same declaration."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pulumi
import pytest
from resilient_serverless.components.settings import Setting, StackSettingsSpec, choice, int_range
from resilient_serverless.components.testing import run_program
from resilient_serverless.components.validation import ConfigError

from environments.settings import DECLARATION

ROOT = Path(__file__).resolve().parents[3]
OWN = ROOT / "tests" / "consumers" / "own_settings"

SPEC = StackSettingsSpec(
    [
        Setting(
            "workerTimeoutSeconds",
            int,
            60,
            "Timeout of the report worker (seconds)",
            int_range(1, 900, unit="seconds", why="Lambda timeout"),
        ),
        Setting("logLevel", str, "INFO", "Log level of the worker", choice("DEBUG", "INFO", "WARN", "ERROR")),
    ]
)


def test_no_key_gives_each_declared_default_under_its_snake_case_name() -> None:
    assert SPEC.parse({}) == {"worker_timeout_seconds": 60, "log_level": "INFO"}


def test_values_are_parsed_as_the_pulumi_cli_passes_them() -> None:
    assert SPEC.parse({"workerTimeoutSeconds": "120", "logLevel": "WARN"}) == {
        "worker_timeout_seconds": 120,
        "log_level": "WARN",
    }


def test_every_bad_key_is_named_with_its_value_and_range_in_one_error() -> None:
    with pytest.raises(ConfigError) as raised:
        SPEC.parse({"workerTimeoutSeconds": 1000, "logLevel": "LOUD", "logLevl": "INFO"}, subject="stack 'dev'")
    assert str(raised.value) == (
        "stack 'dev': unknown setting 'logLevl': did you mean 'logLevel'? (run 'resilient-serverless keys' for all 2); "
        "workerTimeoutSeconds=1000 is outside 1 to 900 seconds (Lambda timeout); "
        "logLevel='LOUD' is not one of 'DEBUG', 'INFO', 'WARN', 'ERROR'"
    )


def test_a_whole_number_is_ascii_digits_as_in_the_reference_settings() -> None:
    with pytest.raises(ConfigError) as raised:
        SPEC.parse({"workerTimeoutSeconds": "1_000"}, subject="s")
    assert raised.value.problems == [
        "workerTimeoutSeconds='1_000' must be a whole number (the digits 0 to 9, or a YAML integer)"
    ]


def test_a_secret_value_is_never_printed() -> None:
    with pytest.raises(ConfigError) as raised:
        SPEC.parse({"logLevel": "hunter2"}, subject="s", secret_keys={"logLevel"})
    assert raised.value.problems == ["logLevel=[secret] is not one of 'DEBUG', 'INFO', 'WARN', 'ERROR'"]


def test_a_cross_check_sees_the_parsed_values() -> None:
    def worker_fits_the_budget(p: object, values: dict[str, object]) -> None:
        if values["worker_timeout_seconds"] == 900 and values["log_level"] == "DEBUG":
            p.add("logLevel='DEBUG' with a 900 s worker logs too much")  # type: ignore[attr-defined]

    spec = StackSettingsSpec(SPEC.specs, cross_checks=[worker_fits_the_budget])
    with pytest.raises(ConfigError, match="logs too much"):
        spec.parse({"workerTimeoutSeconds": 900, "logLevel": "DEBUG"})


def test_a_declaration_with_a_duplicate_key_or_an_unknown_type_is_refused() -> None:
    with pytest.raises(ConfigError) as raised:
        StackSettingsSpec([Setting("a", int, 1, "x"), Setting("a", int, 2, "y"), Setting("b", float, 1.0, "z")])
    assert raised.value.problems == [
        "keys 'a', 'a' share the attribute 'a'",
        "b: type float is not one of int, str, bool, list",
        "a key is declared twice",
    ]


def test_load_refuses_a_bad_stack_value_before_any_resource() -> None:
    created: list[str] = []

    def program() -> None:
        settings = SPEC.load()
        created.append(str(settings))
        pulumi.export("timeout", settings["worker_timeout_seconds"])

    with pytest.raises(ConfigError) as raised:
        run_program(program, project="shop", stack="dev", config={"workerTimeoutSeconds": "1000"})
    assert str(raised.value) == (
        "stack 'dev' settings (shop:*): workerTimeoutSeconds=1000 is outside 1 to 900 seconds (Lambda timeout)"
    )
    assert created == []
    graph = run_program(program, project="shop", stack="dev", config={"workerTimeoutSeconds": "45"})
    assert graph.exports["timeout"] == 45


def test_load_names_a_key_in_a_namespace_that_is_neither_the_projects_nor_a_providers() -> None:
    with pytest.raises(ConfigError) as raised:
        run_program(SPEC.load, project="shop", stack="dev", config={"shpo:logLevel": "INFO"})
    assert raised.value.problems == [
        "'shpo:logLevel' is in namespace 'shpo', neither the project's nor a provider's: did you mean 'shop:logLevel'?"
    ]


# --- the config block of Pulumi.yaml ---------------------------------------------------------


def test_the_config_block_declares_type_default_and_description_of_each_key() -> None:
    assert SPEC.config_block() == (
        "config:\n"
        "  workerTimeoutSeconds:\n"
        "    type: integer\n"
        "    default: 60\n"
        '    description: "Timeout of the report worker (seconds)"\n'
        "  logLevel:\n"
        "    type: string\n"
        '    default: "INFO"\n'
        '    description: "Log level of the worker"\n'
    )


def test_writing_the_block_keeps_the_rest_of_the_project_file_and_checking_then_agrees(tmp_path: Path) -> None:
    project = tmp_path / "Pulumi.yaml"
    project.write_text(
        "name: shop\nruntime: python\n# the keys below are typed\nconfig:\n  logLevel:\n    type: integer\n"
        "backend:\n  url: file://~\n"
    )
    assert SPEC.check_project_file(project) == [
        "workerTimeoutSeconds: not declared in Pulumi.yaml",
        "logLevel: type is 'integer' in Pulumi.yaml, 'string' in the settings",
        "logLevel: default is None in Pulumi.yaml, 'INFO' in the settings",
        "logLevel: description is None in Pulumi.yaml, 'Log level of the worker' in the settings",
    ]
    assert SPEC.write_project_file(project) is True
    assert project.read_text() == (
        "name: shop\nruntime: python\n# the keys below are typed\n"
        + SPEC.config_block()
        + "backend:\n  url: file://~\n"
    )
    assert SPEC.check_project_file(project) == []
    assert SPEC.write_project_file(project) is False


def test_the_reference_pulumi_yaml_is_exactly_what_its_declaration_writes(tmp_path: Path) -> None:
    copy = tmp_path / "Pulumi.yaml"
    shutil.copy2(ROOT / "Pulumi.yaml", copy)
    assert DECLARATION.check_project_file(copy) == []
    assert DECLARATION.write_project_file(copy) is False


def test_the_command_checks_a_users_project_file_and_names_each_difference(tmp_path: Path) -> None:
    command = [
        sys.executable,
        "-m",
        "resilient_serverless.components.settings",
        "check",
        "--spec",
        "shop_settings:SPEC",
    ]
    ok = subprocess.run([*command, "--project-dir", str(OWN)], capture_output=True, text=True, check=False)
    assert (ok.returncode, ok.stderr) == (0, "")
    shutil.copytree(OWN, tmp_path / "own")
    (tmp_path / "own" / "Pulumi.yaml").write_text("name: own_settings\nruntime: python\n")
    drifted = subprocess.run(
        [*command, "--project-dir", str(tmp_path / "own")], capture_output=True, text=True, check=False
    )
    assert drifted.returncode == 1
    assert drifted.stderr.splitlines() == [
        f"{tmp_path / 'own' / 'Pulumi.yaml'}: workerTimeoutSeconds: not declared in Pulumi.yaml",
        f"{tmp_path / 'own' / 'Pulumi.yaml'}: logLevel: not declared in Pulumi.yaml",
    ]
