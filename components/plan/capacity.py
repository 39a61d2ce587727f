"""The plan's capacity table: per path, what the front door admits, the concurrency that needs by
Little's law against what is reserved, how long Lambda takes to absorb a stated burst, how long
a stated backlog takes to drain, and which limit is hit first.

Figures come from the captured graph (ThrottledApi's route summaries, mappings, functions,
provisioned concurrency) and three stated assumptions (``Assumptions``), so the same numbers
show in the plan, in tests and in the README's worked example.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..offline import CapturedResource, Graph

__all__ = [
    "LAMBDA_SCALING_STEP",
    "LAMBDA_SCALING_WINDOW_S",
    "Assumptions",
    "capacity_table",
    "drain_time_s",
    "scale_up_time_s",
]

LAMBDA_SCALING_STEP = 1000
"""Lambda adds up to 1,000 execution environments per function ..."""
LAMBDA_SCALING_WINDOW_S = 10
"""... every 10 seconds (the scaling rate since November 2023, per function)."""


@dataclass(frozen=True)
class Assumptions:
    """What the plan is asked about. Defaults: a burst of 1,000 requests per second, a backlog
    of 100,000 messages, 100 ms of work per queued message."""

    burst_rps: float = 1000.0
    backlog_messages: int = 100_000
    message_ms: float = 100.0


def scale_up_time_s(environments: float) -> int:
    """Seconds within which Lambda has ``environments`` new execution environments running:
    up to 1,000 in each 10-second window."""
    if environments <= 0:
        return 0
    return math.ceil(environments / LAMBDA_SCALING_STEP) * LAMBDA_SCALING_WINDOW_S


def drain_time_s(backlog: int, max_concurrency: int, message_ms: float, inflow_rps: float = 0.0) -> float | None:
    """Seconds to drain ``backlog`` messages with ``max_concurrency`` consumers each taking
    ``message_ms`` per message while ``inflow_rps`` more arrive; None when it never drains."""
    rate = max_concurrency * 1000 / message_ms
    if rate <= inflow_rps:
        return None
    return backlog / (rate - inflow_rps)


@dataclass(frozen=True)
class PathCapacity:
    path: str
    target: str
    admitted_rps: float
    expected_latency_ms: float | None
    concurrency_needed: float | None
    reserved: int | str | None
    provisioned: int
    burst_rps: float
    burst_concurrency: float | None
    burst_absorbed_within_s: int | None
    drain_rps: float | None
    backlog_drain_s: float | None
    first_limit: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _function_by_name(graph: Graph, physical: str) -> CapturedResource | None:
    for fn in graph.of_type("aws:lambda/function:Function"):
        if fn.outputs.get("name") == physical:
            return fn
    return None


def _provisioned(graph: Graph, physical: str) -> int:
    return sum(
        int(p.inputs.get("provisionedConcurrentExecutions") or 0)
        for p in graph.of_type("aws:lambda/provisionedConcurrencyConfig:ProvisionedConcurrencyConfig")
        if p.inputs.get("functionName") == physical
    )


def _sync_row(graph: Graph, route: dict[str, Any], a: Assumptions) -> PathCapacity:
    rate = float(route["rate"])
    latency = float(route["expected_latency_ms"])
    reserved = route.get("concurrency_limit")
    function = route["target"].split(" ")[1]
    fn = next((f for f in graph.of_type("aws:lambda/function:Function") if f.name == f"{function}-function"), None)
    physical = fn.outputs.get("name") if fn else None
    provisioned = _provisioned(graph, physical) if physical else 0
    offered = min(a.burst_rps, rate)  # the edge turns away the rest with 429
    burst_concurrency = offered * latency / 1000
    limits = [(rate, f"route throttle {rate:g} rps (429 at the edge)")]
    if isinstance(reserved, int):
        limits.append(
            (reserved * 1000 / latency, f"reserved concurrency {reserved} at {reserved * 1000 / latency:g} rps")
        )
    limit_rps, limit = min(limits)
    first = limit if a.burst_rps >= limit_rps else f"none below {a.burst_rps:g} rps (next: {limit})"
    return PathCapacity(
        path=route["route"],
        target=route["target"],
        admitted_rps=rate,
        expected_latency_ms=latency,
        concurrency_needed=round(rate * latency / 1000, 2),
        reserved=reserved if reserved is not None else "unreserved",
        provisioned=provisioned,
        burst_rps=a.burst_rps,
        burst_concurrency=round(burst_concurrency, 2),
        burst_absorbed_within_s=scale_up_time_s(
            min(burst_concurrency, reserved if isinstance(reserved, int) else burst_concurrency) - provisioned
        ),
        drain_rps=None,
        backlog_drain_s=None,
        first_limit=first,
    )


def _queue_of(graph: Graph, route: dict[str, Any]) -> CapturedResource | None:
    """The queue a queue route sends to; its summary reads ``queue <name>`` (`` (FIFO)`` after)."""
    queue_name = str(route["target"]).split(" ", 1)[1].removesuffix(" (FIFO)")
    return next((q for q in graph.of_type("aws:sqs/queue:Queue") if q.name == queue_name), None)


def _mapping_of(graph: Graph, queue: CapturedResource | None) -> CapturedResource | None:
    if queue is None or queue.outputs.get("arn") is None:
        return None
    return next(
        (
            m
            for m in graph.of_type("aws:lambda/eventSourceMapping:EventSourceMapping")
            if m.inputs.get("eventSourceArn") == queue.outputs.get("arn")
        ),
        None,
    )


NO_CONSUMER = "no consumer in this program"


def _queue_path(route: dict[str, Any], a: Assumptions, **row: Any) -> PathCapacity:
    """A queue route's row: the front door admits the route's rate, the client waits for no
    function, and the queue absorbs a burst at once (its consumer, if any, sets the pace)."""
    return PathCapacity(
        path=route["route"],
        admitted_rps=float(route["rate"]),
        expected_latency_ms=None,
        provisioned=0,
        burst_rps=a.burst_rps,
        burst_concurrency=None,
        burst_absorbed_within_s=None,
        **row,
    )


def _unconsumed_queue_row(route: dict[str, Any], a: Assumptions) -> PathCapacity:
    """A queue nobody in this program drains (a plain ``aws.sqs.Queue``, a consumer elsewhere):
    the front door's throttle is the only capacity the plan can state; the drain is unknown."""
    rate = float(route["rate"])
    if a.burst_rps >= rate:
        first = f"route throttle {rate:g} rps (429 at the edge); the queue's drain is {NO_CONSUMER}"
    else:
        first = f"none below {a.burst_rps:g} rps (next: route throttle {rate:g} rps); {NO_CONSUMER}"
    return _queue_path(
        route,
        a,
        target=f"{route['target']} -> {NO_CONSUMER}",
        concurrency_needed=None,
        reserved=NO_CONSUMER,
        drain_rps=None,
        backlog_drain_s=None,
        first_limit=first,
    )


def _queue_row(graph: Graph, route: dict[str, Any], a: Assumptions) -> PathCapacity:
    rate = float(route["rate"])
    mapping = _mapping_of(graph, _queue_of(graph, route))
    if mapping is None:
        return _unconsumed_queue_row(route, a)
    concurrency = int((mapping.inputs.get("scalingConfig") or {}).get("maximumConcurrency") or 1000)
    drain_rps = concurrency * 1000 / a.message_ms
    drain = drain_time_s(a.backlog_messages, concurrency, a.message_ms)
    offered = min(a.burst_rps, rate)
    if offered > drain_rps:
        first = (
            f"mapping max concurrency {concurrency} drains {drain_rps:g} msg/s < {offered:g} rps admitted: "
            f"the backlog grows {offered - drain_rps:g} msg/s (the age alarm and deferral take over)"
        )
    elif a.burst_rps >= rate:
        first = f"route throttle {rate:g} rps (429 at the edge)"
    else:
        first = f"none below {a.burst_rps:g} rps (next: route throttle {rate:g} rps)"
    return _queue_path(
        route,
        a,
        target=f"{route['target']} -> {mapping.inputs.get('functionName')}",
        concurrency_needed=round(min(offered, drain_rps) * a.message_ms / 1000, 2),
        reserved=f"mapping {concurrency}",
        drain_rps=drain_rps,
        backlog_drain_s=round(drain, 1) if drain is not None else None,
        first_limit=first,
    )


def capacity_table(graph: Graph, assumptions: Assumptions | None = None) -> list[dict[str, Any]]:
    """One row per route of every ThrottledApi in the graph."""
    a = assumptions or Assumptions()
    rows = []
    for api in graph.of_type("ThrottledApi"):
        for route in graph.outputs_of(api).get("routes", []):
            if "expected_latency_ms" in route:
                rows.append(_sync_row(graph, route, a).to_dict())
            elif str(route["target"]).startswith("queue "):
                rows.append(_queue_row(graph, route, a).to_dict())
    return rows
