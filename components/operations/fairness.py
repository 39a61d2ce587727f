"""The dashboard's view of SQS fair queues: for each queue a front door sends tenants to (a route
with ``tenant``), how many tenants SQS treats as noisy and how the quiet ones fare
(``aws_facts.SQS_FAIR_QUEUE_METRICS``). A quiet tenants' oldest age that stays low while the
queue's overall age climbs is fair queues working; both climbing means the consumers are short."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .. import aws_facts
from .widgets import Context

if TYPE_CHECKING:
    from ..throttled_api import ThrottledApi

__all__ = ["fair_queue_widgets"]

NOISY, VISIBLE_QUIET, _, _, OLDEST_QUIET = aws_facts.SQS_FAIR_QUEUE_METRICS.value


def fair_queue_widgets(api: ThrottledApi, ctx: Context) -> list[dict[str, Any]]:
    """One widget per queue that carries tenants of ``api``'s routes (each queue once)."""
    widgets: list[dict[str, Any]] = []
    seen: set[int] = set()
    for route in api.routes:
        queue = route.queue
        if route.tenant is None or queue is None or id(queue) in seen:
            continue
        seen.add(id(queue))
        widgets.append(
            ctx.metric(
                f"{route.key}: fair queue by {route.tenant} (noisy tenants, quiet tenants' backlog and age)",
                [
                    ["AWS/SQS", NOISY, "QueueName", queue.name],
                    ["AWS/SQS", VISIBLE_QUIET, "QueueName", queue.name],
                    ["AWS/SQS", OLDEST_QUIET, "QueueName", queue.name],
                    ["AWS/SQS", "ApproximateAgeOfOldestMessage", "QueueName", queue.name],
                ],
                stat="Maximum",
            )
        )
    return widgets
