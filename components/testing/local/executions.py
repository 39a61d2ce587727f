"""Step Functions executions as ``settle`` watches them: each Standard execution's status
changes emitted to the EventBridge rules that match (moto emits none), delivered to their targets
or their dead-letter queues; and the resources AWS refuses though moto creates them."""

from __future__ import annotations

import json
import time
import uuid
from typing import TYPE_CHECKING, Any

from ..capture import Graph
from .backend import Backend
from .common import dumps

if TYPE_CHECKING:
    from .host import LocalRunHost as LocalRun

__all__ = ["emit_event", "executions_of", "refusals", "watch_executions"]


def executions_of(run: LocalRun) -> list[dict[str, Any]]:
    found = []
    for execution in run.backend.executions():
        status = execution.exec_status.value if execution.exec_status is not None else "RUNNING"
        found.append(
            {
                "executionArn": execution.exec_arn,
                "stateMachineArn": execution.state_machine_arn,
                "name": execution.name,
                "status": status,
                "type": run._machine_types.get(execution.state_machine_arn, "STANDARD"),
            }
        )
    return found


def watch_executions(run: LocalRun) -> int:
    """Emit each Standard execution's status changes to the EventBridge rules that match
    (moto does not); Express executions emit none, as in AWS."""
    emitted = 0
    for execution in executions_of(run):
        arn, status = execution["executionArn"], execution["status"]
        if run._execution_status.get(arn) == status:
            continue
        run._execution_status[arn] = status
        if execution["type"] != "STANDARD":
            continue
        emit_event(run, status_event(run.backend, execution))
        emitted += 1
    return emitted


def emit_event(run: LocalRun, event: dict[str, Any]) -> None:
    # moto's TestEventPattern is not implemented; its rule matcher is, in process.
    from moto.events.models import EventPattern

    events = run.backend.client("events")
    for rule in events.list_rules().get("Rules", []):
        if not rule.get("EventPattern"):
            continue
        if not EventPattern.load(rule["EventPattern"]).matches_event(event):  # type: ignore[arg-type]
            continue
        for target in events.list_targets_by_rule(Rule=rule["Name"]).get("Targets", []):
            deliver_event(run, rule["Name"], target, event)


def deliver_event(run: LocalRun, rule: str, target: dict[str, Any], event: dict[str, Any]) -> None:
    """One EventBridge delivery: to a function (an async invoke) or a queue. A target that
    cannot take it (its function or queue is gone) fails every retry of its policy; then the
    event goes to the target's dead-letter queue, or is dropped (``dropped_events``)."""
    payload = json.loads(target["Input"]) if target.get("Input") else event
    try:
        if ":lambda:" in target["Arn"]:
            run.backend.lambda_function(target["Arn"].split(":")[6])
            run.invoke_async(target["Arn"], payload)
        elif ":sqs:" in target["Arn"]:
            run._send(target["Arn"], dumps(payload), None)
        return
    except Exception as error:
        failure = f"{type(error).__name__}: {error}"
    dead_letter = (target.get("DeadLetterConfig") or {}).get("Arn")
    if dead_letter:
        run._send(dead_letter, dumps(event), None)
    else:
        run.dropped_events.append({"rule": rule, "target": target["Arn"], "event": event, "error": failure})


def status_event(backend: Backend, execution: dict[str, Any]) -> dict[str, Any]:
    described = backend.client("stepfunctions").describe_execution(executionArn=execution["executionArn"])

    def millis(value: Any) -> int | None:
        return int(value.timestamp() * 1000) if value is not None else None

    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Step Functions Execution Status Change",
        "source": "aws.states",
        "account": backend.account_id,
        "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(backend.clock.now())),
        "region": backend.region,
        "resources": [execution["executionArn"]],
        "detail": {
            "executionArn": execution["executionArn"],
            "stateMachineArn": execution["stateMachineArn"],
            "name": execution["name"],
            "status": described["status"],
            "startDate": millis(described.get("startDate")),
            "stopDate": millis(described.get("stopDate")),
            "input": described.get("input"),
            "output": described.get("output"),
            "error": described.get("error"),
            "cause": described.get("cause"),
        },
    }


def refusals(graph: Graph) -> dict[str, str]:
    """Resources of the graph that AWS refuses to create though moto accepts them, with the reason."""
    found = {}
    for machine in graph.of_type("aws:sfn/stateMachine:StateMachine"):
        definition = machine.inputs.get("definition")
        text = definition if isinstance(definition, str) else json.dumps(definition)
        patterns = sorted({p for p in (".waitForTaskToken", ".sync") if f'{p}"' in text or f"{p}:" in text})
        if machine.inputs.get("type") == "EXPRESS" and patterns:
            found[machine.urn] = (
                "an EXPRESS state machine may use Request Response integrations only; "
                f"this one uses {', '.join(patterns)} (CreateStateMachine refuses it)"
            )
    return found
