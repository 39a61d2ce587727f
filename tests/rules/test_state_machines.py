"""The state-machine and job-workflow rules fire on the mistake they exist for and stay quiet on
the generated definition (the stacks test checks they are quiet on all four stacks)."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

import pulumi_aws as aws
import pytest
from resilient_serverless.components import AsyncJobWorkflow, ResilientFunction, asl, rules
from resilient_serverless.components.job_states import WorkflowShape, workflow_definition
from resilient_serverless.components.testing import run_program

from tests.conftest import HANDLERS, ROOT

SHAPE = WorkflowShape(
    table_name="jobs",
    worker_arn="arn:aws:lambda:eu-west-1:123456789012:function:w",
    worker_mode="callback",
    task_timeout_s=600,
    heartbeat_s=60,
    execution_timeout_s=3600,
    worker_retry=asl.RetryPolicy(("States.TaskFailed",), 2, 2, 2.0, 30),
)


def machine_findings(edit: Callable[[dict[str, Any]], Any], rule_id: str, sm_type: str = "STANDARD") -> list[str]:
    definition = copy.deepcopy(workflow_definition(SHAPE))
    edit(definition)

    def program() -> None:
        aws.sfn.StateMachine(
            "sm", role_arn="arn:aws:iam::123456789012:role/sm", type=sm_type, definition=json.dumps(definition)
        )

    return [f.message for f in rules.check(run_program(program), waived={}) if f.rule == rule_id]


def run_worker(d: dict[str, Any]) -> dict[str, Any]:
    state: dict[str, Any] = d["States"]["RunWorker"]
    return state


@pytest.mark.parametrize(
    ("rule_id", "edit", "message"),
    [
        (
            "sfn-execution-timeout",
            lambda d: d.pop("TimeoutSeconds"),
            "TimeoutSeconds=None must bound the execution: 1 to 31536000 s (Standard workflow)",
        ),
        (
            "sfn-task-timeout",
            lambda d: run_worker(d).pop("TimeoutSeconds"),
            "state 'RunWorker' has TimeoutSeconds=None: every Task needs 1 to 31536000 s",
        ),
        (
            "sfn-task-retry",
            lambda d: run_worker(d)["Retry"][0].update(BackoffRate=1.0),
            "state 'RunWorker' Retry[0] has BackoffRate=1.0: retries need a backoff above 1",
        ),
        (
            "sfn-task-catch",
            lambda d: run_worker(d).pop("Catch"),
            "state 'RunWorker' has no Catch: a failure ends the execution without recording it",
        ),
        (
            "sfn-callback-heartbeat",
            lambda d: run_worker(d).update(HeartbeatSeconds=600),
            "state 'RunWorker' waits for a task token with HeartbeatSeconds=600: it needs a heartbeat below its "
            "TimeoutSeconds, or a lost callback parks the execution until the timeout",
        ),
        (
            "sfn-callback-heartbeat",
            lambda d: run_worker(d).update(HeartbeatSeconds=900),
            "state 'RunWorker' waits for a task token with HeartbeatSeconds=900: it needs a heartbeat below its "
            "TimeoutSeconds, or a lost callback parks the execution until the timeout",
        ),
    ],
)
def test_each_state_machine_rule_fires_on_its_mistake(rule_id: str, edit: Any, message: str) -> None:
    assert machine_findings(edit, rule_id) == [message]
    assert machine_findings(lambda d: None, rule_id) == []


@pytest.mark.parametrize(
    ("heartbeat_s", "timeout_s", "problem"),
    [
        (59, 60, None),
        (
            60,
            60,
            "a heartbeat of 60 s is not below the timeout of 60 s, so a lost callback parks the execution until "
            "the timeout",
        ),
        (
            61,
            60,
            "a heartbeat of 61 s is not below the timeout of 60 s, so a lost callback parks the execution until "
            "the timeout",
        ),
    ],
)
def test_one_heartbeat_check_refuses_a_heartbeat_at_or_above_the_timeout(
    heartbeat_s: int, timeout_s: int, problem: str | None
) -> None:
    assert asl.heartbeat_problem(heartbeat_s, timeout_s) == problem


def test_given_a_callback_heartbeat_equal_to_the_task_timeout_then_the_workflow_and_the_rule_both_refuse_it() -> None:
    from resilient_serverless.components import ConfigError

    def program() -> None:
        renderer = ResilientFunction(
            "renderer",
            {"handler": "handlers.jobs.worker.lambda_handler", "code": HANDLERS, "invocation": "async", "timeout": 60},
        )
        AsyncJobWorkflow(
            "reports",
            {
                "worker": renderer,
                "code": HANDLERS,
                "worker_mode": "callback",
                "task_timeout_s": 600,
                "heartbeat_s": 600,
            },
        )

    with pytest.raises(ConfigError) as raised:
        run_program(program)
    assert raised.value.problems == [
        "heartbeat_s=600 must be below task_timeout_s=600: a heartbeat of 600 s is not below the timeout of 600 s, "
        "so a lost callback parks the execution until the timeout"
    ]
    assert machine_findings(lambda d: run_worker(d).update(HeartbeatSeconds=600), "sfn-callback-heartbeat") != []


def test_an_express_machine_is_bounded_at_five_minutes() -> None:
    assert machine_findings(lambda d: None, "sfn-execution-timeout", "EXPRESS") == [
        "TimeoutSeconds=3600 must bound the execution: 1 to 300 s (Express workflow)"
    ]


def test_a_starter_faster_than_the_quota_is_flagged() -> None:
    def program(concurrency: int) -> Callable[[], None]:
        def run() -> None:
            worker = ResilientFunction(
                "w", {"handler": "handlers.jobs.worker.lambda_handler", "code": HANDLERS, "invocation": "async"}
            )
            AsyncJobWorkflow("jobs", {"worker": worker, "code": HANDLERS, "starter_max_concurrency": concurrency})

        return run

    def messages(concurrency: int) -> list[str]:
        graph = run_program(program(concurrency))
        return [f.message for f in rules.check(graph, waived={}) if f.rule == "jobs-start-within-quota"]

    assert messages(2) == []
    assert messages(10) == [
        "the starter can issue 200 starts/s, above the StartExecution refill of 150/s: starts are throttled "
        "and retried from the queue; lower starter_max_concurrency or raise the quota"
    ]


def test_the_plan_shows_the_states_with_timeouts_and_retries_and_the_start_capacity(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from resilient_serverless.components.cli import main

    root = ROOT
    assert main(["plan", "--stack", "prod", "--json", "--project-dir", str(root)]) == 0
    plan = json.loads(capsys.readouterr().out)
    reports = next(n for n in plan["tree"] if n["type"].endswith("AsyncJobWorkflow"))
    assert reports["settings"]["workflow_type"] == "STANDARD" and reports["settings"]["timeout"] == 3600
    assert reports["settings"]["start_path"] == {
        "mode": "queue",
        "starter_max_concurrency": 4,
        "start_quota_per_s": 150.0,
        "starts_per_s": 80.0,
        "sustained_per_s": 80.0,
    }
    states = {s["state"]: s for s in reports["states"]}
    assert states["RunWorker"] == {
        "state": "RunWorker",
        "resource": "lambda:invoke",
        "timeout_s": 130,
        "retries": 2,
        "max_delay_s": 30,
        "catch": ["RecordTimedOut", "RecordFailed"],
    }
    assert set(states) == {
        "MarkRunning",
        "RunWorker",
        "RecordSucceeded",
        "RecordFailed",
        "RecordTimedOut",
        "NotifySucceeded",
        "NotifyFailed",
        "NotifyTimedOut",
        # prod pushes over its WebSocketNotifier after each terminal status is recorded, never before
        "PushSucceeded",
        "PushFailed",
        "PushTimedOut",
        "RecordPushErrorSucceeded",
        "RecordPushErrorFailed",
        "RecordPushErrorTimedOut",
    }
    assert "heartbeat_s" not in states["PushSucceeded"]  # nothing waits for a client
    assert states["PushSucceeded"]["catch"] == ["RecordPushErrorSucceeded"]
    assert main(["plan", "--stack", "prod", "--project-dir", str(root)]) == 0
    text = capsys.readouterr().out
    assert "state RunWorker (lambda:invoke)  timeout=130 s retries=2" in text  # the console wraps the rest
