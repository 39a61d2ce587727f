"""EventBridge: every target has a retry policy and a dead-letter queue."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from .. import aws_facts
from .common import EVENT_TARGET
from .registry import rule

if TYPE_CHECKING:
    from ..offline import CapturedResource, Graph


@rule(
    "eventbridge-target-dead-letter",
    "error",
    (EVENT_TARGET,),
    "An EventBridge target has a retry policy and a dead-letter queue",
    needs_graph=False,
)
def eventbridge_target_dead_letter(target: CapturedResource, graph: Graph) -> Iterator[str]:
    attempts = int(aws_facts.quota("eventbridge_default_retry_attempts"))
    if not (target.inputs.get("deadLetterConfig") or {}).get("arn"):
        yield (
            "no dead-letter queue: an event the target cannot take is dropped after the retry policy "
            f"(by default {attempts} attempts over 24 h), unseen"
        )
    if not target.inputs.get("retryPolicy"):
        yield (
            f"no retry policy: the 24 h, {attempts}-attempt default applies silently; bound it (maximum event age, "
            "attempts)"
        )
