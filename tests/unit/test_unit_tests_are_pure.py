"""tests/unit holds pure code only (tests/README.md): a unit test that starts moto, a Pulumi program
or a local run belongs in its subject's folder, where the slower kinds live."""

from __future__ import annotations

import ast

from tests.conftest import ROOT

# What makes a test slow or stateful: AWS in moto, a program under Pulumi mocks, a local run.
NOT_PURE = {"moto", "run_program", "run_stack", "run_locally", "set_mocks", "mock_aws"}


def impure_imports(source: str) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            names |= {(node.module or "").split(".")[0]} | {alias.name for alias in node.names}
    return names & NOT_PURE


def test_no_unit_test_imports_moto_or_runs_a_program() -> None:
    found = {
        str(path.relative_to(ROOT)): sorted(impure)
        for path in sorted((ROOT / "tests" / "unit").rglob("test_*.py"))
        if (impure := impure_imports(path.read_text()))
    }
    assert found == {}


def test_an_import_of_moto_or_of_a_program_runner_is_found() -> None:
    source = "from moto import mock_aws\nfrom resilient_serverless.components.testing import Graph, run_program\n"
    assert impure_imports(source) == {"moto", "mock_aws", "run_program"}
