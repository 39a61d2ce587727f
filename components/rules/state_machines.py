"""Step Functions and job workflows: bounded executions and tasks, retries and catches,
callback heartbeats, Express workflows on Request Response integrations only, and a role that
may call every task's target.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from .. import aws_facts
from .common import ALARM, ASYNC_JOB_WORKFLOW, QUEUE, ROLE, STATE_MACHINE, TABLE, _as_list, _statements
from .queues import _function_by_name, _queue_by_arn
from .registry import rule

if TYPE_CHECKING:
    from ..offline import CapturedResource, Graph


def _asl_problems(machine: CapturedResource, kind: str) -> Iterator[str]:
    from ..asl import classified_problems  # noqa: PLC0415 (light, but only where state machines exist)

    raw = machine.inputs.get("definition")
    try:
        definition = json.loads(raw) if isinstance(raw, str) else raw
    except ValueError:
        yield "the definition is not JSON"
        return
    if not isinstance(definition, dict):
        return
    express = machine.inputs.get("type") == "EXPRESS"
    yield from (message for k, message in classified_problems(definition, express=express) if k == kind)


@rule("sfn-execution-timeout", "error", (STATE_MACHINE,), "A state machine bounds each execution (TimeoutSeconds)")
def sfn_execution_timeout(machine: CapturedResource, graph: Graph) -> Iterator[str]:
    yield from _asl_problems(machine, "execution_timeout")


@rule("sfn-task-timeout", "error", (STATE_MACHINE,), "Every Task state has TimeoutSeconds")
def sfn_task_timeout(machine: CapturedResource, graph: Graph) -> Iterator[str]:
    yield from _asl_problems(machine, "task_timeout")


@rule(
    "sfn-task-retry",
    "error",
    (STATE_MACHINE,),
    "Every Task state retries with backoff, full jitter and a maximum delay",
)
def sfn_task_retry(machine: CapturedResource, graph: Graph) -> Iterator[str]:
    yield from _asl_problems(machine, "retry")


@rule("sfn-task-catch", "error", (STATE_MACHINE,), "Every Task state catches its errors into a state that records them")
def sfn_task_catch(machine: CapturedResource, graph: Graph) -> Iterator[str]:
    yield from _asl_problems(machine, "catch")


@rule(
    "sfn-callback-heartbeat",
    "error",
    (STATE_MACHINE,),
    "A task that waits for a task token has HeartbeatSeconds below its TimeoutSeconds",
)
def sfn_callback_heartbeat(machine: CapturedResource, graph: Graph) -> Iterator[str]:
    # asl.heartbeat_problem is the one check: the components refuse what this rule flags.
    yield from _asl_problems(machine, "heartbeat")


@rule(
    "jobs-start-within-quota",
    "warning",
    (ASYNC_JOB_WORKFLOW,),
    "A job workflow's starter issues no more StartExecution calls than the account's quota refills",
)
def jobs_start_within_quota(workflow: CapturedResource, graph: Graph) -> Iterator[str]:
    path = graph.outputs_of(workflow).get("start_path") or {}
    issued, quota = path.get("starts_per_s"), path.get("start_quota_per_s")
    if isinstance(issued, int | float) and isinstance(quota, int | float) and issued > quota:
        yield (
            f"the starter can issue {issued} starts/s, above the StartExecution refill of {quota}/s: starts are "
            "throttled and retried from the queue; lower starter_max_concurrency or raise the quota"
        )


WEBHOOK_ATTEMPTS_MAX = 10


@rule(
    "jobs-webhook-delivery-bounded",
    "error",
    (ASYNC_JOB_WORKFLOW,),
    "Webhook deliveries retry a bounded number of times, then land in a DLQ that raises an alarm",
)
def jobs_webhook_delivery_bounded(workflow: CapturedResource, graph: Graph) -> Iterator[str]:
    hooks = graph.outputs_of(workflow).get("webhooks")
    if not hooks:
        return
    queue = _queue_by_arn(graph, str(hooks.get("queue_arn")))
    redrive = queue.inputs.get("redrivePolicy") if queue else None
    policy = json.loads(redrive) if isinstance(redrive, str) else {}
    dlq = _queue_by_arn(graph, str(policy.get("deadLetterTargetArn"))) if policy else None
    if dlq is None:
        yield "the webhook queue has no DLQ: a delivery that keeps failing is retried until it expires, unseen"
        return
    attempts = policy.get("maxReceiveCount")
    if not isinstance(attempts, int) or attempts > WEBHOOK_ATTEMPTS_MAX:
        yield f"webhook deliveries are tried {attempts!r} times, above {WEBHOOK_ATTEMPTS_MAX}: bound the retries"
    watched = any(
        (a.inputs.get("dimensions") or {}).get("QueueName") == dlq.outputs.get("name") for a in graph.of_type(ALARM)
    )
    if not watched:
        yield f"no alarm watches the webhook DLQ {dlq.name}: failed deliveries would wait there unseen"


def _definition(machine: CapturedResource) -> dict[str, Any] | None:
    raw = machine.inputs.get("definition")
    try:
        definition = json.loads(raw) if isinstance(raw, str) else raw
    except ValueError:
        return None
    return definition if isinstance(definition, dict) else None


@rule(
    "sfn-express-request-response",
    "error",
    (STATE_MACHINE,),
    "An Express state machine uses only Request Response integrations (no .sync, no .waitForTaskToken)",
    needs_graph=False,
)
def sfn_express_request_response(machine: CapturedResource, graph: Graph) -> Iterator[str]:
    from ..asl import tasks_of  # noqa: PLC0415

    kind = str(machine.inputs.get("type") or "STANDARD").upper()
    allowed = aws_facts.INTEGRATION_PATTERNS.get(kind)
    definition = _definition(machine)
    if allowed is None or definition is None:
        return
    for name, state in tasks_of(definition):
        pattern = aws_facts.integration_pattern(state.get("Resource"))
        if pattern not in allowed:
            yield (
                f"task {name} uses {state.get('Resource')} ({pattern}), which a {kind} workflow cannot run "
                f"(it supports {', '.join(sorted(allowed))}; {aws_facts.SFN_PATTERNS_URL}): CreateStateMachine "
                "refuses it; use a STANDARD workflow or a Request Response integration"
            )


# What each optimized integration calls, by the Resource it names: the action and the parameter that
# names its target.
TASK_TARGETS: dict[str, tuple[str, str]] = {
    "lambda:invoke": ("lambda:InvokeFunction", "FunctionName"),
    "sqs:sendMessage": ("sqs:SendMessage", "QueueUrl"),
    "sns:publish": ("sns:Publish", "TopicArn"),
    "dynamodb:getItem": ("dynamodb:GetItem", "TableName"),
    "dynamodb:putItem": ("dynamodb:PutItem", "TableName"),
    "dynamodb:updateItem": ("dynamodb:UpdateItem", "TableName"),
    "dynamodb:deleteItem": ("dynamodb:DeleteItem", "TableName"),
}
_FUNCTION_ARN = re.compile(r"^arn:[^:]+:lambda:[^:]*:[^:]*:function:[^:]+")


def _task_target(state: dict[str, Any], graph: Graph) -> tuple[str, str] | None:
    """(action, ARN) a Task calls, or None when the target is dynamic or not one of TASK_TARGETS."""
    resource = str(state.get("Resource", ""))
    if _FUNCTION_ARN.match(resource):
        return "lambda:InvokeFunction", _FUNCTION_ARN.match(resource).group(0)  # type: ignore[union-attr]
    service = resource.split(":::", 1)[-1].split(".", 1)[0] if ":states:::" in resource else ""
    if service not in TASK_TARGETS:
        return None
    action, parameter = TASK_TARGETS[service]
    value = (state.get("Parameters") or state.get("Arguments") or {}).get(parameter)
    if not isinstance(value, str) or not value or "{%" in value:
        return None  # a path ("FunctionName.$") or JSONata: decided at run time
    return action, _target_arn(action, value, graph)


def _target_arn(action: str, value: str, graph: Graph) -> str:
    if action == "lambda:InvokeFunction":
        match = _FUNCTION_ARN.match(value)
        if match:
            return match.group(0)
        fn = _function_by_name(graph, value)
        return str(fn.outputs.get("arn")) if fn else f"arn:*:lambda:*:*:function:{value}"
    if action == "sqs:SendMessage":
        queue = next((q for q in graph.of_type(QUEUE) if q.outputs.get("url") == value), None)
        if queue is not None:
            return str(queue.outputs.get("arn"))
        parts = value.rstrip("/").split("/")  # https://sqs.<region>.amazonaws.com/<account>/<name>
        region = parts[2].split(".")[1] if len(parts) > 2 and "." in parts[2] else "*"
        return f"arn:aws:sqs:{region}:{parts[-2] if len(parts) > 1 else '*'}:{parts[-1]}"
    if action.startswith("dynamodb:") and not value.startswith("arn:"):
        table = next((t for t in graph.of_type(TABLE) if t.outputs.get("name") == value), None)
        return str(table.outputs.get("arn")) if table else f"arn:*:dynamodb:*:*:table/{value}"
    return value


def _role_statements(role: CapturedResource, graph: Graph) -> list[dict[str, Any]]:
    keys = {role.outputs.get("id"), role.outputs.get("name"), role.outputs.get("arn")} - {None}
    statements: list[dict[str, Any]] = []
    for inline in role.inputs.get("inlinePolicies") or []:
        statements += _statements((inline or {}).get("policy"))
    for policy in graph.of_type("aws:iam/rolePolicy:RolePolicy"):
        if policy.inputs.get("role") in keys:
            statements += _statements(policy.inputs.get("policy"))
    managed = {
        a.inputs.get("policyArn")
        for a in graph.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
        if a.inputs.get("role") in keys
    }
    for policy in graph.of_type("aws:iam/policy:Policy"):
        if policy.outputs.get("arn") in managed:
            statements += _statements(policy.inputs.get("policy"))
    return statements


def _allows(statements: list[dict[str, Any]], action: str, arn: str) -> bool:
    import fnmatch  # noqa: PLC0415

    targets = {arn, f"{arn}:*"} if action == "lambda:InvokeFunction" else {arn}
    for statement in statements:
        if statement.get("Effect") != "Allow":
            continue
        actions = [str(a).lower() for a in _as_list(statement.get("Action"))]
        if not any(fnmatch.fnmatchcase(action.lower(), a) for a in actions):
            continue
        resources = [str(r) for r in _as_list(statement.get("Resource"))]
        if any(fnmatch.fnmatchcase(t, r) or fnmatch.fnmatchcase(r, t) for t in targets for r in resources):
            return True
    return False


@rule(
    "sfn-role-can-call-its-tasks",
    "error",
    (STATE_MACHINE,),
    "A state machine's role may call every Lambda function, queue, topic and table its tasks name",
)
def sfn_role_can_call_its_tasks(machine: CapturedResource, graph: Graph) -> Iterator[str]:
    from ..asl import tasks_of  # noqa: PLC0415

    definition = _definition(machine)
    role = next((r for r in graph.of_type(ROLE) if r.outputs.get("arn") == machine.inputs.get("roleArn")), None)
    if definition is None or role is None:
        return  # a role this stack does not manage: its policies are not here to read
    statements = _role_statements(role, graph)
    for name, state in tasks_of(definition):
        target = _task_target(dict(state), graph)
        if target is not None and not _allows(statements, *target):
            yield (
                f"task {name} calls {target[0]} on {target[1]}, which the role {role.name} does not allow: "
                "the execution fails at that state with an access error"
            )
