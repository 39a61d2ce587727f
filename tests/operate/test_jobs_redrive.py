"""``resilient-serverless jobs redrive``: failed Standard executions restarted where they failed.

moto runs the state machines and lists their executions. moto has no ``RedriveExecution``: it is
faked at the botocore client boundary (``FakedAtBoundary`` with a ``Stubber``).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from components import defaults
from components.cli import main
from components.operate import load_inventory
from components.operate.jobs import parse_since, redrive_jobs

from .conftest import Deployed, FakedAtBoundary


def _aborted(deployed: Deployed, name: str) -> str:
    arn = deployed.sfn.start_execution(stateMachineArn=deployed.machines["reports"], name=name)["executionArn"]
    deployed.sfn.stop_execution(executionArn=arn)
    return str(arn)


def _redrive_faked(deployed: Deployed) -> tuple[Any, Stubber]:
    stubbed = boto3.client("stepfunctions", region_name="eu-west-1")
    return FakedAtBoundary(deployed.sfn, stubbed, {"redrive_execution"}), Stubber(stubbed)


def test_failed_standard_executions_are_redriven_and_express_is_explained(deployed: Deployed) -> None:
    # GIVEN one aborted and one running execution of the Standard workflow, and an Express workflow
    aborted = _aborted(deployed, "job-1")
    deployed.sfn.start_execution(stateMachineArn=deployed.machines["reports"], name="job-2")
    sfn, stub = _redrive_faked(deployed)
    stub.add_response("redrive_execution", {"redriveDate": datetime.now(UTC)}, {"executionArn": aborted})
    lines: list[str] = []
    # WHEN the operator redrives the stack's jobs
    with stub:
        code = redrive_jobs(load_inventory(None, str(deployed.state_file)), sfn, lines.append)
    # THEN the aborted one alone is redriven, and the Express workflow is named as not redrivable
    assert code == 0
    stub.assert_no_pending_responses()
    assert lines[0].startswith("reports (reports (AsyncJobWorkflow)): 1 failed execution(s) since ")
    assert lines[1].startswith("  job-1 ABORTED at ") and lines[1].endswith(": redriven")
    assert lines[2:] == [
        "thumbnails (reports (AsyncJobWorkflow)): EXPRESS, not redrivable: AWS keeps no execution history "
        "to resume from; find failures in its log group and submit those jobs again",
        "1 redriven, 0 refused",
    ]


def test_an_execution_stopped_before_the_window_is_left_alone(deployed: Deployed) -> None:
    # GIVEN an execution that stopped now, judged two hours later with the default one-hour window
    _aborted(deployed, "job-old")
    sfn, stub = _redrive_faked(deployed)
    lines: list[str] = []
    # WHEN the jobs are redriven
    with stub:
        code = redrive_jobs(
            load_inventory(None, str(deployed.state_file)),
            sfn,
            lines.append,
            now=datetime.now(UTC) + timedelta(hours=2),
        )
    # THEN nothing is redriven (the stub has no response: a call would have raised)
    assert (code, lines[-1]) == (0, "0 redriven, 0 refused")
    assert lines[0].startswith("reports (reports (AsyncJobWorkflow)): 0 failed execution(s) since ")


def test_a_refused_redrive_is_reported_and_exits_1(deployed: Deployed) -> None:
    # GIVEN an aborted execution AWS will not redrive
    aborted = _aborted(deployed, "job-3")
    sfn, stub = _redrive_faked(deployed)
    stub.add_client_error(
        "redrive_execution",
        service_error_code="ExecutionNotRedrivable",
        service_message="Execution has already been redriven 1000 times",
        expected_params={"executionArn": aborted},
    )
    lines: list[str] = []
    # WHEN the jobs are redriven
    with stub:
        code = redrive_jobs(load_inventory(None, str(deployed.state_file)), sfn, lines.append)
    # THEN AWS's reason is printed and the exit code says something was refused
    assert code == 1
    assert lines[1].endswith(": not redriven: ExecutionNotRedrivable: Execution has already been redriven 1000 times")
    assert lines[-1] == "0 redriven, 1 refused"


def test_dry_run_lists_and_redrives_nothing(deployed: Deployed, capsys: pytest.CaptureFixture[str]) -> None:
    # GIVEN an aborted execution
    aborted = _aborted(deployed, "job-4")
    # WHEN the operator asks for a dry run through the command line (moto has no RedriveExecution:
    # a call would fail the command)
    code = main(["jobs", "redrive", "--since", "30m", "--dry-run", "--state", str(deployed.state_file)])
    out, err = capsys.readouterr()
    # THEN it names what it would redrive and the execution stays aborted
    assert (code, err) == (0, "")
    assert out.splitlines()[1].endswith(": would redrive")
    assert out.splitlines()[-1] == "dry run: nothing redriven"
    assert deployed.sfn.describe_execution(executionArn=aborted)["status"] == "ABORTED"


@pytest.mark.parametrize("since", ["0m", "15d", "1w", "an hour"])
def test_a_window_outside_aws_redrive_period_is_one_line_and_exit_2(
    deployed: Deployed, capsys: pytest.CaptureFixture[str], since: str
) -> None:
    # GIVEN a --since of zero, above 14 days or unreadable WHEN jobs are redriven
    code = main(["jobs", "redrive", "--since", since, "--state", str(deployed.state_file)])
    out, err = capsys.readouterr()
    # THEN one line names the allowed window, exit 2
    assert (code, out) == (2, "")
    assert err.splitlines() == [
        f"resilient-serverless: --since={since!r} must be a duration such as 90m, 1h or 2d, above 0 and at "
        "most 14d (Step Functions redrives an execution up to 14 days after it stopped)"
    ]


def test_the_default_window_is_one_hour_and_the_longest_is_fourteen_days() -> None:
    # GIVEN no --since, and the longest AWS allows WHEN parsed THEN the pinned default and 14 days
    assert (parse_since(None), parse_since("14d")) == (defaults.JOBS_REDRIVE_SINCE_S, 14 * 86_400) == (3_600, 1_209_600)
