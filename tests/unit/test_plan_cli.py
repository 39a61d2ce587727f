"""The offline plan through its CLI: tree, exports, findings; exit codes 0, 1 and 2."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from resilient_serverless.components.cli import main
from resilient_serverless.components.plan import PLAN_SCHEMA

ROOT = Path(__file__).resolve().parents[2]


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
        "findings: none",
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


def test_unknown_key_in_a_stack_file_exits_2_listing_valid_keys(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = copy_project(tmp_path)
    stack_file = project / "environments" / "Pulumi.staging.yaml"
    stack_file.write_text(stack_file.read_text() + "  resilient-serverless:retention: 7\n")
    assert main(["plan", "--stack", "staging", "--project-dir", str(project)]) == 2
    assert "unknown setting 'retention' (valid settings: accountConcurrency, " in capsys.readouterr().err


def test_error_finding_exits_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    project = copy_project(tmp_path)
    main_py = project / "__main__.py"
    main_py.write_text(main_py.read_text() + ("\naws.cloudwatch.LogGroup('forever', tags=tags)\n"))
    assert main(["plan", "--stack", "dev", "--project-dir", str(project), "--json"]) == 1
    plan = json.loads(capsys.readouterr().out)
    assert [(f["rule"], f["name"]) for f in plan["findings"]] == [("log-group-retention", "forever")]


def test_missing_project_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plan", "--stack", "dev", "--project-dir", str(tmp_path)]) == 2
    assert f"no Pulumi.yaml in {tmp_path}" in capsys.readouterr().err


def test_rules_lists_every_rule(capsys: pytest.CaptureFixture[str]) -> None:
    from resilient_serverless.components.rules import RULES

    assert main(["rules"]) == 0
    out = capsys.readouterr().out
    assert all(rule_id in out for rule_id in RULES)


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
