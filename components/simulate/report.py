"""The numbers of a run: per route and for the stack, goodput against the bottleneck's capacity,
429s and where they were given, wasted work, p50/p99 of accepted work, backlog age per queue,
DLQ arrivals, TTL drops and the cost of the run; ``render`` prints them side by side with the
naive baseline."""

from __future__ import annotations

import math
import tomllib
from functools import cache
from pathlib import Path
from typing import Any

from ..plan.cost import load_prices
from .engine import RouteStats, RunResult
from .model import RouteModel

__all__ = ["USAGE_PRICES_FILE", "render", "summarise", "weighted_percentile"]

USAGE_PRICES_FILE = Path(__file__).with_name("prices.toml")


@cache
def usage_prices() -> dict[str, Any]:
    with USAGE_PRICES_FILE.open("rb") as f:
        return tomllib.load(f)


def weighted_percentile(pairs: list[tuple[float, float]], q: float) -> float | None:
    """The ``q`` quantile (0..1) of values given as (value, weight)."""
    total = sum(w for _, w in pairs)
    if total <= 0:
        return None
    seen = 0.0
    for value, weight in sorted(pairs):
        seen += weight
        if seen >= q * total:
            return value
    return max(v for v, _ in pairs)


def _arch_memory(r: RouteModel) -> tuple[str, int]:
    if r.consumer is not None:
        return r.consumer.arch, r.consumer.memory_mb
    return r.arch, r.memory_mb


def _cost(result: RunResult) -> dict[str, Any]:
    region = result.model.region
    usage = usage_prices()["regions"].get(region) or usage_prices()["regions"]["us-east-1"]
    plan_prices = load_prices()["regions"]
    provisioned_price = (plan_prices.get(region) or plan_prices["us-east-1"])["lambda_provisioned_gb_s"]
    api_key = "apigateway_http_million" if result.model.flavor == "http" else "apigateway_rest_million"
    lambda_usd = api_usd = sqs_usd = provisioned_usd = 0.0
    for r in result.model.routes:
        s = result.routes[r.key]
        arch, memory = _arch_memory(r)
        lambda_usd += s.invocations * usage["lambda_request_million"] / 1e6 + s.gb_s * usage["lambda_gb_s"][arch]
        api_usd += s.attempts * usage[api_key] / 1e6  # API Gateway does not charge for throttled requests,
        api_usd -= s.throttled_edge * usage[api_key] / 1e6  # so only what passed the edge counts
        sqs_usd += s.sqs_requests * usage["sqs_request_million"] / 1e6
        provisioned_usd += r.provisioned * memory / 1024 * result.duration_s * provisioned_price[arch]
    total = lambda_usd + api_usd + sqs_usd + provisioned_usd
    return {
        "total_usd": round(total, 4),
        "lambda_usd": round(lambda_usd, 4),
        "api_usd": round(api_usd, 4),
        "sqs_usd": round(sqs_usd, 4),
        "provisioned_usd": round(provisioned_usd, 4),
        "prices_as_of": usage_prices()["as_of"],
    }


def _ms(seconds: float | None) -> float | None:
    return round(seconds * 1000, 1) if seconds is not None else None


def achievable(r: RouteModel, s: RouteStats) -> float:
    """The most goodput the route's capacity allows under the offered load. A synchronous route
    cannot bank what it turns away: per second, the lesser of what was offered (first attempts)
    and the capacity. A queue absorbs a burst and drains it later, over the whole run, but only
    what the edge let in: the route's throttle sits before the queue, so per second no more than
    its rate can be banked."""
    if r.kind != "sync":
        edge = r.rate if r.rate is not None else math.inf
        admissible = sum(min(offered, edge) for offered in s.offered_series)
        return min(admissible, r.capacity_rps * len(s.offered_series))
    return sum(min(offered, r.capacity_rps) for offered in s.offered_series)


def _route(r: RouteModel, s: RouteStats) -> dict[str, Any]:
    best = achievable(r, s)
    ages = {q: max(series, default=0.0) for q, series in s.oldest_age_series.items()}
    return {
        "route": r.key,
        "kind": r.kind,
        "capacity_rps": round(r.capacity_rps, 2),
        "bottleneck": r.bottleneck,
        "offered": round(s.offered),
        "goodput": round(s.goodput),
        "goodput_per_capacity": round(s.goodput / best, 3) if best > 0 else None,
        "throttled_429": {
            "edge": round(s.throttled_edge),
            "usage_plan": round(s.throttled_plan),
            "function": round(s.throttled_function),
        },
        "start_execution": {"started": round(s.starts), "throttled": round(s.throttled_start)},
        "failed_requests": round(s.failed),
        "wasted_invocations": round(s.wasted_invocations, 1),
        "late_messages": round(s.late),
        "latency_ms": {
            "p50": _ms(weighted_percentile(s.latencies, 0.5)),
            "p99": _ms(weighted_percentile(s.latencies, 0.99)),
        },
        "oldest_message_age_s_max": ages,
        "dlq_arrivals": round(s.dlq),
        "ttl_drops": round(s.ttl_drops),
        "deferred": round(s.deferred),
    }


def summarise(result: RunResult, series: bool = True) -> dict[str, Any]:
    routes = [_route(r, result.routes[r.key]) for r in result.model.routes]
    capacity = sum(r.capacity_rps for r in result.model.routes)
    offered = sum(result.routes[r.key].offered for r in result.model.routes)
    goodput = sum(result.routes[r.key].goodput for r in result.model.routes)
    best = sum(achievable(r, result.routes[r.key]) for r in result.model.routes)
    doc: dict[str, Any] = {
        "model": result.model.name,
        "stack": result.model.stack,
        "load": result.load.text,
        "duration_s": result.duration_s,
        "capacity_rps": round(capacity, 2),
        "offered": round(offered),
        "goodput": round(goodput),
        "goodput_per_capacity": round(goodput / best, 3) if best > 0 else None,
        "throttled_429": {
            "edge": round(sum(r["throttled_429"]["edge"] for r in routes)),
            "usage_plan": round(sum(r["throttled_429"]["usage_plan"] for r in routes)),
            "function": round(sum(r["throttled_429"]["function"] for r in routes)),
        },
        "start_execution_throttled": sum(r["start_execution"]["throttled"] for r in routes),
        "wasted_invocations": round(sum(r["wasted_invocations"] for r in routes), 1),
        "dlq_arrivals": sum(r["dlq_arrivals"] for r in routes),
        "ttl_drops": sum(r["ttl_drops"] for r in routes),
        "cost": _cost(result),
        "routes": routes,
    }
    if series:
        # The last bin holds work that ended after the horizon: in the totals, not in the series.
        seconds = len(next(iter(result.routes.values())).goodput_series) - 1 if result.routes else 0
        doc["series"] = {
            "goodput_rps": [round(sum(s.goodput_series[i] for s in result.routes.values()), 1) for i in range(seconds)],
            "offered_rps": [round(sum(s.offered_series[i] for s in result.routes.values()), 1) for i in range(seconds)],
            "oldest_age_s": {q: v for s in result.routes.values() for q, v in s.oldest_age_series.items()},
        }
    return doc


def _line(label: str, value: Any, naive: Any = None) -> str:
    right = f"   naive: {naive}" if naive is not None else ""
    return f"  {label:28} {value!s:>14}{right}"


def render(doc: dict[str, Any], naive_doc: dict[str, Any] | None = None) -> str:
    """The run (and its naive baseline) as text a reader takes in at a glance."""
    out = [f"simulate --stack {doc['stack']}  load {doc['load']}  ({doc['duration_s']:g} s)"]

    def both(key: str, fmt: Any = str) -> tuple[Any, Any]:
        return fmt(doc[key]), (fmt(naive_doc[key]) if naive_doc else None)

    out.append(_line("capacity (rps, all routes)", doc["capacity_rps"]))
    out.append(_line("offered requests", doc["offered"]))
    out.append(_line("goodput (in deadline)", *both("goodput")))
    out.append(_line("goodput / capacity", *both("goodput_per_capacity")))
    out.append(_line("429 at the edge", doc["throttled_429"]["edge"], naive_doc and naive_doc["throttled_429"]["edge"]))
    out.append(
        _line(
            "  of which by usage plans",
            doc["throttled_429"]["usage_plan"],
            naive_doc and naive_doc["throttled_429"]["usage_plan"],
        )
    )
    out.append(
        _line("429 from Lambda", doc["throttled_429"]["function"], naive_doc and naive_doc["throttled_429"]["function"])
    )
    out.append(_line("StartExecution throttled", *both("start_execution_throttled")))
    out.append(_line("wasted invocations", *both("wasted_invocations")))
    out.append(_line("DLQ arrivals", *both("dlq_arrivals")))
    out.append(_line("TTL drops", *both("ttl_drops")))
    out.append(_line("cost of the run (USD)", doc["cost"]["total_usd"], naive_doc and naive_doc["cost"]["total_usd"]))
    out.append("  per route: goodput/capacity, p50/p99 ms, oldest message age (s)" + (" | naive" if naive_doc else ""))
    naive_routes = {r["route"]: r for r in (naive_doc or {}).get("routes", [])}
    for r in doc["routes"]:
        n = naive_routes.get(r["route"])
        ages = ", ".join(f"{q} {a:g}" for q, a in r["oldest_message_age_s_max"].items())
        text = (
            f"    {r['route']:30} {r['goodput_per_capacity']!s:>6}  "
            f"{r['latency_ms']['p50']}/{r['latency_ms']['p99']}  {ages or '-'}  [{r['bottleneck']}]"
        )
        if n is not None:
            text += f"  | {n['goodput_per_capacity']}  {n['latency_ms']['p50']}/{n['latency_ms']['p99']}"
        out.append(text)
    return "\n".join(out)
