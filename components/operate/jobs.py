"""``resilient-serverless jobs redrive``: restart the failed executions of a stack's Standard
workflows from the state that failed (Step Functions ``RedriveExecution``).

AWS redrives a Standard execution that FAILED, TIMED_OUT or was ABORTED up to 14 days after it
stopped. Express executions are not redrivable (no execution history is kept; AWS refuses
``RedriveExecution`` for them): the command says so per Express workflow instead of skipping it
silently.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from .. import defaults
from .stack import OperateError, StackInventory, StateMachine

__all__ = ["parse_since", "redrive_jobs"]

Write = Callable[[str], None]
REDRIVABLE_STATUSES = ("FAILED", "TIMED_OUT", "ABORTED")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86_400}


def parse_since(text: str | None) -> int:
    """``--since`` (``90m``, ``1h``, ``14d``) in seconds, at most the 14 days AWS redrives."""
    if text is None:
        return defaults.JOBS_REDRIVE_SINCE_S
    match = re.fullmatch(r"\s*(\d+)\s*([smhd])\s*", text)
    seconds = int(match[1]) * _UNITS[match[2]] if match else 0
    if not 0 < seconds <= defaults.JOBS_REDRIVE_WINDOW_MAX_S:
        raise OperateError(
            f"--since={text!r} must be a duration such as 90m, 1h or 2d, above 0 and at most 14d "
            "(Step Functions redrives an execution up to 14 days after it stopped)"
        )
    return seconds


def _failed(sfn: Any, machine: StateMachine, since: datetime) -> Iterator[dict[str, Any]]:
    pages = sfn.get_paginator("list_executions")
    for status in REDRIVABLE_STATUSES:
        for page in pages.paginate(stateMachineArn=machine.arn, statusFilter=status):
            for execution in page.get("executions", []):
                stopped = execution.get("stopDate")
                if stopped is not None and stopped >= since:
                    yield execution


def redrive_jobs(
    inventory: StackInventory,
    sfn: Any,
    write: Write,
    *,
    since_s: int = defaults.JOBS_REDRIVE_SINCE_S,
    dry_run: bool = False,
    now: datetime | None = None,
) -> int:
    if not inventory.state_machines:
        raise OperateError(f"stack {inventory.stack!r} has no Step Functions workflow")
    since = (now or datetime.now(UTC)) - timedelta(seconds=since_s)
    redriven = refused = 0
    for machine in inventory.state_machines:
        if machine.type == "EXPRESS":
            write(
                f"{machine.name} ({machine.component}): EXPRESS, not redrivable: AWS keeps no execution "
                "history to resume from; find failures in its log group and submit those jobs again"
            )
            continue
        found = sorted(_failed(sfn, machine, since), key=lambda e: e["stopDate"])
        write(
            f"{machine.name} ({machine.component}): {len(found)} failed execution(s) since {since:%Y-%m-%dT%H:%M:%SZ}"
        )
        for execution in found:
            label = f"  {execution['name']} {execution['status']} at {execution['stopDate']:%Y-%m-%dT%H:%M:%SZ}"
            if dry_run:
                write(f"{label}: would redrive")
                continue
            try:
                sfn.redrive_execution(executionArn=execution["executionArn"])
            except sfn.exceptions.ClientError as error:
                refused += 1
                info = error.response.get("Error", {})
                write(f"{label}: not redriven: {info.get('Code')}: {info.get('Message')}")
                continue
            redriven += 1
            write(f"{label}: redriven")
    if dry_run:
        write("dry run: nothing redriven")
    else:
        write(f"{redriven} redriven, {refused} refused")
    return 1 if refused else 0
