"""Notes the plan prints under a resource: what a reviewer must read next to its settings.

- A function with tenant isolation: the mode is fixed when the function is created
  (``aws_facts.LAMBDA_TENANCY_IMMUTABLE``), so a change of it is a replacement.
- An Operations component: each service level objective of each front door, with the composite
  alarms that page and open a ticket, and the windows each one combines.
"""

from __future__ import annotations

from typing import Any

from .. import aws_facts

__all__ = ["note_label", "plan_notes"]


def plan_notes(node: dict[str, Any]) -> list[str]:
    """The notes of one plan node (``plan._node``'s dict, settings already extracted)."""
    notes: list[str] = []
    mode = node["settings"].get("tenant_isolation")
    if mode:
        notes.append(
            f"tenant isolation {mode} is fixed at creation: AWS cannot change it on an existing function, so "
            "turning it on or off replaces the function (new versions, aliases and warm environments; its "
            f"mappings and permissions are made again) ({aws_facts.LAMBDA_TENANCY_IMMUTABLE.source})"
        )
    for row in node.get("objectives") or []:
        notes.append(
            f"objective {row['front_door']}: {row['objective']}; pages {row['page']} when {row['page_when']}; "
            f"opens a ticket {row['ticket']} when {row['ticket_when']}"
        )
    return notes


def note_label(note: str) -> str:
    """A note as the plan's tree prints it."""
    from rich.markup import escape  # noqa: PLC0415 (rich only where the plan is printed)

    return f"[bold yellow]note[/] {escape(note)}"
