"""What a stack's defaults buy under overload, simulated from its captured graph.

``simulate(graph, load)`` builds the model of every front-door route (``model.build_model``),
runs it under a load shape (``load.parse_load`` / ``load.parse_arrivals``) with SimPy
(``engine.run``) and summarises goodput, 429s, waste, latency, backlog age, DLQ arrivals, TTL
drops and cost (``report.summarise``); with ``baseline="naive"`` the same stack without its
defenses runs beside it under the key ``naive``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .load import Load, parse_arrivals, parse_load
from .model import Assumptions, StackModel, build_model, naive

if TYPE_CHECKING:
    from ..offline import Graph

__all__ = [
    "Assumptions",
    "Load",
    "StackModel",
    "build_model",
    "naive",
    "parse_arrivals",
    "parse_load",
    "simulate",
    "simulate_model",
]


def simulate_model(model: StackModel, load: Load, series: bool = True) -> dict[str, Any]:
    from .engine import run  # noqa: PLC0415 (simpy only when a run is asked for)
    from .report import summarise  # noqa: PLC0415

    return summarise(run(model, load), series=series)


def simulate(
    graph: Graph,
    load: Load,
    *,
    assumptions: Assumptions | None = None,
    region: str = "us-east-1",
    baseline: str | None = None,
    series: bool = True,
) -> dict[str, Any]:
    """The run's numbers; with ``baseline="naive"`` the naive run's under ``"naive"``."""
    model = build_model(graph, assumptions, region)
    doc = simulate_model(model, load, series)
    if baseline == "naive":
        doc["naive"] = simulate_model(naive(model), load, series)
    return doc
