"""The plan's capacity and cost tables: figures pinned on the real stacks (the README's worked
example is prod), the math as properties, and ``plan --compare``."""

from __future__ import annotations

import json
import math
from typing import Any

import pulumi
import pytest
from hypothesis import given
from hypothesis import strategies as st
from resilient_serverless.components import ResilientFunction, ThrottledApi
from resilient_serverless.components.cli import main
from resilient_serverless.components.plan.capacity import (
    Assumptions,
    capacity_table,
    drain_time_s,
    scale_up_time_s,
)
from resilient_serverless.components.plan.cost import (
    PRICES_FILE,
    compare_costs,
    cost_table,
    load_prices,
    runs_per_month,
)
from resilient_serverless.components.testing import AwsMocks, Graph, run_program, run_stack

from tests.conftest import ROOT


@pytest.fixture(scope="module")
def graphs() -> dict[str, Graph]:
    return {s: run_stack(s, ROOT) for s in ("dev", "staging", "prod", "local")}


def _rows(graph: Graph, **assumptions: Any) -> dict[str, dict[str, Any]]:
    return {r["path"]: r for r in capacity_table(graph, Assumptions(**assumptions))}


# --- capacity ------------------------------------------------------------------------------------------
def test_prod_capacity_worked_example(graphs: dict[str, Graph]) -> None:
    # GIVEN prod (route throttle 500 rps, 100 ms reads, reserved 100, provisioned 5; ingest mapping 20)
    # WHEN asked about a 1,000 rps burst and a 100,000-message backlog at 100 ms a message
    rows = _rows(graphs["prod"])
    read, write = rows["GET /orders/{order_id}"], rows["POST /orders"]
    # THEN reads: 500 x 0.1 s = 50 concurrent of 100 reserved; 45 new environments come within 10 s;
    # the edge throttle is hit first
    assert (read["admitted_rps"], read["concurrency_needed"], read["reserved"], read["provisioned"]) == (
        500,
        50,
        100,
        5,
    )
    assert (read["burst_concurrency"], read["burst_absorbed_within_s"]) == (50, 10)
    assert read["first_limit"] == "route throttle 500 rps (429 at the edge)"
    # AND writes: 20 consumers x 10 msg/s = 200 msg/s drain 100,000 messages in 500 s; at 500 rps
    # admitted the inbox grows 300 msg/s, so the mapping is the first limit
    assert (write["drain_rps"], write["backlog_drain_s"], write["reserved"]) == (200, 500, "mapping 20")
    assert write["first_limit"] == (
        "mapping max concurrency 20 drains 200 msg/s < 500 rps admitted: the backlog grows 300 msg/s "
        "(the age alarm and deferral take over)"
    )


def test_dev_reads_hit_the_reserved_concurrency_before_the_edge_throttle(graphs: dict[str, Graph]) -> None:
    # dev: route 20 rps, 100 ms, reserved 5: reserved caps at 50 rps, above the edge's 20
    rows = _rows(graphs["dev"], burst_rps=30)
    read = rows["GET /orders/{order_id}"]
    assert (read["admitted_rps"], read["concurrency_needed"], read["reserved"]) == (20, 2, 5)
    assert read["first_limit"] == "route throttle 20 rps (429 at the edge)"
    quiet = _rows(graphs["dev"], burst_rps=10)["GET /orders/{order_id}"]
    assert quiet["first_limit"] == "none below 10 rps (next: route throttle 20 rps (429 at the edge))"


def test_a_slow_route_hits_its_reserved_concurrency_first(graphs: dict[str, Graph]) -> None:
    # At 1,000 ms a request prod's 100 reserved environments carry 100 rps, below the 500 rps throttle
    graph = graphs["prod"]
    api = graph.one("ThrottledApi")
    routes = graph.outputs_of(api)["routes"]
    saved = routes[0]["expected_latency_ms"]
    routes[0]["expected_latency_ms"] = 1000
    try:
        read = _rows(graph)["GET /orders/{order_id}"]
    finally:
        routes[0]["expected_latency_ms"] = saved
    assert read["first_limit"] == "reserved concurrency 100 at 100 rps"
    assert (read["burst_concurrency"], read["burst_absorbed_within_s"]) == (500, 10)


def test_a_drain_that_keeps_up_names_the_edge_throttle(graphs: dict[str, Graph]) -> None:
    write = _rows(graphs["prod"], message_ms=20, burst_rps=600)["POST /orders"]
    assert (write["drain_rps"], write["backlog_drain_s"]) == (1000, 100)
    assert write["first_limit"] == "route throttle 500 rps (429 at the edge)"


def test_scaling_is_1000_environments_per_10_seconds() -> None:
    assert [scale_up_time_s(n) for n in (0, -3, 1, 1000, 1001, 2500)] == [0, 0, 10, 10, 20, 30]


@given(st.integers(min_value=1, max_value=100_000))
def test_scale_up_time_covers_the_environments_in_whole_windows(n: int) -> None:
    t = scale_up_time_s(n)
    assert t % 10 == 0 and (t // 10) * 1000 >= n > (t // 10 - 1) * 1000


@given(
    st.integers(min_value=1, max_value=10**7),
    st.integers(min_value=2, max_value=1000),
    st.floats(min_value=1, max_value=60_000),
    st.floats(min_value=0, max_value=10_000),
)
def test_drain_time_is_backlog_over_net_drain_rate(backlog: int, concurrency: int, ms: float, inflow: float) -> None:
    t = drain_time_s(backlog, concurrency, ms, inflow)
    rate = concurrency * 1000 / ms
    if rate <= inflow:
        assert t is None
    else:
        assert t is not None and math.isclose(t * (rate - inflow), backlog, rel_tol=1e-9)


# --- cost --------------------------------------------------------------------------------------------
def test_the_price_table_is_dated_sourced_and_region_aware() -> None:
    prices = load_prices()
    assert PRICES_FILE.name == "prices.toml" and prices["as_of"] == "2025-06-01"
    assert all(s.startswith("https://aws.amazon.com/") for s in prices["sources"])
    assert sorted(prices["regions"]) == ["eu-west-1", "us-east-1"]
    keys = {k for r in prices["regions"].values() for k in r}
    assert all(set(r) == keys for r in prices["regions"].values())


def test_prod_cost_worked_example(graphs: dict[str, Graph]) -> None:
    cost = cost_table(graphs["prod"], "eu-west-1")
    by_item = {r["item"]: r["monthly_usd"] for r in cost["rows"]}
    assert by_item == {
        # 5 x 1 GB x 730 h x 3600 s x $0.0000033334 (arm64)
        "provisioned concurrency resilient-serverless-prod-orders-api": 43.80,
        "canary ops-canary": 10.51,  # 730 x 60 / 5 = 8,760 runs x $0.0012
        "dashboards": 3.00,
        # 68 one-metric alarms, and the objectives' burn-rate windows (6 latency x 1 metric,
        # 6 availability x 3: requests, 5XX, 429), at $0.10 per alarm metric
        "metric alarms": 9.20,
        "composite alarms": 3.00,  # 2 symptoms + 2 objectives x (page, ticket), x $0.50
        "metric filter metrics": 2.40,  # 429s for 7 routes, and their total, x $0.30
        "Contributor Insights rules": 2.50,  # 5 x $0.50
        "PITR resilient-serverless-prod-orders": 0.22,  # 1 GB stated x $0.22
        "PITR resilient-serverless-prod-reports-jobs": 0.22,
        "PITR resilient-serverless-prod-reports-idempotency": 0.22,
        # 1,000,000 deferred or dead-lettered messages stated x ($0.70675 + $0.1415) per million
        "dedup store resilient-serverless-prod-ingest-dedup": 0.85,
    }
    assert cost["total_usd"] == 75.92
    assert (cost["region"], cost["as_of"], cost["currency"]) == ("eu-west-1", "2025-06-01", "USD")


def test_cost_follows_the_region(graphs: dict[str, Graph]) -> None:
    us = {r["item"]: r["monthly_usd"] for r in cost_table(graphs["prod"], "us-east-1")["rows"]}
    assert us["PITR resilient-serverless-prod-orders"] == 0.20
    unknown = cost_table(graphs["prod"], "ap-south-2")
    assert unknown["total_usd"] is None and unknown["rows"] == []
    assert unknown["note"] == "no prices for ap-south-2 in prices.toml (eu-west-1, us-east-1)"


# dev: dashboard 3 + 16 alarms 1.60 + 2 composites 1.00 + 2 filter metrics 0.60 + PITR 0.22;
# staging adds 5 insight rules (2.50), the dedup store (0.85) and the outcomes DLQ alarm of its
# Standard workflow (0.10); local is dev's set with that alarm priced in
# us-east-1 (PITR 0.20)
@pytest.mark.parametrize(("stack", "total"), [("dev", 17.46), ("staging", 21.41), ("prod", 75.92), ("local", 16.90)])
def test_each_stack_total(graphs: dict[str, Graph], stack: str, total: float) -> None:
    region = "us-east-1" if stack == "local" else "eu-west-1"
    assert cost_table(graphs[stack], region)["total_usd"] == total


def test_runs_per_month_reads_rate_expressions() -> None:
    assert [runs_per_month(e) for e in ("rate(1 minute)", "rate(5 minutes)", "rate(1 hour)", "rate(0 minutes)")] == [
        43_800,
        8_760,
        730,
        0,
    ]
    with pytest.raises(ValueError, match=r"schedule 'cron\(0 \* \* \* \? \*\)' is not a rate\(\) expression"):
        runs_per_month("cron(0 * * * ? *)")


def test_compare_lines_up_rows_across_stacks(graphs: dict[str, Graph]) -> None:
    rows = compare_costs(cost_table(graphs["staging"], "eu-west-1"), cost_table(graphs["prod"], "eu-west-1"))
    by_item = {r["item"]: r for r in rows}
    assert by_item["provisioned concurrency orders-api"] == {
        "item": "provisioned concurrency orders-api",
        "a": 0.0,
        "b": 43.8,
        "difference": 43.8,
    }
    assert by_item["total"] == {"item": "total", "a": 21.41, "b": 75.92, "difference": 54.51}


# --- the CLI --------------------------------------------------------------------------------------------
def test_plan_json_carries_capacity_and_cost(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plan", "--stack", "prod", "--json", "--project-dir", str(ROOT), "--backlog", "50000"]) == 0
    ops = json.loads(capsys.readouterr().out)["operations"]
    assert ops["assumptions"] == {"burst_rps": 1000.0, "backlog_messages": 50000, "message_ms": 100.0}
    assert {r["path"]: r["backlog_drain_s"] for r in ops["capacity"]}["POST /orders"] == 250
    assert ops["cost"]["total_usd"] == 75.92


def test_plan_text_shows_both_tables(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plan", "--stack", "prod", "--project-dir", str(ROOT), "--width", "250"]) == 0
    out = capsys.readouterr().out
    assert "capacity (burst 1000 rps, backlog 100,000 messages, 100 ms a message)" in out
    assert "cost of resilience, eu-west-1, USD a month (prices as of 2025-06-01)" in out
    assert "75.92" in out


def test_plan_compare_prints_the_difference(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plan", "--compare", "staging", "prod", "--project-dir", str(ROOT), "--width", "200"]) == 0
    out = capsys.readouterr().out
    assert "cost of resilience: staging vs prod" in out
    assert "+54.51" in out


def test_plan_compare_with_an_unknown_stack_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plan", "--compare", "staging", "qa", "--project-dir", str(ROOT)]) == 2
    assert capsys.readouterr().err.startswith("resilient-serverless: unknown stack 'qa'")


def test_a_bad_assumption_is_refused_naming_the_value(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["plan", "--stack", "prod", "--burst-rps", "0"])
    assert exit_.value.code == 2
    assert "argument --burst-rps: '0' is not a number above 0" in capsys.readouterr().err


def test_waf_and_x86_provisioned_concurrency_are_priced() -> None:
    # GIVEN another program: a REST API behind WAF, an x86 function with 2 warm 256 MB environments
    def program() -> None:
        code = pulumi.AssetArchive({"app": pulumi.StringAsset("def handler(e, c): return e")})
        fn = ResilientFunction(
            "quote",
            {
                "handler": "app.handler",
                "code": code,
                "memory": 256,
                "architecture": "x86_64",
                "provisioned_concurrency": 2,
            },
        )
        ThrottledApi("shop", {"waf_rate_limit": 1000, "routes": [{"method": "GET", "path": "/quote", "function": fn}]})

    graph = run_program(program, project="shop", stack="qa", mocks=AwsMocks(region="us-east-1"))
    rows = {r["item"]: r for r in cost_table(graph, "us-east-1")["rows"]}
    # THEN the web ACL and its one rule, and 2 x 0.25 GB x 2,628,000 s x $0.0000041667
    assert rows["WAF web ACL shop-waf"]["monthly_usd"] == 5.00
    assert rows["WAF rules shop-waf"]["monthly_usd"] == 1.00
    assert rows["provisioned concurrency shop-qa-quote"]["monthly_usd"] == 5.48
    assert rows["provisioned concurrency shop-qa-quote"]["basis"] == "2 environments x 0.25 GB x 2,628,000 s (x86_64)"
