"""The rules for what raw programs forget, at their edges: which grants let a state machine's role
call its tasks, what the redrive rule accepts. (The four mistakes themselves, through the policy
pack and the plan: tests/policy/test_policy_pack.py.)"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pulumi
import pulumi_aws as aws
import pytest
from resilient_serverless.components import rules
from resilient_serverless.components.testing import run_program

CODE = pulumi.AssetArchive({})
SFN_TRUST = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "states.amazonaws.com"}, "Action": "sts:AssumeRole"}
        ],
    }
)
FUNCTION_ARN = "arn:aws:lambda:us-east-1:123456789012:function:billing"


def findings(program: Callable[[], None], rule_id: str) -> list[str]:
    graph = run_program(program)
    return [f.message for f in rules.check(graph, waived={}) if f.rule == rule_id]


def machine(task: dict[str, Any], grant: Callable[[aws.iam.Role], None] | None, role_arn: str | None = None) -> None:
    role = aws.iam.Role("flow-role", assume_role_policy=SFN_TRUST)
    if grant is not None:
        grant(role)
    definition = json.dumps({"StartAt": "Call", "States": {"Call": {"Type": "Task", "End": True, **task}}})
    aws.sfn.StateMachine("flow", role_arn=role_arn or role.arn, definition=definition)


def inline(actions: str, resource: str) -> Callable[[aws.iam.Role], None]:
    def grant(role: aws.iam.Role) -> None:
        document = {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": actions, "Resource": resource}],
        }
        aws.iam.RolePolicy("flow-policy", role=role.id, policy=json.dumps(document))

    return grant


def managed(actions: str, resource: str) -> Callable[[aws.iam.Role], None]:
    def grant(role: aws.iam.Role) -> None:
        document = {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": actions, "Resource": resource}],
        }
        policy = aws.iam.Policy("flow-managed", policy=json.dumps(document))
        aws.iam.RolePolicyAttachment("flow-attach", role=role.name, policy_arn=policy.arn)

    return grant


LEGACY = {"Resource": FUNCTION_ARN}
OPTIMIZED = {"Resource": "arn:aws:states:::lambda:invoke", "Parameters": {"FunctionName": FUNCTION_ARN}}
DENIED = (
    f"task Call calls lambda:InvokeFunction on {FUNCTION_ARN}, which the role flow-role does not allow: the "
    "execution fails at that state with an access error"
)


@pytest.mark.parametrize(
    ("task", "grant"),
    [
        (LEGACY, inline("lambda:InvokeFunction", FUNCTION_ARN)),
        (OPTIMIZED, inline("lambda:InvokeFunction", f"{FUNCTION_ARN}:*")),
        (OPTIMIZED, inline("lambda:Invoke*", "arn:aws:lambda:*:*:function:billing")),
        (OPTIMIZED, managed("lambda:InvokeFunction", FUNCTION_ARN)),
    ],
    ids=["legacy-resource", "qualified-grant", "wildcard-grant", "managed-policy"],
)
def test_a_role_allowed_to_invoke_the_tasks_function_is_quiet(
    task: dict[str, Any], grant: Callable[[aws.iam.Role], None]
) -> None:
    assert findings(lambda: machine(task, grant), "sfn-role-can-call-its-tasks") == []


@pytest.mark.parametrize("task", [LEGACY, OPTIMIZED], ids=["legacy-resource", "optimized"])
def test_a_role_with_no_grant_for_the_tasks_function_is_an_error(task: dict[str, Any]) -> None:
    found = findings(lambda: machine(task, inline("sqs:SendMessage", "*")), "sfn-role-can-call-its-tasks")
    assert found == [DENIED]


def test_a_target_chosen_at_run_time_or_a_role_of_another_stack_is_not_judged() -> None:
    dynamic = {"Resource": "arn:aws:states:::lambda:invoke", "Parameters": {"FunctionName.$": "$.fn"}}
    assert findings(lambda: machine(dynamic, None), "sfn-role-can-call-its-tasks") == []
    other_stack = "arn:aws:iam::123456789012:role/made-elsewhere"
    assert findings(lambda: machine(OPTIMIZED, None, other_stack), "sfn-role-can-call-its-tasks") == []


@pytest.mark.parametrize(("count", "fires"), [(1, True), (2, False), (5, False)])
def test_a_redrive_after_a_single_receive_is_the_only_one_refused(count: int, fires: bool) -> None:
    def program() -> None:
        dead = aws.sqs.Queue("dlq")
        aws.sqs.Queue(
            "work",
            redrive_policy=dead.arn.apply(
                lambda arn: json.dumps({"deadLetterTargetArn": arn, "maxReceiveCount": count})
            ),
        )

    assert bool(findings(program, "sqs-redrive-retries")) is fires
