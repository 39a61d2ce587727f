"""Service level objectives per front door: availability and latency, each alarmed by
multi-window multi-burn-rate composite alarms (children first, silent; the composites notify the
ops topic), shown on the dashboard with the error budget left, and listed in the plan."""

from __future__ import annotations

import json
from typing import Any

import pulumi_aws as aws
import pytest
from resilient_serverless.components import ConfigError, Operations, ResilientFunction, ThrottledApi, defaults, rules
from resilient_serverless.components.testing import Graph, run_program

from tests.conftest import HANDLERS

ORDERS_HANDLER = "app.handlers.orders.lambda_handler"

ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
COMPOSITE = "aws:cloudwatch/compositeAlarm:CompositeAlarm"


def shop(objectives: Any = None, by_api: Any = None, *, flavor: str = "rest", expected_ms: int | None = 120) -> Graph:
    def program() -> None:
        topic = aws.sns.Topic("ops-topic")
        fn = ResilientFunction(
            "reader",
            {
                "handler": ORDERS_HANDLER,
                "code": HANDLERS,
                "timeout": 5,
                "reserved_concurrency": 5,
            },
        )
        route: dict[str, Any] = {"method": "GET", "path": "/orders/{id}", "function": fn}
        if expected_ms is not None:
            route["expected_latency_ms"] = expected_ms
        ThrottledApi("orders", {"flavor": flavor, "routes": [route], "alarm_topic_arn": topic.arn})
        args: dict[str, Any] = {"alarm_topic_arn": topic.arn}
        if objectives is not None:
            args["objectives"] = None if objectives == "off" else objectives
        if by_api is not None:
            args["objectives_by_api"] = by_api
        Operations("ops", args)

    return run_program(program, project="shop", stack="qa")


@pytest.fixture(scope="module")
def graph() -> Graph:
    return shop()


def test_the_defaults_are_pinned() -> None:
    assert (defaults.SLO_AVAILABILITY, defaults.SLO_LATENCY_TARGET, defaults.SLO_WINDOW_DAYS) == (0.999, 0.99, 30)
    assert defaults.SLO_FIRE_AND_FORGET_LATENCY_MS == 300
    assert defaults.SLO_TARGET_RANGE == (0.931, 0.99999)


def test_default_availability_objective_reaches_the_burn_rate_expression(graph: Graph) -> None:
    alarm = graph.one(ALARM, "ops-alarm-slo-orders-availability-1h-14.4x")
    burn = next(q for q in alarm.inputs["metricQueries"] if q["id"] == "burn")
    assert burn["expression"] == "(FILL(errors, 0) + FILL(throttled, 0)) / requests / 0.001"
    metrics = {q["id"]: q["metric"] for q in alarm.inputs["metricQueries"] if "metric" in q}
    assert metrics["requests"] == {
        "namespace": "AWS/ApiGateway",
        "metricName": "Count",
        "dimensions": {"ApiName": "shop-qa-orders", "Stage": "live"},
        "period": 3600,
        "stat": "Sum",
    }
    assert metrics["errors"]["metricName"] == "5XXError"
    # 429s come from the access log's metric filter: every route's, as one metric
    assert (
        metrics["throttled"]["namespace"],
        metrics["throttled"]["metricName"],
        metrics["throttled"]["dimensions"],
    ) == (
        "shop-qa/orders/access-logs",
        "Http429Total",
        {},
    )
    total = graph.one("aws:cloudwatch/logMetricFilter:LogMetricFilter", "ops-filter-orders-429-total")
    assert total.inputs["metricTransformation"]["name"] == "Http429Total"
    assert total.inputs["pattern"] == '{ $.status = "429" }'


def test_default_latency_objective_is_the_p99_under_the_route_expected_latency(graph: Graph) -> None:
    alarm = graph.one(ALARM, "ops-alarm-slo-orders-latency-5m-14.4x")
    good = next(q for q in alarm.inputs["metricQueries"] if q["id"] == "good")
    assert (good["metric"]["metricName"], good["metric"]["stat"], good["metric"]["period"]) == (
        "Latency",
        "PR(:120)",
        300,
    )
    burn = next(q for q in alarm.inputs["metricQueries"] if q["id"] == "burn")
    assert burn["expression"] == "(100 - good) / 100 / 0.01"


def test_without_expected_latency_the_threshold_is_the_function_timeout() -> None:
    alarm = shop(expected_ms=None).one(ALARM, "ops-alarm-slo-orders-latency-1h-14.4x")
    good = next(q for q in alarm.inputs["metricQueries"] if q["id"] == "good")
    assert good["metric"]["stat"] == "PR(:5000)"


def test_each_objective_has_the_workbook_windows_as_silent_alarms(graph: Graph) -> None:
    windows = sorted(
        (
            a.inputs["threshold"],
            a.inputs["metricQueries"][-1 if "latency" in a.name else 0].get("metric", {}).get("period"),
        )
        for a in graph.of_type(ALARM)
        if a.name.startswith("ops-alarm-slo-orders-availability-")
    )
    assert windows == [(1.0, 21600), (1.0, 259200), (6.0, 1800), (6.0, 21600), (14.4, 300), (14.4, 3600)]
    for alarm in graph.of_type(ALARM):
        if "-slo-" in alarm.name:
            assert alarm.inputs.get("alarmActions", []) == [], alarm.urn
            assert (alarm.inputs["evaluationPeriods"], alarm.inputs["datapointsToAlarm"]) == (1, 1), alarm.urn


def test_page_composite_combines_both_pairs_and_waits_for_its_windows(graph: Graph) -> None:
    page = graph.one(COMPOSITE, "ops-slo-orders-availability-page")
    prefix = "shop-qa-ops-slo-orders-availability"
    assert page.inputs["alarmRule"] == (
        f'(ALARM("{prefix}-1h-14.4x") AND ALARM("{prefix}-5m-14.4x")) OR '
        f'(ALARM("{prefix}-6h-6x") AND ALARM("{prefix}-30m-6x"))'
    )
    topic = graph.one("aws:sns/topic:Topic").outputs["arn"]
    assert page.inputs["alarmActions"] == [topic] and page.inputs["okActions"] == [topic]
    children = {a.urn for a in graph.of_type(ALARM) if a.name.startswith("ops-alarm-slo-orders-availability-")}
    page_children = {a.urn for a in graph.of_type(ALARM) if a.inputs["threshold"] in (14.4, 6.0) and a.urn in children}
    assert page_children <= set(page.dependencies)


def test_ticket_composite_is_the_three_day_pair(graph: Graph) -> None:
    ticket = graph.one(COMPOSITE, "ops-slo-orders-latency-ticket")
    prefix = "shop-qa-ops-slo-orders-latency"
    assert ticket.inputs["alarmRule"] == f'(ALARM("{prefix}-3d-1x") AND ALARM("{prefix}-6h-1x"))'


def test_the_notify_rules_accept_silent_windows_of_a_notifying_composite(graph: Graph) -> None:
    found = [f for f in rules.check(graph, waived={}) if f.rule in ("alarm-to-ops-topic", "alarm-has-actions")]
    assert [f.name for f in found if "-slo-" in f.name] == []


def test_the_dashboard_shows_the_budget_left_and_every_objective_alarm(graph: Graph) -> None:
    body = json.loads(graph.one("aws:cloudwatch/dashboard:Dashboard").inputs["dashboardBody"])
    budget = next(w for w in body["widgets"] if w["properties"].get("title", "").startswith("availability 99.9%"))
    props = budget["properties"]
    assert (props["view"], props["period"], props["start"], props["setPeriodToTimeRange"]) == (
        "singleValue",
        2_592_000,
        "-P30D",
        True,
    )
    assert props["metrics"][-1] == [{"expression": "100 * (1 - burn)", "id": "left", "label": "error budget left (%)"}]
    shown = {a for w in body["widgets"] if w["type"] == "alarm" for a in w["properties"]["alarms"]}
    slo = [a for a in graph.of_type(ALARM) + graph.of_type(COMPOSITE) if "-slo-" in a.name]
    assert len(slo) == 16
    assert {a.outputs["arn"] for a in slo} <= shown


def test_the_operations_outputs_list_each_objective_and_its_alarms(graph: Graph) -> None:
    rows = graph.outputs_of(graph.one("Operations"))["objectives"]
    assert rows[0] == {
        "front_door": "orders",
        "objective": "availability 99.9% of requests without 5XX or 429 over 30 days",
        "page": "shop-qa-ops-slo-orders-availability-page",
        "page_when": "1h and 5m above 14.4x OR 6h and 30m above 6x",
        "ticket": "shop-qa-ops-slo-orders-availability-ticket",
        "ticket_when": "3d and 6h above 1x",
    }
    assert rows[1]["objective"] == "latency 99% of requests at or under 120 ms over 30 days"


def test_objectives_and_per_api_overrides_reach_the_alarms() -> None:
    graph = shop({"availability": 0.995}, {"orders": {"latency_ms": 250, "latency_target": 0.95}})
    burn = graph.one(ALARM, "ops-alarm-slo-orders-availability-1h-14.4x").inputs["metricQueries"][-1]
    assert burn["expression"].endswith("/ requests / 0.005")
    latency = graph.one(ALARM, "ops-alarm-slo-orders-latency-1h-14.4x").inputs["metricQueries"]
    assert (latency[0]["metric"]["stat"], latency[1]["expression"]) == ("PR(:250)", "(100 - good) / 100 / 0.05")


def test_http_api_objectives_read_its_metric_names() -> None:
    alarm = shop(flavor="http").one(ALARM, "ops-alarm-slo-orders-availability-1h-14.4x")
    metrics = {q["id"]: q["metric"] for q in alarm.inputs["metricQueries"] if "metric" in q}
    assert metrics["errors"]["metricName"] == "5xx"
    assert set(metrics["requests"]["dimensions"]) == {"ApiId", "Stage"}


def test_objectives_none_makes_no_objective_alarm() -> None:
    graph = shop("off")
    assert [a.name for a in graph.of_type(ALARM) + graph.of_type(COMPOSITE) if "-slo-" in a.name] == []


def test_bad_objectives_are_one_error_naming_each_key_value_and_range() -> None:
    with pytest.raises(ConfigError) as raised:
        shop({"availability": 0.9, "latency_ms": 0, "p50": 1}, {"payments": {"latency_target": 1}})
    why = "below it a 14.4x burn would need more than every request to fail; 1 leaves no error budget"
    assert raised.value.problems == [
        "unknown objectives key 'p50' (valid objectives keys: availability, latency_ms, latency_target)",
        f"objectives.availability=0.9 is outside 0.931 to 0.99999 ({why})",
        "objectives.latency_ms=0 is outside 1 to 30000 ms",
        "objectives_by_api['payments'] names no front door of this dashboard (front doors: orders)",
        f"objectives_by_api['payments'].latency_target=1 is outside 0.931 to 0.99999 ({why})",
    ]
