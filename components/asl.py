"""Amazon States Language from code: typed builders for the states this package emits, and the
checks every definition must pass before it reaches AWS.

Step Functions accepts a definition only at ``CreateStateMachine`` time, and pulumi-aws passes the
string through unchecked, so a typo in a hand-written JSON string surfaces as a failed ``up``. Here a
definition is a dict built by functions, checked by ``problems_in`` (our resilience bar: every Task
has ``TimeoutSeconds``, a ``Retry`` with backoff, jitter and a maximum delay, and a ``Catch``; a
callback task has ``HeartbeatSeconds``; the execution has a ``TimeoutSeconds``), and by
``ASL_SCHEMA`` (the structure the specification defines), before it is serialised.

Values may be ``pulumi.Output`` (function ARNs, table names): serialise with
``pulumi.Output.json_dumps`` or ``to_json`` below.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

__all__ = [
    "ASL_SCHEMA",
    "CALLBACK_SUFFIX",
    "LOG_DELIVERY_ACTIONS",
    "LOG_LEVELS",
    "PROBLEM_KINDS",
    "RetryPolicy",
    "catch",
    "classified_problems",
    "fail",
    "heartbeat_problem",
    "pass_state",
    "problems_in",
    "state_machine",
    "succeed",
    "summary",
    "task",
    "tasks_of",
]

CALLBACK_SUFFIX: Final = ".waitForTaskToken"
# Logging a state machine to CloudWatch Logs goes through vended log delivery, whose actions AWS
# grants on "*" only (Step Functions developer guide, "IAM policies for logging to CloudWatch
# Logs"): the one documented exception to iam-no-wildcards.
LOG_DELIVERY_ACTIONS: Final = (
    "logs:CreateLogDelivery",
    "logs:DeleteLogDelivery",
    "logs:DescribeLogGroups",
    "logs:DescribeResourcePolicies",
    "logs:GetLogDelivery",
    "logs:ListLogDeliveries",
    "logs:PutResourcePolicy",
    "logs:UpdateLogDelivery",
)
LOG_LEVELS: Final = ("ALL", "ERROR", "FATAL")  # OFF is refused: an Express execution would leave no trace
JITTER_STRATEGIES: Final = ("FULL", "NONE")
# https://docs.aws.amazon.com/step-functions/latest/dg/amazon-states-language-task-state.html
TASK_TIMEOUT_RANGE: Final[tuple[int, int]] = (1, 99_999_999)
# Standard workflows run up to a year; Express five minutes.
STANDARD_EXECUTION_MAX_S: Final = 31_536_000
EXPRESS_EXECUTION_MAX_S: Final = 300


@dataclass(frozen=True)
class RetryPolicy:
    """One ``Retry`` entry: full jitter, exponential backoff, a cap on each delay."""

    errors: tuple[str, ...]
    interval_s: int
    max_attempts: int
    backoff_rate: float
    max_delay_s: int

    def to_asl(self) -> dict[str, Any]:
        return {
            "ErrorEquals": list(self.errors),
            "IntervalSeconds": self.interval_s,
            "MaxAttempts": self.max_attempts,
            "BackoffRate": self.backoff_rate,
            "MaxDelaySeconds": self.max_delay_s,
            "JitterStrategy": "FULL",
        }


def catch(errors: Sequence[str], next_state: str, result_path: str = "$.error") -> dict[str, Any]:
    """A ``Catch`` entry: ``errors`` go to ``next_state`` with the error under ``result_path``."""
    return {"ErrorEquals": list(errors), "Next": next_state, "ResultPath": result_path}


def task(
    resource: Any,
    *,
    timeout_s: int,
    retry: Sequence[RetryPolicy],
    catches: Sequence[Mapping[str, Any]],
    next_state: str | None = None,
    parameters: Mapping[str, Any] | None = None,
    result_selector: Mapping[str, Any] | None = None,
    result_path: str | None = "$",
    heartbeat_s: int | None = None,
    comment: str | None = None,
) -> dict[str, Any]:
    """A Task state. ``next_state`` None ends the execution here."""
    state: dict[str, Any] = {"Type": "Task", "Resource": resource, "TimeoutSeconds": timeout_s}
    if comment:
        state["Comment"] = comment
    if heartbeat_s is not None:
        state["HeartbeatSeconds"] = heartbeat_s
    if parameters is not None:
        state["Parameters"] = dict(parameters)
    if result_selector is not None:
        state["ResultSelector"] = dict(result_selector)
    state["ResultPath"] = result_path
    state["Retry"] = [r.to_asl() for r in retry]
    state["Catch"] = [dict(c) for c in catches]
    _link(state, next_state)
    return state


def pass_state(
    next_state: str | None, *, result: Any = None, result_path: str | None = None, parameters: Any = None
) -> dict[str, Any]:
    state: dict[str, Any] = {"Type": "Pass"}
    if parameters is not None:
        state["Parameters"] = parameters
    if result is not None:
        state["Result"] = result
    if result_path is not None:
        state["ResultPath"] = result_path
    _link(state, next_state)
    return state


def succeed(comment: str | None = None) -> dict[str, Any]:
    return {"Type": "Succeed", **({"Comment": comment} if comment else {})}


def fail(error: str, cause: str) -> dict[str, Any]:
    return {"Type": "Fail", "Error": error, "Cause": cause}


def state_machine(start_at: str, states: Mapping[str, Mapping[str, Any]], *, timeout_s: int, comment: str) -> dict:
    """The whole definition: ``TimeoutSeconds`` bounds the execution, whatever its states do."""
    return {"Comment": comment, "StartAt": start_at, "TimeoutSeconds": timeout_s, "States": dict(states)}


def _link(state: dict[str, Any], next_state: str | None) -> None:
    if next_state is None:
        state["End"] = True
    else:
        state["Next"] = next_state


# --- checks ---------------------------------------------------------------------------------------
def tasks_of(definition: Mapping[str, Any]) -> Iterator[tuple[str, Mapping[str, Any]]]:
    """Every Task state, nested Parallel branches and Map iterators included."""
    for name, state in (definition.get("States") or {}).items():
        if not isinstance(state, Mapping):
            continue
        if state.get("Type") == "Task":
            yield name, state
        for branch in state.get("Branches") or []:
            yield from tasks_of(branch)
        for key in ("Iterator", "ItemProcessor"):
            if isinstance(state.get(key), Mapping):
                yield from tasks_of(state[key])


def heartbeat_problem(heartbeat_s: int, timeout_s: int) -> str | None:
    """Why ``heartbeat_s`` cannot guard a task bounded by ``timeout_s`` (a message fragment), or
    None. The one check for every callback wait (the job worker, the push wait): a heartbeat equal
    to the timeout never fires before it, so a lost worker is noticed only at the timeout."""
    if heartbeat_s >= timeout_s:
        return (
            f"a heartbeat of {heartbeat_s} s is not below the timeout of {timeout_s} s, so a lost callback "
            "parks the execution until the timeout"
        )
    return None


def _retry_problems(name: str, retries: Any) -> Iterator[str]:
    if not retries:
        yield f"state {name!r} has no Retry: a transient error fails the job"
        return
    for i, retry in enumerate(retries):
        where = f"state {name!r} Retry[{i}]"
        if not isinstance(retry.get("BackoffRate"), int | float) or retry["BackoffRate"] <= 1:
            yield f"{where} has BackoffRate={retry.get('BackoffRate')!r}: retries need a backoff above 1"
        if retry.get("JitterStrategy") != "FULL":
            yield f"{where} has JitterStrategy={retry.get('JitterStrategy')!r}: retries in step need 'FULL' jitter"
        if not retry.get("MaxDelaySeconds"):
            yield f"{where} has no MaxDelaySeconds: the backoff grows without a cap"
        if not 0 < (retry.get("MaxAttempts", 3) or 0) <= 10:
            yield f"{where} has MaxAttempts={retry.get('MaxAttempts')!r}, outside 1 to 10"


def _transition_problems(states: Mapping[str, Any]) -> Iterator[str]:
    for name, state in states.items():
        for key in ("Next", "Default"):
            if key in state and state[key] not in states:
                yield f"state {name!r} {key}={state[key]!r} names no state"
        for c in state.get("Catch") or []:
            if c.get("Next") not in states:
                yield f"state {name!r} Catch Next={c.get('Next')!r} names no state"


def _task_problems(name: str, state: Mapping[str, Any], limit: int) -> Iterator[tuple[str, str]]:
    task_timeout = state.get("TimeoutSeconds")
    if not isinstance(task_timeout, int) or not TASK_TIMEOUT_RANGE[0] <= task_timeout <= limit:
        yield "task_timeout", f"state {name!r} has TimeoutSeconds={task_timeout!r}: every Task needs 1 to {limit} s"
    for problem in _retry_problems(name, state.get("Retry")):
        yield "retry", problem
    if not state.get("Catch"):
        yield "catch", f"state {name!r} has no Catch: a failure ends the execution without recording it"
    if str(state.get("Resource", "")).endswith(CALLBACK_SUFFIX):
        heartbeat = state.get("HeartbeatSeconds")
        guarded = (
            isinstance(heartbeat, int)
            and heartbeat >= 1
            and isinstance(task_timeout, int)
            and heartbeat_problem(heartbeat, task_timeout) is None
        )
        if not guarded:
            yield (
                "heartbeat",
                f"state {name!r} waits for a task token with HeartbeatSeconds={heartbeat!r}: it needs a "
                "heartbeat below its TimeoutSeconds, or a lost callback parks the execution until the timeout",
            )


PROBLEM_KINDS: Final = ("execution_timeout", "transition", "task_timeout", "retry", "catch", "heartbeat")


def classified_problems(definition: Mapping[str, Any], *, express: bool = False) -> list[tuple[str, str]]:
    """``(kind, message)`` for each problem; kinds in ``PROBLEM_KINDS`` (one rule each)."""
    out: list[tuple[str, str]] = []
    states = definition.get("States") or {}
    limit = EXPRESS_EXECUTION_MAX_S if express else STANDARD_EXECUTION_MAX_S
    timeout = definition.get("TimeoutSeconds")
    if not isinstance(timeout, int) or not 0 < timeout <= limit:
        message = (
            f"TimeoutSeconds={timeout!r} must bound the execution: 1 to {limit} s "
            f"({'Express' if express else 'Standard'} workflow)"
        )
        out.append(("execution_timeout", message))
    if definition.get("StartAt") not in states:
        out.append(("transition", f"StartAt={definition.get('StartAt')!r} names no state"))
    out.extend(("transition", m) for m in _transition_problems(states))
    for name, state in tasks_of(definition):
        out.extend(_task_problems(name, state, limit))
    return out


def problems_in(definition: Mapping[str, Any], *, express: bool = False) -> list[str]:
    """What is wrong with ``definition`` against this package's bar; empty when it passes."""
    return [message for _, message in classified_problems(definition, express=express)]


def summary(definition: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Each Task with its timeout, heartbeat, retries and where its errors go (for the plan)."""
    rows = []
    for name, state in tasks_of(definition):
        retry = (state.get("Retry") or [{}])[0]
        resource = state.get("Resource")
        rows.append(
            {
                "state": name,
                "resource": resource.removeprefix("arn:aws:states:::") if isinstance(resource, str) else "(computed)",
                "timeout_s": state.get("TimeoutSeconds"),
                "heartbeat_s": state.get("HeartbeatSeconds"),
                "retries": retry.get("MaxAttempts"),
                "max_delay_s": retry.get("MaxDelaySeconds"),
                "catch": [c.get("Next") for c in state.get("Catch") or []],
            }
        )
    return rows


def to_json(definition: Mapping[str, Any]) -> str:
    """Serialise a definition without Outputs (tests, the plan)."""
    return json.dumps(definition, sort_keys=True)


# --- the structure the specification defines (https://states-language.net/spec.html) ----------
_RETRY = {
    "type": "object",
    "required": ["ErrorEquals"],
    "additionalProperties": False,
    "properties": {
        "ErrorEquals": {"type": "array", "minItems": 1, "items": {"type": "string"}},
        "IntervalSeconds": {"type": "integer", "minimum": 1},
        "MaxAttempts": {"type": "integer", "minimum": 0},
        "BackoffRate": {"type": "number", "minimum": 1},
        "MaxDelaySeconds": {"type": "integer", "minimum": 1},
        "JitterStrategy": {"enum": list(JITTER_STRATEGIES)},
        "Comment": {"type": "string"},
    },
}
_CATCH = {
    "type": "object",
    "required": ["ErrorEquals", "Next"],
    "additionalProperties": False,
    "properties": {
        "ErrorEquals": {"type": "array", "minItems": 1, "items": {"type": "string"}},
        "Next": {"type": "string"},
        "ResultPath": {"type": ["string", "null"]},
        "Comment": {"type": "string"},
    },
}
_COMMON = {
    "Type": {"type": "string"},
    "Comment": {"type": "string"},
    "InputPath": {"type": ["string", "null"]},
    "OutputPath": {"type": ["string", "null"]},
}
_TRANSITION = {"oneOf": [{"required": ["Next"]}, {"required": ["End"]}]}
_PATHS = {"ResultPath": {"type": ["string", "null"]}, "Parameters": {"type": "object"}}
ASL_SCHEMA: Final[dict[str, Any]] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "required": ["StartAt", "States"],
    "properties": {
        "Comment": {"type": "string"},
        "StartAt": {"type": "string", "minLength": 1},
        "TimeoutSeconds": {"type": "integer", "minimum": 1},
        "Version": {"const": "1.0"},
        "States": {
            "type": "object",
            "minProperties": 1,
            "propertyNames": {"maxLength": 80},
            "additionalProperties": {"$ref": "#/$defs/state"},
        },
    },
    "additionalProperties": False,
    "$defs": {
        "state": {
            "type": "object",
            "required": ["Type"],
            "oneOf": [
                {"$ref": "#/$defs/task"},
                {"$ref": "#/$defs/pass"},
                {"$ref": "#/$defs/succeed"},
                {"$ref": "#/$defs/fail"},
            ],
        },
        "task": {
            "type": "object",
            "required": ["Type", "Resource"],
            "properties": {
                **_COMMON,
                **_PATHS,
                "Type": {"const": "Task"},
                "Resource": {"type": "string", "pattern": "^arn:"},
                "TimeoutSeconds": {"type": "integer", "minimum": 1},
                "HeartbeatSeconds": {"type": "integer", "minimum": 1},
                "ResultSelector": {"type": "object"},
                "Retry": {"type": "array", "items": _RETRY},
                "Catch": {"type": "array", "items": _CATCH},
                "Next": {"type": "string"},
                "End": {"const": True},
            },
            "additionalProperties": False,
            **_TRANSITION,
        },
        "pass": {
            "type": "object",
            "properties": {
                **_COMMON,
                **_PATHS,
                "Type": {"const": "Pass"},
                "Result": {},
                "Next": {"type": "string"},
                "End": {"const": True},
            },
            "additionalProperties": False,
            **_TRANSITION,
        },
        "succeed": {
            "type": "object",
            "properties": {**_COMMON, "Type": {"const": "Succeed"}},
            "additionalProperties": False,
        },
        "fail": {
            "type": "object",
            "properties": {
                "Type": {"const": "Fail"},
                "Comment": {"type": "string"},
                "Error": {"type": "string"},
                "Cause": {"type": "string"},
            },
            "additionalProperties": False,
        },
    },
}
