"""What a deployed stack holds that an operator acts on, read from its state (``pulumi stack
export`` JSON): every dead-letter queue with the queues or topic subscriptions that feed it and the
component it belongs to, and every Step Functions state machine with its type.

A DLQ is recognised by what points at it (a queue's ``redrivePolicy`` or an SNS subscription's),
not by its name, so a queue a user added to the program is found the same way as ours.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["DeadLetterQueue", "OperateError", "StackInventory", "StateMachine", "load_inventory"]

QUEUE_TYPE = "aws:sqs/queue:Queue"
SUBSCRIPTION_TYPE = "aws:sns/topicSubscription:TopicSubscription"
STATE_MACHINE_TYPE = "aws:sfn/stateMachine:StateMachine"
INVOKE_CONFIG_TYPE = "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig"
MAPPING_TYPE = "aws:lambda/eventSourceMapping:EventSourceMapping"
EVENT_TARGET_TYPE = "aws:cloudwatch/eventTarget:EventTarget"


class OperateError(Exception):
    """Bad input or an unusable stack state: printed as one line, exit code 2."""


@dataclass(frozen=True)
class DeadLetterQueue:
    name: str
    url: str
    arn: str
    component: str
    """The component (the queue's parent in the resource tree) or ``stack`` at the top level."""
    sources: tuple[str, ...] = field(default=())
    """What fails into it: queue ARNs (redrive policy), SNS topic ARNs (a subscription's redrive
    policy), ``lambda:NAME`` (a function's or a mapping's on-failure destination) or
    ``rule:NAME`` (an EventBridge target's dead-letter config)."""

    @property
    def source_queues(self) -> tuple[str, ...]:
        return tuple(s for s in self.sources if s.startswith("arn:") and ":sqs:" in s)


@dataclass(frozen=True)
class StateMachine:
    name: str
    arn: str
    type: str
    component: str


@dataclass(frozen=True)
class StackInventory:
    stack: str
    dlqs: tuple[DeadLetterQueue, ...]
    state_machines: tuple[StateMachine, ...]
    queue_names: Mapping[str, str]
    """ARN -> name of every queue in the stack (to name a redrive's source)."""

    def dlq(self, given: str) -> DeadLetterQueue:
        """The DLQ named by ``given`` (name, URL or ARN); an unknown queue or a queue of the stack
        that is no DLQ raises ``OperateError`` naming the stack's DLQs."""
        for d in self.dlqs:
            if given in (d.name, d.url, d.arn):
                return d
        known = ", ".join(d.name for d in self.dlqs) or "none"
        is_queue = (
            given in self.queue_names
            or given in self.queue_names.values()
            or any(given.endswith("/" + n) for n in self.queue_names.values())
        )
        what = "is a queue of this stack but no DLQ" if is_queue else "is not a queue of this stack"
        raise OperateError(f"{given!r} {what} (stack {self.stack!r}; its DLQs: {known})")


def _component(resource: Mapping[str, Any], by_urn: Mapping[str, Mapping[str, Any]]) -> str:
    parent = by_urn.get(str(resource.get("parent", "")))
    if parent is None or parent.get("type") == "pulumi:pulumi:Stack":
        return "stack"
    return f"{parent['urn'].rsplit('::', 1)[-1]} ({str(parent['type']).rsplit(':', 1)[-1]})"


def _redrive_target(outputs: Mapping[str, Any]) -> str | None:
    policy = outputs.get("redrivePolicy")
    if isinstance(policy, str) and policy:
        try:
            policy = json.loads(policy)
        except ValueError:
            return None
    if isinstance(policy, Mapping):
        target = policy.get("deadLetterTargetArn")
        return str(target) if target else None
    return None


def _dig(value: Any, *path: str) -> Any:
    for key in path:
        value = value.get(key) if isinstance(value, Mapping) else None
    return value


def _failure_destinations(type_: str, outputs: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(queue ARN, what fails into it) for resources other than queues that dead-letter to SQS."""
    if type_ == SUBSCRIPTION_TYPE:
        target = _redrive_target(outputs)
        return [(target, str(outputs.get("topic")))] if target else []
    if type_ in (INVOKE_CONFIG_TYPE, MAPPING_TYPE):
        target = _dig(outputs, "destinationConfig", "onFailure", "destination")
        return [(str(target), f"lambda:{outputs.get('functionName')}")] if target else []
    if type_ == EVENT_TARGET_TYPE:
        target = _dig(outputs, "deadLetterConfig", "arn")
        return [(str(target), f"rule:{outputs.get('rule')}")] if target else []
    return []


def inventory_from_state(state: Mapping[str, Any], stack: str = "") -> StackInventory:
    """The inventory of a ``pulumi stack export`` document (version 3)."""
    deployment = state.get("deployment") if isinstance(state, Mapping) else None
    resources = deployment.get("resources") if isinstance(deployment, Mapping) else None
    if not isinstance(resources, list):
        raise OperateError("the state file has no deployment.resources: is it `pulumi stack export` output?")
    by_urn = {str(r.get("urn")): r for r in resources if isinstance(r, Mapping)}
    queues = [r for r in by_urn.values() if r.get("type") == QUEUE_TYPE and isinstance(r.get("outputs"), Mapping)]
    fed: dict[str, list[str]] = {}
    for q in queues:
        target = _redrive_target(q["outputs"])
        if target:
            fed.setdefault(target, []).append(str(q["outputs"].get("arn")))
    for r in by_urn.values():
        outputs = r.get("outputs")
        if not isinstance(outputs, Mapping):
            continue
        for target, source in _failure_destinations(str(r.get("type")), outputs):
            if target.startswith("arn:") and ":sqs:" in target:
                fed.setdefault(target, []).append(source)
    dlqs = tuple(
        DeadLetterQueue(
            name=str(q["outputs"].get("name")),
            url=str(q["outputs"].get("url") or q.get("id")),
            arn=str(q["outputs"]["arn"]),
            component=_component(q, by_urn),
            sources=tuple(sorted(fed[q["outputs"]["arn"]])),
        )
        for q in queues
        if q["outputs"].get("arn") in fed
    )
    machines = tuple(
        StateMachine(
            name=str(r["outputs"].get("name")),
            arn=str(r["outputs"].get("arn")),
            type=str(r["outputs"].get("type", "STANDARD")).upper(),
            component=_component(r, by_urn),
        )
        for r in by_urn.values()
        if r.get("type") == STATE_MACHINE_TYPE and isinstance(r.get("outputs"), Mapping)
    )
    names = {str(q["outputs"].get("arn")): str(q["outputs"].get("name")) for q in queues}
    return StackInventory(
        stack or _stack_of(by_urn),
        tuple(sorted(dlqs, key=lambda d: d.name)),
        tuple(sorted(machines, key=lambda m: m.name)),
        names,
    )


def _stack_of(by_urn: Mapping[str, Any]) -> str:
    for urn in by_urn:
        parts = urn.split("::")
        if len(parts) > 1 and parts[0].startswith("urn:pulumi:"):
            return parts[0].removeprefix("urn:pulumi:")
    return "?"


def load_inventory(
    stack: str | None, state_file: str | None, run: Any = subprocess.run, which: Any = shutil.which
) -> StackInventory:
    """From ``state_file`` when given, else ``pulumi stack export --stack STACK`` (the Pulumi CLI
    the stack is deployed with)."""
    if state_file:
        try:
            state = json.loads(Path(state_file).read_text(encoding="utf-8"))
        except (OSError, ValueError) as error:
            raise OperateError(f"cannot read the state file {state_file}: {error}") from error
        return inventory_from_state(state, stack or "")
    if not stack:
        raise OperateError("name the stack (--stack NAME) or its state (--state FILE from `pulumi stack export`)")
    pulumi = which("pulumi")
    if pulumi is None:
        raise OperateError(f"no pulumi CLI to read stack {stack!r}: pass --state FILE (`pulumi stack export`)")
    done = run([pulumi, "stack", "export", "--stack", stack], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise OperateError(f"pulumi stack export --stack {stack} failed: {last}")
    return inventory_from_state(json.loads(done.stdout), stack)


def sources_named(inventory: StackInventory, arns: Sequence[str]) -> str:
    return ", ".join(inventory.queue_names.get(a, a.rsplit(":", 1)[-1]) for a in arns) or "-"


def source_kind(source: str) -> str:
    if source.startswith("lambda:"):
        return "failed asynchronous invocations"
    if source.startswith("rule:"):
        return "events EventBridge could not deliver"
    return "undeliverable SNS notifications"
