"""The offline plan through its CLI: tree, exports, findings; exit codes 0, 1 and 2."""

from __future__ import annotations

import importlib.metadata
import json
import shutil
from pathlib import Path

import pytest
from resilient_serverless.components.cli import main
from resilient_serverless.components.plan import PLAN_SCHEMA
from resilient_serverless.components.policy import DEFAULT_LEVELS, PackSettings, uses_graph
from resilient_serverless.components.rules import RULES

from environments.settings import SPECS
from tests.conftest import ROOT


def copy_project(tmp_path: Path) -> Path:
    target = tmp_path / "project"
    shutil.copytree(
        ROOT,
        target,
        ignore=shutil.ignore_patterns(".venv", ".git", "tests", "bench", "*.egg-info", "__pycache__", ".*_cache"),
    )
    return target


def test_plan_json_is_a_stable_document(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plan", "--stack", "dev", "--json", "--project-dir", str(ROOT)]) == 0
    plan = json.loads(capsys.readouterr().out)
    assert plan["schema"] == PLAN_SCHEMA
    assert sorted(plan) == ["exports", "findings", "operations", "project", "schema", "stack", "summary", "tree"]
    assert (plan["project"], plan["stack"]) == ("resilient-serverless", "dev")
    assert plan["summary"]["errors"] == 0
    function = next(n for n in plan["tree"] if n["name"] == "orders-api")
    settings = {c["name"]: c["settings"] for c in function["children"]}
    assert settings["orders-api-function"]["timeout_s"] == 10
    assert settings["orders-api-function"]["reserved_concurrency"] == 5
    assert settings["orders-api-logs"] == {"retention_days": 7}


def test_plan_text_shows_tree_settings_exports_and_findings(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plan", "--stack", "prod", "--project-dir", str(ROOT), "--width", "200"]) == 0
    out = capsys.readouterr().out
    for expected in (
        "ResilientFunction orders-api",
        "timeout_s=10",
        "reserved_concurrency=100",
        "provisioned=5",
        "route GET /orders/{order_id} -> function orders-api (sync)",
        "timeout chain=10 s < 11000 ms",
        "capacity=50 needed (500 rps x 100 ms) / 100 reserved",
        "route POST /orders -> queue orders-inbox",
        "retention_days=365",
        "orders_api_target_arn",
        # nothing live; the tracing path's warning is waived by the stack file, with its reason
        "errors 0, warnings 0, waived ",
        "waived: no ADOT layer ARN set for this region yet",
    ):
        assert expected in out, expected


def test_unknown_stack_exits_2_with_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plan", "--stack", "qa", "--project-dir", str(ROOT)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "unknown stack 'qa'" in err and "known stacks: dev, local, prod, staging" in err


def test_bad_value_in_a_stack_file_exits_2_naming_the_key(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    project = copy_project(tmp_path)
    stack_file = project / "environments" / "Pulumi.dev.yaml"
    stack_file.write_text(stack_file.read_text() + "  resilient-serverless:functionMemoryMb: 20000\n")
    assert main(["plan", "--stack", "dev", "--project-dir", str(project)]) == 2
    err = capsys.readouterr().err
    assert err == (
        "resilient-serverless: stack 'dev' settings (resilient-serverless:*): "
        "functionMemoryMb=20000 is outside 128 to 10240 MB (Lambda memory)\n"
    )


def test_unknown_key_in_a_stack_file_exits_2_suggesting_the_closest_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN a stack file with a shortened key
    project = copy_project(tmp_path)
    stack_file = project / "environments" / "Pulumi.staging.yaml"
    stack_file.write_text(stack_file.read_text() + "  resilient-serverless:retention: 7\n")
    # WHEN it is planned
    assert main(["plan", "--stack", "staging", "--project-dir", str(project)]) == 2
    # THEN one short line names the key it most likely meant and where the full list is
    assert capsys.readouterr().err == (
        "resilient-serverless: stack 'staging' settings (resilient-serverless:*): unknown setting 'retention': "
        f"did you mean 'logRetentionDays'? (run 'resilient-serverless keys' for all {len(SPECS)})\n"
    )


def test_keys_lists_every_setting_a_stack_may_set(capsys: pytest.CaptureFixture[str]) -> None:
    # WHEN the settings are asked for
    assert main(["keys", "--project-dir", str(ROOT)]) == 0
    out = capsys.readouterr().out
    # THEN each key of the settings is on its own line, with its type and default
    listed = [line.split()[0] for line in out.splitlines()[1:]]
    assert listed == sorted((spec.key for spec in SPECS), key=str.lower)
    retention = next(line.split(maxsplit=3) for line in out.splitlines() if line.split()[0] == "logRetentionDays")
    assert retention == ["logRetentionDays", "integer", "30", "Days CloudWatch keeps function and access logs"]


def test_error_finding_exits_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    project = copy_project(tmp_path)
    main_py = project / "__main__.py"
    main_py.write_text(main_py.read_text() + ("\naws.cloudwatch.LogGroup('forever', tags=tags)\n"))
    assert main(["plan", "--stack", "dev", "--project-dir", str(project), "--json"]) == 1
    plan = json.loads(capsys.readouterr().out)
    assert [(f["rule"], f["name"]) for f in plan["findings"] if not f["waived"]] == [("log-group-retention", "forever")]


def test_missing_project_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plan", "--stack", "dev", "--project-dir", str(tmp_path)]) == 2
    assert f"no Pulumi.yaml in {tmp_path}" in capsys.readouterr().err


@pytest.mark.parametrize("command", [["plan"], ["simulate", "--load", "rate:1x"]])
def test_a_program_that_raises_exits_2_with_one_line_naming_where(
    command: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN a user's program that raises while it builds its resources
    (tmp_path / "Pulumi.yaml").write_text("name: shop\nruntime: python\n")
    (tmp_path / "Pulumi.dev.yaml").write_text("config: {}\n")
    (tmp_path / "__main__.py").write_text("import pulumi\n\nsizes = {}\nprint(sizes['large'])\n")
    # WHEN it is planned (or simulated) THEN exit 2 and one line: the exception, its message and
    # the program's line
    assert main([*command, "--stack", "dev", "--project-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err == "resilient-serverless: the program raised KeyError at __main__.py:4: 'large'\n"


def test_rules_lists_every_rule(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rules"]) == 0
    out = capsys.readouterr().out
    assert [line.split()[0] for line in out.splitlines()] == sorted(RULES)


def test_rules_json_gives_each_rules_severity_pack_level_and_description(capsys: pytest.CaptureFixture[str]) -> None:
    # WHEN the rules are asked for as JSON
    assert main(["rules", "--json"]) == 0
    catalogue = json.loads(capsys.readouterr().out)
    # THEN every rule is there, by id, with the level the policy pack gives it by default
    pack = PackSettings()
    assert catalogue == [
        {"id": r.id, "severity": r.severity, "level": pack.level_of(r), "description": r.description}
        for r in sorted(RULES.values(), key=lambda r: r.id)
    ]


def readme_rule_table() -> str:
    """The README's rule table as the catalogue makes it (paste it when a rule is added)."""
    rows = [
        f"| `{r.id}` | {'stack' if uses_graph(r) else 'resource'} | {DEFAULT_LEVELS[r.severity]} | {r.description} |"
        for r in sorted(RULES.values(), key=lambda r: r.id)
    ]
    return "\n".join(["| rule | policy | default level | what it checks |", "|---|---|---|---|", *rows])


def test_the_readme_lists_every_rule_of_the_catalogue() -> None:
    # GIVEN the README's table of rules
    readme = (ROOT / "README.md").read_text()
    # THEN it is the catalogue's table, every rule in it, in id order
    expected = readme_rule_table()
    assert expected in readme, f"README.md: replace the rule table with:\n{expected}"


def test_version_is_the_installed_distribution_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--version"])
    assert exited.value.code == 0
    assert capsys.readouterr().out == f"resilient-serverless {importlib.metadata.version('resilient-serverless')}\n"


@pytest.mark.parametrize("command", [[], ["plan"], ["rules"], ["keys"]])
def test_help_is_plain_text_and_says_where_stacks_come_from(
    command: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    # WHEN the help of the program or a command is printed
    with pytest.raises(SystemExit):
        main([*command, "--help"])
    out = capsys.readouterr().out
    # THEN it has no reStructuredText markup, and the program and plan help name stackConfigDir
    assert "`" not in out
    if command in ([], ["plan"]):
        assert "stackConfigDir" in " ".join(out.split())


def test_piped_plan_is_as_wide_as_its_widest_line(capsys: pytest.CaptureFixture[str]) -> None:
    # GIVEN output captured, as a pipe or a file is (not a terminal), and no --width
    assert main(["plan", "--stack", "prod", "--project-dir", str(ROOT)]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    # THEN no line is folded: a route's whole label and a table's longest cell stay on one line
    assert any(
        line.lstrip("│├└─ ").startswith("route GET /orders/{order_id} -> function orders-api (sync)")
        and line.rstrip().endswith("auth=IAM (SigV4)")
        for line in lines
    ), out
    assert any("│ PITR resilient-serverless-prod-orders " in line for line in lines), out
    # AND every table keeps one width from its top border to its bottom one
    tops = [i for i, line in enumerate(lines) if line.startswith(("┏", "┌"))]
    for top in tops:
        bottom = next(i for i in range(top, len(lines)) if lines[i].startswith("└"))
        assert len({len(line) for line in lines[top : bottom + 1]}) == 1, lines[top : bottom + 1]


def test_width_sets_the_columns_of_the_text_output(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plan", "--stack", "prod", "--project-dir", str(ROOT), "--width", "100"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert max(len(line) for line in lines) == 100


def test_a_waiver_of_many_resources_prints_once_with_the_resources(capsys: pytest.CaptureFixture[str]) -> None:
    # GIVEN the local stack, which waives X-Ray tracing for all twelve of its functions
    assert main(["plan", "--stack", "local", "--project-dir", str(ROOT), "--width", "300"]) == 0
    out = capsys.readouterr().out
    # THEN the rule and its waiver are printed once, then one function a line
    assert out.count("LocalStack's free edition has no X-Ray") == 1
    header = (
        "waived: LocalStack's free edition has no X-Ray lambda-tracing-active on 12 resources: "
        "tracing is not Active: no X-Ray trace for this function\n"
    )
    assert header + "  Function orders-api-function\n  Function orders-inbox-high-consumer-function\n" in out
    assert out.count("\n  Function ") == 12


def test_plan_shows_the_front_door_throttles_and_timeouts(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plan", "--stack", "dev", "--json", "--project-dir", str(ROOT)]) == 0
    plan = json.loads(capsys.readouterr().out)
    api = next(n for n in plan["tree"] if n["type"].endswith("ThrottledApi"))
    children = {c["name"]: c["settings"] for c in api["children"]}
    assert children["orders-stage"] == {
        "stage": "$default",
        "rate": 20,
        "burst": 40,
        "routes_throttled": 7,
        "access_logs": True,
    }
    assert children["orders-integration-get-orders-order-id"] == {"type": "AWS_PROXY", "timeout_ms": 11000}
    assert children["orders-integration-post-orders"] == {"type": "SQS-SendMessage", "timeout_ms": 5000}
    assert [r["route"] for r in api["routes"]][:2] == ["GET /orders/{order_id}", "POST /orders"]
