"""The plan's capacity and cost tables, as JSON and as terminal tables, and the comparison of
two stacks (``resilient-serverless plan --compare staging prod``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .capacity import Assumptions, capacity_table
from .cost import CostAssumptions, compare_costs, cost_table

if TYPE_CHECKING:
    from rich.console import Console

    from ..offline import Graph

__all__ = ["operations_report", "render_comparison", "render_operations"]


def operations_report(
    graph: Graph, region: str, assumptions: Assumptions | None = None, cost: CostAssumptions | None = None
) -> dict[str, Any]:
    a = assumptions or Assumptions()
    return {
        "assumptions": {"burst_rps": a.burst_rps, "backlog_messages": a.backlog_messages, "message_ms": a.message_ms},
        "capacity": capacity_table(graph, a),
        "cost": cost_table(graph, region, cost),
    }


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.2f}".rstrip("0").rstrip(".")
    return str(value)


def render_operations(report: dict[str, Any], console: Console) -> None:
    from rich.table import Table  # noqa: PLC0415

    a = report["assumptions"]
    capacity = Table(
        title=(
            f"capacity (burst {a['burst_rps']:g} rps, backlog {a['backlog_messages']:,} messages, "
            f"{a['message_ms']:g} ms a message)"
        ),
        header_style="bold",
    )
    columns = [
        ("path", "path"),
        ("admitted rps", "admitted_rps"),
        ("latency ms", "expected_latency_ms"),
        ("concurrency needed", "concurrency_needed"),
        ("reserved", "reserved"),
        ("provisioned", "provisioned"),
        ("burst concurrency", "burst_concurrency"),
        ("scaled within s", "burst_absorbed_within_s"),
        ("drain msg/s", "drain_rps"),
        ("backlog drained in s", "backlog_drain_s"),
        ("first limit hit", "first_limit"),
    ]
    for title, _ in columns:
        capacity.add_column(title, overflow="fold")
    for row in report["capacity"]:
        capacity.add_row(*[_fmt(row[key]) for _, key in columns])
    console.print(capacity)

    cost = report["cost"]
    table = Table(
        title=f"cost of resilience, {cost['region']}, {cost['currency']} a month (prices as of {cost['as_of']})",
        header_style="bold",
    )
    for title in ("item", "quantity", "unit price", "monthly", "basis"):
        table.add_column(title, overflow="fold")
    for row in cost["rows"]:
        table.add_row(
            row["item"], _fmt(row["quantity"]), f"{row['unit_price']:g}", f"{row['monthly_usd']:.2f}", row["basis"]
        )
    table.add_row("[bold]total[/]", "", "", f"[bold]{_fmt(cost['total_usd'])}[/]", cost.get("note", ""))
    console.print(table)
    console.print(f"[dim]prices: prices.toml as of {cost['as_of']}; sources: {'; '.join(cost['sources'])}[/]")


def comparison(a_name: str, a: dict[str, Any], b_name: str, b: dict[str, Any]) -> dict[str, Any]:
    return {
        "stacks": [a_name, b_name],
        "regions": [a["cost"]["region"], b["cost"]["region"]],
        "as_of": a["cost"]["as_of"],
        "rows": compare_costs(a["cost"], b["cost"]),
    }


def render_comparison(doc: dict[str, Any], console: Console) -> None:
    from rich.table import Table  # noqa: PLC0415

    a_name, b_name = doc["stacks"]
    table = Table(
        title=f"cost of resilience: {a_name} vs {b_name}, USD a month (prices as of {doc['as_of']})",
        header_style="bold",
    )
    for title in ("item", a_name, b_name, f"{b_name} - {a_name}"):
        table.add_column(title)
    for row in doc["rows"]:
        table.add_row(row["item"], f"{row['a']:.2f}", f"{row['b']:.2f}", f"{row['difference']:+.2f}")
    console.print(table)
