"""The runtime contract: one declaration per handler module of the variables it reads, read the
same way by every job handler, cheap to import on a cold start."""

from __future__ import annotations

import ast
import json
import subprocess
import sys

import pytest

from handlers.resilience import contract
from tests.conftest import ROOT


def test_importing_the_contract_loads_neither_boto3_nor_botocore_nor_the_components() -> None:
    probe = (
        "import sys, json; import handlers.resilience.contract; "
        "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('boto3', 'botocore', 'components', 'resilient_serverless', 'pulumi'))))"
    )
    out = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) == []


def handler_modules() -> list[str]:
    """Every module of the handler library that defines a Lambda entry point (a top-level
    function named ``lambda_handler`` or ``*_handler``), found in the tree, not listed by hand."""
    root = ROOT
    found = []
    for path in sorted((root / "handlers").rglob("*.py")):
        tree = ast.parse(path.read_text())
        if any(
            isinstance(node, ast.FunctionDef) and (node.name == "lambda_handler" or node.name.endswith("_handler"))
            for node in tree.body
        ):
            found.append(".".join(path.relative_to(root).with_suffix("").parts))
    return found


def test_the_entry_points_found_include_each_kind_of_handler() -> None:
    assert {"handlers.jobs.submit", "handlers.push.routes", "handlers.push.notify", "handlers.jobs.starter"} <= set(
        handler_modules()
    )


@pytest.mark.parametrize("module", handler_modules())
def test_every_handler_module_has_a_declared_contract(module: str) -> None:
    assert contract.contract_for(f"{module}.lambda_handler") == contract.CONTRACTS[module]
    assert contract.contract_for(f"resilient_serverless.{module}") == contract.CONTRACTS[module]


def test_reading_types_each_value_fills_defaults_and_leaves_unset_optionals_none() -> None:
    env = {
        "JOBS_TABLE": "jobs",
        "IDEMPOTENCY_TABLE": "idem",
        "RESULTS_BUCKET": "bucket",
        "STATE_MACHINE_ARN": "arn:sm",
        "RESULT_URL_TTL_S": "600",
        "INPUT_SCHEMA": '{"type": "object", "required": ["rows"]}',
    }
    values = contract.read(contract.JOB_CONFIG, env, module="handlers.jobs.status")
    assert values["RESULT_URL_TTL_S"] == 600 and values["EXECUTION_TIMEOUT_S"] == 3600
    assert values["INPUT_SCHEMA"] == {"type": "object", "required": ["rows"]}
    assert values["START_QUEUE_URL"] is None and values["PUSH_URL"] is None


def test_every_missing_or_empty_required_variable_is_named_at_once() -> None:
    with pytest.raises(contract.MissingVariable) as raised:
        contract.read(contract.JOB_CONFIG, {"JOBS_TABLE": "", "RESULTS_BUCKET": "b"}, module="handlers.jobs.submit")
    assert str(raised.value) == (
        "handlers.jobs.submit needs the environment variables JOBS_TABLE, IDEMPOTENCY_TABLE, STATE_MACHINE_ARN "
        "(set by the component that deploys it); it has no default"
    )


def test_the_recorder_reads_its_webhook_queue_through_the_contract(monkeypatch: pytest.MonkeyPatch) -> None:
    from handlers.jobs import recorder

    for name, value in {
        "JOBS_TABLE": "jobs",
        "IDEMPOTENCY_TABLE": "idem",
        "RESULTS_BUCKET": "bucket",
        "STATE_MACHINE_ARN": "arn:sm",
        "WEBHOOK_QUEUE_URL": "https://sqs.eu-west-1.amazonaws.com/123456789012/hooks",
    }.items():
        monkeypatch.setenv(name, value)
    recorder.webhook_queue_url.cache_clear()
    try:
        assert recorder.webhook_queue_url() == "https://sqs.eu-west-1.amazonaws.com/123456789012/hooks"
        monkeypatch.delenv("STATE_MACHINE_ARN")
        recorder.webhook_queue_url.cache_clear()
        with pytest.raises(contract.MissingVariable, match="STATE_MACHINE_ARN"):
            recorder.webhook_queue_url()
    finally:
        recorder.webhook_queue_url.cache_clear()


def test_the_declared_defaults_of_the_push_notifier_are_the_ones_it_reads() -> None:
    from handlers.push.notify import NotifyConfig

    declared = {v.name: v.default for v in contract.CONTRACTS["handlers.push.notify"] if not v.required}
    assert NotifyConfig.from_env({}) == NotifyConfig(
        int(declared["PUSH_INLINE_MAX_BYTES"] or 0),
        int(declared["PUSH_RESULT_URL_TTL_S"] or 0),
        int(declared["PUSH_NOTIFY_CONCURRENCY"] or 0),
    )
