"""``resilient-serverless dlq``: list, show and redrive a stack's dead-letter queues.

moto answers SQS, SNS and CloudWatch. moto has no message move tasks: ``StartMessageMoveTask``,
``ListMessageMoveTasks`` and ``CancelMessageMoveTask`` are faked at the botocore client boundary
(``FakedAtBoundary`` with a ``Stubber``), with AWS's response shapes.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from components import defaults
from components.cli import main
from components.operate import OperateError, load_inventory
from components.operate.dlq import cancel, parse_rate, redrive, status

from .conftest import Deployed, FakedAtBoundary

MOVE_TASK_OPERATIONS = {"start_message_move_task", "list_message_move_tasks", "cancel_message_move_task"}


def _send(deployed: Deployed, queue: str, body: str, reason: str | None = None) -> None:
    attrs = {"reason": {"DataType": "String", "StringValue": reason}} if reason else {}
    deployed.sqs.send_message(QueueUrl=deployed.queues[queue]["url"], MessageBody=body, MessageAttributes=attrs)


def _visible(deployed: Deployed, queue: str) -> int:
    url = deployed.queues[queue]["url"]
    attrs = deployed.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])
    return int(attrs["Attributes"]["ApproximateNumberOfMessages"])


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, list[str], list[str]]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out.splitlines(), err.splitlines()


def _move_tasks(deployed: Deployed) -> tuple[Any, Stubber]:
    stubbed = boto3.client("sqs", region_name="eu-west-1")
    return FakedAtBoundary(deployed.sqs, stubbed, MOVE_TASK_OPERATIONS), Stubber(stubbed)


def test_list_names_every_dlq_with_depth_oldest_age_component_and_sources(
    deployed: Deployed, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN two poisoned orders in the high DLQ, one undelivered alarm, and CloudWatch's oldest age
    _send(deployed, "orders-inbox-high-dlq", '{"qty": -1}', "qty must be above 0")
    _send(deployed, "orders-inbox-high-dlq", "{}", "items is required")
    _send(deployed, "ops-alarms-dlq", '{"AlarmName": "errors"}')
    boto3.client("cloudwatch", region_name="eu-west-1").put_metric_data(
        Namespace="AWS/SQS",
        MetricData=[
            {
                "MetricName": "ApproximateAgeOfOldestMessage",
                "Dimensions": [{"Name": "QueueName", "Value": "orders-inbox-high-dlq"}],
                "Value": 3725,
                "Timestamp": datetime.now(UTC),
            }
        ],
    )
    # WHEN the operator lists the stack's DLQs
    code, out, err = _run(capsys, "dlq", "list", "--state", str(deployed.state_file))
    # THEN each DLQ is one row; the source queues are not listed as DLQs
    assert (code, err) == (0, [])
    assert [line.split() for line in out] == [
        ["DLQ", "DEPTH", "IN", "FLIGHT", "OLDEST", "COMPONENT", "SOURCES"],
        ["ops-alarms-dlq", "1", "0", "-", "ops-alarms", "(AlarmDeliveryDLQ)", "ops-alarms"],
        ["orders-inbox-high-dlq", "2", "0", "1h02m05s", "orders-inbox", "(PriorityQueuePair)", "orders-inbox-high"],
        ["orders-inbox-low-dlq", "0", "0", "-", "orders-inbox", "(PriorityQueuePair)", "orders-inbox-low"],
        ["3", "DLQs", "in", "stack", "prod"],
    ]


def test_show_prints_each_message_with_its_reason_and_consumes_none(
    deployed: Deployed, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN a poisoned order (reason written by the consumer) and one SQS moved after 5 receives
    _send(deployed, "orders-inbox-high-dlq", '{"qty": -1}', "qty must be above 0")
    _send(deployed, "orders-inbox-high-dlq", '{"qty": 2}')
    # WHEN the operator shows the DLQ
    code, out, err = _run(capsys, "dlq", "show", "orders-inbox-high-dlq", "--state", str(deployed.state_file))
    # THEN both are shown with their reason, and both are still there to receive
    assert (code, err) == (0, [])
    reasons = sorted(line for line in out if line.startswith("  reason: "))
    assert reasons == [
        "  reason: (none written: failed on every receive, moved by SQS)",
        "  reason: qty must be above 0",
    ]
    assert sorted(line for line in out if line.startswith("  body: ")) == [
        '  body:   {"qty": -1}',
        '  body:   {"qty": 2}',
    ]
    assert out[-1] == "2 message(s) shown from orders-inbox-high-dlq, none consumed (visibility restored)"
    assert _visible(deployed, "orders-inbox-high-dlq") == 2


def test_show_stops_at_the_limit(deployed: Deployed, capsys: pytest.CaptureFixture[str]) -> None:
    # GIVEN three messages in a DLQ
    for n in range(3):
        _send(deployed, "orders-inbox-low-dlq", f'{{"n": {n}}}', "bad")
    # WHEN the operator asks for one
    code, out, _ = _run(
        capsys, "dlq", "show", "orders-inbox-low-dlq", "--limit", "1", "--state", str(deployed.state_file)
    )
    # THEN one is shown and all three stay visible
    assert (code, out[-1]) == (0, "1 message(s) shown from orders-inbox-low-dlq, none consumed (visibility restored)")
    assert _visible(deployed, "orders-inbox-low-dlq") == 3


def test_show_without_a_limit_shows_one_receive_worth(deployed: Deployed, capsys: pytest.CaptureFixture[str]) -> None:
    # GIVEN twelve messages in a DLQ, more than one ReceiveMessage call returns
    for n in range(12):
        _send(deployed, "orders-inbox-low-dlq", f'{{"n": {n}}}', "bad")
    # WHEN the operator shows it without --limit
    code, out, _ = _run(capsys, "dlq", "show", "orders-inbox-low-dlq", "--state", str(deployed.state_file))
    # THEN the default limit (10, SQS's most per call) is shown and all twelve stay visible
    assert (code, out[-1]) == (0, "10 message(s) shown from orders-inbox-low-dlq, none consumed (visibility restored)")
    assert _visible(deployed, "orders-inbox-low-dlq") == 12


def test_redrive_starts_a_bounded_move_task_and_follows_it_until_completed(deployed: Deployed) -> None:
    # GIVEN four messages in the high DLQ and SQS's answers to the move task
    for n in range(4):
        _send(deployed, "orders-inbox-high-dlq", f'{{"n": {n}}}', "bad")
    sqs, stub = _move_tasks(deployed)
    dlq_arn = deployed.queues["orders-inbox-high-dlq"]["arn"]
    stub.add_response(
        "start_message_move_task",
        {"TaskHandle": "handle-1"},
        {"SourceArn": dlq_arn, "MaxNumberOfMessagesPerSecond": 3},
    )
    listing = {"SourceArn": dlq_arn, "MaxResults": 1}
    running = {
        "TaskHandle": "handle-1",
        "Status": "RUNNING",
        "SourceArn": dlq_arn,
        "ApproximateNumberOfMessagesToMove": 4,
    }
    stub.add_response(
        "list_message_move_tasks", {"Results": [{**running, "ApproximateNumberOfMessagesMoved": 3}]}, listing
    )
    done = {**running, "Status": "COMPLETED", "ApproximateNumberOfMessagesMoved": 4}
    stub.add_response("list_message_move_tasks", {"Results": [done]}, listing)
    lines: list[str] = []
    waits: list[float] = []
    # WHEN the operator redrives it at 3 messages per second
    with stub:
        code = redrive(
            load_inventory(None, str(deployed.state_file)),
            sqs,
            "orders-inbox-high-dlq",
            lines.append,
            rate=3,
            sleep=waits.append,
        )
    # THEN SQS returns each message to its source at that rate, and the progress is shown until done
    assert code == 0
    assert lines == [
        "moving about 4 message(s) from orders-inbox-high-dlq to orders-inbox-high at 3/s (task handle-1)",
        "  running: 3 of 4 moved",
        "  completed: 4 of 4 moved",
    ]
    assert waits == [defaults.DLQ_REDRIVE_POLL_S]
    stub.assert_no_pending_responses()


def test_redrive_to_a_named_source_sets_the_destination(deployed: Deployed) -> None:
    # GIVEN a DLQ and its source queue named by the operator
    sqs, stub = _move_tasks(deployed)
    dlq_arn = deployed.queues["orders-inbox-low-dlq"]["arn"]
    params = {
        "SourceArn": dlq_arn,
        "DestinationArn": deployed.queues["orders-inbox-low"]["arn"],
        "MaxNumberOfMessagesPerSecond": defaults.DLQ_REDRIVE_RATE_PER_S,
    }
    stub.add_response("start_message_move_task", {"TaskHandle": "h"}, params)
    stub.add_response("list_message_move_tasks", {"Results": [{"Status": "COMPLETED", "TaskHandle": "h"}]})
    # WHEN it is redriven with --to and no rate
    with stub:
        code = redrive(
            load_inventory(None, str(deployed.state_file)),
            sqs,
            "orders-inbox-low-dlq",
            lambda _: None,
            to="orders-inbox-low",
        )
    # THEN the move task names that destination and the default rate
    assert code == 0
    stub.assert_no_pending_responses()


def test_redrive_dry_run_moves_nothing(deployed: Deployed, capsys: pytest.CaptureFixture[str]) -> None:
    # GIVEN two messages in a DLQ
    for n in range(2):
        _send(deployed, "orders-inbox-high-dlq", f'{{"n": {n}}}', "bad")
    # WHEN the operator asks for a dry run
    code, out, err = _run(
        capsys,
        "dlq",
        "redrive",
        "orders-inbox-high-dlq",
        "--rate",
        "1",
        "--dry-run",
        "--state",
        str(deployed.state_file),
    )
    # THEN it says what would move, and both messages stay in the DLQ (no move task was started:
    # moto has none, so a StartMessageMoveTask would have failed the command)
    assert (code, err) == (0, [])
    assert out == [
        "dry run: would move about 2 message(s) from orders-inbox-high-dlq to orders-inbox-high at 1/s "
        "(about 2 s); nothing moved"
    ]
    assert _visible(deployed, "orders-inbox-high-dlq") == 2
    assert _visible(deployed, "orders-inbox-high") == 0


def test_status_lists_the_move_tasks_and_cancel_stops_the_running_one(deployed: Deployed) -> None:
    # GIVEN a move task running on the high DLQ
    sqs, stub = _move_tasks(deployed)
    dlq_arn = deployed.queues["orders-inbox-high-dlq"]["arn"]
    task = {
        "TaskHandle": "handle-9",
        "Status": "RUNNING",
        "SourceArn": dlq_arn,
        "MaxNumberOfMessagesPerSecond": 10,
        "ApproximateNumberOfMessagesMoved": 40,
        "ApproximateNumberOfMessagesToMove": 100,
        "StartedTimestamp": 1_796_601_600_000,
    }
    stub.add_response("list_message_move_tasks", {"Results": [task]}, {"SourceArn": dlq_arn, "MaxResults": 10})
    stub.add_response("list_message_move_tasks", {"Results": [task]}, {"SourceArn": dlq_arn, "MaxResults": 1})
    stub.add_response("cancel_message_move_task", {"ApproximateNumberOfMessagesMoved": 41}, {"TaskHandle": "handle-9"})
    inventory = load_inventory(None, str(deployed.state_file))
    lines: list[str] = []
    # WHEN the operator asks for its status, then cancels it
    with stub:
        codes = (
            status(inventory, sqs, "orders-inbox-high-dlq", lines.append),
            cancel(inventory, sqs, "orders-inbox-high-dlq", lines.append),
        )
    # THEN the status shows its progress and the cancel names what already moved
    assert codes == (0, 0)
    assert lines == [
        "RUNNING    started 2026-12-07T00:00:00Z  moved 40 of 100 at 10/s",
        "cancelled the move from orders-inbox-high-dlq: 41 message(s) had moved and stay where they went",
    ]
    stub.assert_no_pending_responses()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["dlq", "show", "orders-inbox-mid-dlq"],
            "resilient-serverless: 'orders-inbox-mid-dlq' is not a queue of this stack (stack 'prod'; "
            "its DLQs: ops-alarms-dlq, orders-inbox-high-dlq, orders-inbox-low-dlq)",
        ),
        (
            ["dlq", "redrive", "orders-inbox-high"],
            "resilient-serverless: 'orders-inbox-high' is a queue of this stack but no DLQ (stack 'prod'; "
            "its DLQs: ops-alarms-dlq, orders-inbox-high-dlq, orders-inbox-low-dlq)",
        ),
        (
            ["dlq", "redrive", "orders-inbox-high-dlq", "--rate", "0"],
            "resilient-serverless: --rate='0' must be a whole number of messages per second from 1 to 500 "
            "(SQS StartMessageMoveTask MaxNumberOfMessagesPerSecond)",
        ),
        (
            ["dlq", "redrive", "orders-inbox-high-dlq", "--to", "orders-inbox-low"],
            "resilient-serverless: --to='orders-inbox-low' is not a source of orders-inbox-high-dlq "
            "(its sources: orders-inbox-high)",
        ),
        (
            ["dlq", "redrive", "ops-alarms-dlq"],
            "resilient-serverless: ops-alarms-dlq holds undeliverable SNS notifications, not messages of a "
            "queue: there is no source queue to move them back to (read them with `dlq show`)",
        ),
    ],
)
def test_bad_input_is_one_line_and_exit_2_and_moves_nothing(
    deployed: Deployed, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    # GIVEN a message in the high DLQ
    _send(deployed, "orders-inbox-high-dlq", "{}", "bad")
    # WHEN a command names a queue or a rate the stack cannot take
    code, out, err = _run(capsys, *argv, "--state", str(deployed.state_file))
    # THEN one line on stderr, exit 2, and the message stays where it was
    assert (code, out, err) == (2, [], [message])
    assert _visible(deployed, "orders-inbox-high-dlq") == 1


def test_the_rate_default_is_sqs_bounded_and_pinned() -> None:
    # GIVEN no --rate WHEN it is parsed THEN the default applies; 500 is SQS's highest rate
    assert (parse_rate(None), parse_rate("500")) == (defaults.DLQ_REDRIVE_RATE_PER_S, 500) == (10, 500)
    with pytest.raises(OperateError, match=r"^--rate='501' must be"):
        parse_rate("501")


def test_without_a_state_file_or_a_pulumi_cli_the_stack_cannot_be_read(tmp_path: Path) -> None:
    # GIVEN no state file and no pulumi on PATH WHEN the stack is read THEN one line says what to pass
    with pytest.raises(OperateError) as raised:
        load_inventory("prod", None, which=lambda _: None)
    assert str(raised.value) == "no pulumi CLI to read stack 'prod': pass --state FILE (`pulumi stack export`)"
    # GIVEN a file that is not a stack export THEN it is named as such
    other = tmp_path / "other.json"
    other.write_text(json.dumps({"resources": []}))
    with pytest.raises(OperateError) as raised:
        load_inventory(None, str(other))
    assert str(raised.value) == "the state file has no deployment.resources: is it `pulumi stack export` output?"


def test_a_move_task_that_fails_is_reported_with_its_reason_and_exits_1(deployed: Deployed) -> None:
    # GIVEN a move task SQS stops with a failure (its source queue was deleted meanwhile)
    sqs, stub = _move_tasks(deployed)
    dlq_arn = deployed.queues["orders-inbox-low-dlq"]["arn"]
    stub.add_response("start_message_move_task", {"TaskHandle": "h"})
    failed = {
        "TaskHandle": "h",
        "Status": "FAILED",
        "ApproximateNumberOfMessagesMoved": 0,
        "FailureReason": "AWS.SimpleQueueService.NonExistentQueue",
    }
    stub.add_response("list_message_move_tasks", {"Results": [failed]}, {"SourceArn": dlq_arn, "MaxResults": 1})
    lines: list[str] = []
    # WHEN the DLQ is redriven
    with stub:
        code = redrive(load_inventory(None, str(deployed.state_file)), sqs, "orders-inbox-low-dlq", lines.append)
    # THEN the failure and its reason are shown, and the exit code says the move did not complete
    assert code == 1
    assert lines[1:] == ["  failed: 0 of 0 moved", "  failure: AWS.SimpleQueueService.NonExistentQueue"]


def test_without_a_state_file_the_stack_is_read_with_the_pulumi_cli(deployed: Deployed) -> None:
    # GIVEN a pulumi CLI on PATH that exports the stack
    calls: list[list[str]] = []

    def run(argv: list[str], **_: Any) -> Any:
        calls.append(argv)
        return type("Done", (), {"returncode": 0, "stdout": deployed.state_file.read_text(), "stderr": ""})()

    # WHEN the inventory is loaded by stack name
    inventory = load_inventory("prod", None, run=run, which=lambda _: "/usr/local/bin/pulumi")
    # THEN `pulumi stack export --stack prod` was asked, and its DLQs are known
    assert calls == [["/usr/local/bin/pulumi", "stack", "export", "--stack", "prod"]]
    assert [d.name for d in inventory.dlqs] == ["ops-alarms-dlq", "orders-inbox-high-dlq", "orders-inbox-low-dlq"]
