"""The plan of every stack and every consumer program, text and JSON, against a checked-in copy.

A refactoring must not change what `resilient-serverless plan` prints. Each case runs the CLI
in-process (piped, so at the width of its widest line) and compares its stdout and exit code with
``tests/stacks/golden/<case>.txt`` / ``.json``.

Siblings are listed in the order their registrations completed, which varies between runs of one
process (asyncio), so the test sorts siblings and table rows before the plan is printed: the
golden files pin what the plan says, not that order.

A change that is meant to alter the plan regenerates every golden file in one command, then the
diff is reviewed like code:

    UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/stacks/test_plan_golden.py -q -p no:randomly
    git diff tests/stacks/golden/
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from resilient_serverless.components import cli, plan
from resilient_serverless.components.plan import report

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = Path(__file__).resolve().parent / "golden"
UPDATE = os.environ.get("UPDATE_GOLDEN") == "1"
CONSUMERS = sorted(p.name for p in (ROOT / "tests" / "consumers").iterdir() if (p / "Pulumi.yaml").exists())

# case name -> the plan's arguments (without --json)
CASES: dict[str, list[str]] = {
    **{f"stack-{s}": ["plan", "--stack", s, "--project-dir", str(ROOT)] for s in ("dev", "staging", "prod", "local")},
    **{
        f"consumer-{c}": ["plan", "--stack", "dev", "--project-dir", str(ROOT / "tests" / "consumers" / c)]
        for c in CONSUMERS
    },
    "compare-staging-prod": ["plan", "--compare", "staging", "prod", "--project-dir", str(ROOT)],
}


def _check(path: Path, actual: str) -> None:
    if UPDATE:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(actual, encoding="utf-8")
        return
    assert path.exists(), f"{path} is missing: run UPDATE_GOLDEN=1 pytest {Path(__file__).name} to write it"
    expected = path.read_text(encoding="utf-8")
    assert actual == expected, (
        f"the plan differs from {path.relative_to(ROOT)}; if the change is intended, regenerate with "
        f"UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/stacks/test_plan_golden.py and review the git diff"
    )


def _sorted_tree(nodes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    for node in nodes:
        if "children" in node:
            node["children"] = _sorted_tree(node["children"])
    return sorted(nodes, key=lambda n: (n["type"], n["name"]))


def _rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(rows, key=lambda row: json.dumps(row, sort_keys=True, default=str))


@pytest.fixture(autouse=True)
def _siblings_in_a_stable_order(monkeypatch: pytest.MonkeyPatch) -> None:
    build_plan, operations_report = plan.build_plan, report.operations_report

    def stable_plan(*args: Any, **kwargs: Any) -> dict[str, Any]:
        doc = build_plan(*args, **kwargs)
        doc["tree"] = _sorted_tree(doc["tree"])
        return doc

    def stable_report(*args: Any, **kwargs: Any) -> dict[str, Any]:
        doc = operations_report(*args, **kwargs)
        doc["capacity"] = _rows(doc["capacity"])
        doc["cost"]["rows"] = _rows(doc["cost"]["rows"])
        return doc

    monkeypatch.setattr(plan, "build_plan", stable_plan)
    monkeypatch.setattr(report, "operations_report", stable_report)


@pytest.mark.parametrize("output", ["txt", "json"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_plan_output_matches_its_golden_file(case: str, output: str, capsys: pytest.CaptureFixture[str]) -> None:
    argv = CASES[case] + (["--json"] if output == "json" else [])
    code = cli.main(argv)
    out = capsys.readouterr().out
    # The checkout's absolute path never reaches the golden file, so it holds on any machine.
    _check(GOLDEN / f"{case}.{output}", f"exit {code}\n" + out.replace(str(ROOT), "<root>"))
