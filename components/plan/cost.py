"""The plan's cost of resilience: the fixed monthly cost of each stack's resilience features,
from the dated, region-aware price table ``prices.toml`` (its date and sources travel with every
table), so a reviewer sees what a stack's safety costs before ``pulumi up``.

Counted from the captured graph: provisioned concurrency (environments x memory x hours), canary
runs (from the schedule), dashboards, metric and composite alarms, custom metrics made by metric
filters, WAF web ACLs and rules, Contributor Insights rules, and PITR on tables (at a stated table
size). Usage-driven charges (requests, log ingestion, matched log events) are not fixed and are
left out, except a PriorityQueuePair's dedup store, a resilience feature paid per use: its
request units at a stated number of deferred and dead-lettered messages.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..offline import Graph

__all__ = ["PRICES_FILE", "CostAssumptions", "compare_costs", "cost_table", "load_prices", "runs_per_month"]

PRICES_FILE = Path(__file__).with_name("prices.toml")


@dataclass(frozen=True)
class CostAssumptions:
    """Defaults: every table holds 1 GB (PITR is charged per GB-month); each PriorityQueuePair
    with a dedup store defers or dead-letters 1,000,000 messages a month (each costs the store
    one write and one consistent read request unit)."""

    table_gb: float = 1.0
    diverted_messages: int = 1_000_000


@cache
def load_prices(path: Path = PRICES_FILE) -> dict[str, Any]:
    with path.open("rb") as f:
        return tomllib.load(f)


def runs_per_month(expression: str, hours_per_month: int = 730) -> float:
    """Runs a month of a ``rate(n minute[s]|hour[s])`` schedule; 0 for ``rate(0 minutes)``."""
    match = re.fullmatch(r"rate\((\d+) (minute|minutes|hour|hours)\)", expression.strip())
    if not match:
        raise ValueError(f"schedule {expression!r} is not a rate() expression the cost table can count")
    n, unit = int(match[1]), match[2]
    if n == 0:
        return 0.0
    minutes = n * (60 if unit.startswith("hour") else 1)
    return hours_per_month * 60 / minutes


def _row(item: str, quantity: float, unit: str, unit_price: float, basis: str) -> dict[str, Any]:
    return {
        "item": item,
        "quantity": round(quantity, 4),
        "unit": unit,
        "unit_price": unit_price,
        "monthly_usd": round(quantity * unit_price, 2),
        "basis": basis,
    }


def _provisioned_rows(graph: Graph, p: dict[str, Any], seconds: int) -> list[dict[str, Any]]:
    rows = []
    functions = {f.outputs.get("name"): f for f in graph.of_type("aws:lambda/function:Function")}
    for pc in graph.of_type("aws:lambda/provisionedConcurrencyConfig:ProvisionedConcurrencyConfig"):
        fn = functions.get(pc.inputs.get("functionName"))
        if fn is None:
            continue
        count = int(pc.inputs.get("provisionedConcurrentExecutions") or 0)
        gb = float(fn.inputs.get("memorySize") or 128) / 1024
        arch = (fn.inputs.get("architectures") or ["x86_64"])[0]
        price = p["lambda_provisioned_gb_s"][arch]
        rows.append(
            _row(
                f"provisioned concurrency {fn.outputs.get('name')}",
                count * gb * seconds,
                "GB-s",
                price,
                f"{count} environments x {gb:g} GB x {seconds:,} s ({arch})",
            )
        )
    return rows


def _poller_rows(graph: Graph, p: dict[str, Any], hours: int) -> list[dict[str, Any]]:
    """Provisioned mode on a queue mapping: its minimum pollers are billed every hour, messages or
    not (what scales above the minimum is billed as used: not a fixed cost, not counted)."""
    rows = []
    for mapping in graph.of_type("aws:lambda/eventSourceMapping:EventSourceMapping"):
        config = mapping.inputs.get("provisionedPollerConfig") or {}
        floor = int(config.get("minimumPollers") or 0)
        if floor:
            rows.append(
                _row(
                    f"provisioned pollers {mapping.name}",
                    floor * hours,
                    "poller-hours",
                    p["lambda_event_poller_unit_hour"],
                    f"{floor} minimum pollers x {hours} h, each as one event poller unit (assumed price, prices.toml)",
                )
            )
    return rows


def _metric_filter_metrics(graph: Graph) -> int:
    """Custom metrics metric filters publish: one per value of their dimensions (an API's routes)."""
    total = 0
    for f in graph.of_type("aws:cloudwatch/logMetricFilter:LogMetricFilter"):
        routes = 1
        for api in graph.of_type("ThrottledApi"):
            access = graph.children_of(api, "aws:cloudwatch/logGroup:LogGroup")
            if any(g.outputs.get("name") == f.inputs.get("logGroupName") for g in access):
                routes = max(1, len(graph.outputs_of(api).get("routes", [])))
        total += routes if (f.inputs.get("metricTransformation") or {}).get("dimensions") else 1
    return total


def _alarm_metrics(graph: Graph) -> int:
    """Metric alarms as CloudWatch bills them: per metric an alarm reads (a metric math alarm,
    such as a burn-rate window, pays for each metric of its expression)."""
    total = 0
    for alarm in graph.of_type("aws:cloudwatch/metricAlarm:MetricAlarm"):
        queries = alarm.inputs.get("metricQueries") or []
        total += max(1, sum(1 for q in queries if q.get("metric")))
    return total


def _dedup_rows(graph: Graph, p: dict[str, Any], messages: int) -> list[dict[str, Any]]:
    """A PriorityQueuePair's dedup store: DedupStore reads (BatchGetItem, consistent: 1 RRU for an
    item under 4 KB) and then records (BatchWriteItem: 1 WRU) each deferral and DLQ write. Its
    items live a day: storage is a few MB at most and is not counted."""
    per_message = (p["dynamodb_write_request_million"] + p["dynamodb_read_request_million"]) / 1_000_000
    rows = []
    for pair in graph.of_type("PriorityQueuePair"):
        table = graph.outputs_of(pair).get("dedup_table")
        if table:
            rows.append(
                _row(
                    f"dedup store {table}",
                    messages,
                    "messages",
                    per_message,
                    f"1 write + 1 consistent read request unit per deferred or dead-lettered message, "
                    f"{messages:,} a month stated",
                )
            )
    return rows


def cost_table(graph: Graph, region: str, assumptions: CostAssumptions | None = None) -> dict[str, Any]:
    """The monthly fixed cost of the stack's resilience features, row by row, with the total."""
    a = assumptions or CostAssumptions()
    prices = load_prices()
    header = {"region": region, "as_of": prices["as_of"], "currency": prices["currency"], "sources": prices["sources"]}
    p = prices["regions"].get(region)
    if p is None:
        known = ", ".join(sorted(prices["regions"]))
        return {**header, "rows": [], "total_usd": None, "note": f"no prices for {region} in prices.toml ({known})"}
    hours = int(prices["hours_per_month"])
    rows = _provisioned_rows(graph, p, hours * 3600)
    for canary in graph.of_type("aws:synthetics/canary:Canary"):
        expression = (canary.inputs.get("schedule") or {}).get("expression", "")
        rows.append(
            _row(
                f"canary {canary.name}",
                runs_per_month(expression, hours),
                "runs",
                p["synthetics_canary_run"],
                expression,
            )
        )
    counted = [
        ("dashboards", len(graph.of_type("aws:cloudwatch/dashboard:Dashboard")), "dashboards", "dashboard_month"),
        ("metric alarms", _alarm_metrics(graph), "alarm metrics", "alarm_standard_month"),
        (
            "composite alarms",
            len(graph.of_type("aws:cloudwatch/compositeAlarm:CompositeAlarm")),
            "alarms",
            "composite_alarm_month",
        ),
        ("metric filter metrics", _metric_filter_metrics(graph), "metrics", "custom_metric_month"),
        (
            "Contributor Insights rules",
            len(graph.of_type("aws:cloudwatch/contributorInsightRule:ContributorInsightRule")),
            "rules",
            "contributor_insights_rule_month",
        ),
    ]
    for item, count, unit, key in counted:
        if count:
            rows.append(_row(item, count, unit, p[key], f"{count} x {p[key]:g} a month"))
    for acl in graph.of_type("aws:wafv2/webAcl:WebAcl"):
        rules = len(acl.inputs.get("rules") or [])
        rows.append(_row(f"WAF web ACL {acl.name}", 1, "web ACL", p["waf_web_acl_month"], "per web ACL"))
        if rules:
            rows.append(_row(f"WAF rules {acl.name}", rules, "rules", p["waf_rule_month"], f"{rules} rules"))
    for table in graph.of_type("aws:dynamodb/table:Table"):
        if (table.inputs.get("pointInTimeRecovery") or {}).get("enabled"):
            rows.append(
                _row(
                    f"PITR {table.outputs.get('name')}",
                    a.table_gb,
                    "GB-month",
                    p["dynamodb_pitr_gb_month"],
                    f"{a.table_gb:g} GB stated",
                )
            )
    rows += _dedup_rows(graph, p, a.diverted_messages)
    rows += _poller_rows(graph, p, hours)
    return {**header, "rows": rows, "total_usd": round(sum(r["monthly_usd"] for r in rows), 2)}


def _key(item: str) -> str:
    """A row's item without the stack's physical names, so two stacks' rows line up."""
    return re.sub(r"resilient-serverless-[a-z0-9]+-", "", re.sub(r"\S+-(dev|staging|prod|local)-", "", item))


def compare_costs(a: dict[str, Any], b: dict[str, Any]) -> list[dict[str, Any]]:
    """Rows of two cost tables side by side (by item), with the difference b - a and the total."""
    left = {_key(r["item"]): r["monthly_usd"] for r in a["rows"]}
    right = {_key(r["item"]): r["monthly_usd"] for r in b["rows"]}
    items = list(dict.fromkeys([*left, *right]))
    rows = [
        {
            "item": i,
            "a": left.get(i, 0.0),
            "b": right.get(i, 0.0),
            "difference": round(right.get(i, 0.0) - left.get(i, 0.0), 2),
        }
        for i in items
    ]
    ta, tb = a["total_usd"] or 0.0, b["total_usd"] or 0.0
    rows.append({"item": "total", "a": ta, "b": tb, "difference": round(tb - ta, 2)})
    return rows
