"""Operations: the dashboard built from the components, queries, insight rules, canary and
composite alarms, checked on the captured graph with the kit's checks."""

from __future__ import annotations

import copy
import json
from typing import Any

import pulumi
import pulumi_aws as aws
import pytest
from resilient_serverless.components import (
    ConfigError,
    Operations,
    PriorityQueuePair,
    ResilientComponent,
    ResilientFunction,
    ThrottledApi,
    defaults,
)
from resilient_serverless.components.operations import SECTIONS, Context, Contribution, contributes
from resilient_serverless.components.testing import AwsMocks, Graph, run_program, run_stack
from resilient_serverless.components.testing.operations import (
    alarms_missing,
    dashboard_bodies,
    emf_metric_names,
    plotted_metrics,
    unknown_log_sources,
    unknown_metrics,
)

from tests.conftest import ROOT

HANDLERS_DIR = ROOT / "handlers"  # the handlers' sources, read for the metric and log names they write
APP_HANDLERS_DIR = ROOT / "app" / "handlers"  # the reference application publishes the rest
STACKS = ["dev", "staging", "prod", "local"]


@pytest.fixture(scope="module", params=STACKS)
def stack(request: pytest.FixtureRequest) -> tuple[str, Graph]:
    return request.param, run_stack(request.param, ROOT)


def _body(graph: Graph) -> dict[str, Any]:
    (body,) = dashboard_bodies(graph).values()
    return body


def _section_order(body: dict[str, Any]) -> list[str]:
    return [
        w["properties"]["markdown"][3:].lower()
        for w in body["widgets"]
        if w["type"] == "text" and w["properties"]["markdown"].startswith("## ")
    ]


# --- the dashboard of every stack --------------------------------------------------------------------
def test_every_stack_has_one_dashboard_whose_body_is_json(stack: tuple[str, Graph]) -> None:
    # GIVEN a whole stack WHEN it runs THEN it has exactly one dashboard, named per stack, whose body parses
    name, graph = stack
    dashboard = graph.one("aws:cloudwatch/dashboard:Dashboard")
    assert dashboard.inputs["dashboardName"] == f"resilient-serverless-{name}-ops", dashboard.urn
    assert json.loads(dashboard.inputs["dashboardBody"])["widgets"], dashboard.urn
    assert graph.exports["dashboard"] == dashboard.inputs["dashboardName"]


def test_the_dashboard_follows_the_request_path(stack: tuple[str, Graph]) -> None:
    # GIVEN the reference deployment THEN sections run front door -> functions -> queues -> tables
    # -> workflows -> the WebSocket push (not on local, which polls)
    name, graph = stack
    push = [] if name == "local" else ["websocket"]
    assert _section_order(_body(graph)) == ["front door", "functions", "queues", "workflows", "tables", *push]


def test_every_plotted_metric_is_one_the_stack_emits(stack: tuple[str, Graph]) -> None:
    # GIVEN the handlers' EMF metrics and the stack's resources THEN no widget plots a metric nothing emits
    _, graph = stack
    assert unknown_metrics(graph, (emf_metric_names(HANDLERS_DIR) | emf_metric_names(APP_HANDLERS_DIR))) == []
    assert len(list(plotted_metrics(_body(graph)))) > 40


def test_every_log_widget_reads_a_log_group_of_the_stack(stack: tuple[str, Graph]) -> None:
    name, graph = stack
    logs = [w for w in _body(graph)["widgets"] if w["type"] == "log"]
    # one cold-start widget per function: API, consumers, push (not on local), the reports workflow's
    functions = graph.of_type("aws:lambda/function:Function")
    assert len(logs) == len(functions) == {"dev": 13, "staging": 14, "prod": 14, "local": 12}[name]
    assert unknown_log_sources(graph) == []
    graph = copy.deepcopy(graph)  # the fixture's graph is shared by the module
    logs[0]["properties"]["query"] = "SOURCE '/aws/lambda/gone' | filter cold_start = 1"
    assert unknown_log_sources(_with_body(graph, {"widgets": logs})) == [
        "ops-dashboard: widget 'orders-api: cold starts' reads /aws/lambda/gone, which the stack does not have"
    ]


def test_every_alarm_of_the_stack_is_on_the_dashboard(stack: tuple[str, Graph]) -> None:
    _, graph = stack
    assert graph.of_type("aws:cloudwatch/metricAlarm:MetricAlarm")
    assert alarms_missing(graph) == []


def test_widgets_stay_on_the_24_unit_grid_without_overlap(stack: tuple[str, Graph]) -> None:
    _, graph = stack
    cells: set[tuple[int, int]] = set()
    for w in _body(graph)["widgets"]:
        assert w["x"] >= 0 and w["x"] + w["width"] <= 24, w
        for x in range(w["x"], w["x"] + w["width"]):
            for y in range(w["y"], w["y"] + w["height"]):
                assert (x, y) not in cells, f"overlap at {(x, y)}: {w['properties'].get('title')}"
                cells.add((x, y))


def test_functions_show_their_limits_as_lines() -> None:
    # GIVEN prod (reserved 100, provisioned 5, timeout 10 s) THEN the concurrency and duration
    # graphs of the API function draw those limits
    body = _body(run_stack("prod", ROOT))
    by_title = {w["properties"].get("title"): w["properties"] for w in body["widgets"]}
    lines = {a["label"]: a["value"] for a in by_title["orders-api: concurrency"]["annotations"]["horizontal"]}
    assert lines == {"reserved concurrency": 100, "provisioned concurrency": 5}
    duration = by_title["orders-api: duration p50 / p99 (ms)"]["annotations"]["horizontal"]
    assert duration == [{"label": "timeout (ms)", "value": 10000}]


def test_the_front_door_counts_429s_per_route_from_its_access_logs() -> None:
    graph = run_stack("dev", ROOT)
    f = graph.one("aws:cloudwatch/logMetricFilter:LogMetricFilter", "ops-filter-orders-429")
    access = graph.one("aws:cloudwatch/logGroup:LogGroup", "orders-access-logs")
    assert f.inputs["logGroupName"] == access.outputs["name"], f.urn
    assert f.inputs["pattern"] == '{ $.status = "429" }'
    assert f.inputs["metricTransformation"] == {
        "name": "Http429",
        "namespace": "resilient-serverless-dev/orders/access-logs",
        "value": "1",
        "dimensions": {"route": "$.route"},
    }


# --- the checks fire on a bad dashboard ----------------------------------------------------------
def _with_body(graph: Graph, body: dict[str, Any]) -> Graph:
    dashboard = graph.one("aws:cloudwatch/dashboard:Dashboard")
    dashboard.inputs["dashboardBody"] = json.dumps(body)
    return graph


def test_a_metric_of_a_function_that_does_not_exist_is_reported() -> None:
    graph = run_stack("dev", ROOT)
    body = _body(graph)
    body["widgets"].append(
        {
            "type": "metric",
            "properties": {"title": "ghost", "metrics": [["AWS/Lambda", "Errors", "FunctionName", "gone"]]},
        }
    )
    assert unknown_metrics(
        _with_body(graph, body), (emf_metric_names(HANDLERS_DIR) | emf_metric_names(APP_HANDLERS_DIR))
    ) == ["ops-dashboard: widget 'ghost' plots AWS/Lambda/Errors {'FunctionName': 'gone'}, which nothing emits"]


def test_an_emf_metric_no_handler_publishes_is_reported() -> None:
    graph = run_stack("dev", ROOT)
    body = _body(graph)
    service = ["service", "orders-inbox-high-consumer"]
    body["widgets"].append(
        {
            "type": "metric",
            "properties": {"title": "typo", "metrics": [["resilient-serverless", "MessageDeferred", *service]]},
        }
    )
    assert (
        len(
            unknown_metrics(
                _with_body(graph, body), (emf_metric_names(HANDLERS_DIR) | emf_metric_names(APP_HANDLERS_DIR))
            )
        )
        == 1
    )


def test_an_alarm_left_off_the_dashboard_is_reported() -> None:
    graph = run_stack("dev", ROOT)
    body = _body(graph)
    body["widgets"] = [
        w for w in body["widgets"] if w["type"] != "alarm" or "orders-api" not in w["properties"]["title"]
    ]
    missing = alarms_missing(_with_body(graph, body))
    assert len(missing) == 3 and all("orders-api-alarm" in m for m in missing), missing


def test_a_body_that_is_not_json_is_named() -> None:
    graph = run_stack("dev", ROOT)
    graph.one("aws:cloudwatch/dashboard:Dashboard").inputs["dashboardBody"] = "{widgets: ["
    with pytest.raises(ValueError, match=r"Dashboard::ops-dashboard: dashboard body is not JSON"):
        dashboard_bodies(graph)


def test_handler_metric_names_are_read_from_the_handlers() -> None:
    names = emf_metric_names(HANDLERS_DIR) | emf_metric_names(APP_HANDLERS_DIR)
    assert {"MessagesDeferred", "MessagesDroppedTTL", "OrdersAccepted", "CircuitOpen", "Responses5xx"} <= names
    assert "MessageDeferred" not in names


# --- a program that is not ours -------------------------------------------------------------------
def _shop() -> None:
    code = pulumi.AssetArchive({"app": pulumi.StringAsset("def handler(e, c): return e")})
    jobs = PriorityQueuePair(
        "jobs/eu",
        {"handler": "app.handler", "code": code, "fifo": True, "defer_after_s": None, "consumer": {"timeout": 20}},
    )
    reader = ResilientFunction("reader", {"handler": "app.handler", "code": code, "reserved_concurrency": 3})
    ThrottledApi(
        "shop",
        {"flavor": "http", "routes": [{"method": "GET", "path": "/items/{id}", "function": reader}]},
    )
    topic = aws.sns.Topic("pager")
    Operations("watch", {"alarm_topic_arn": topic.arn})
    del jobs


def test_a_program_that_composes_components_gets_a_dashboard_without_writing_one() -> None:
    # GIVEN another project, region, FIFO queues and nested names WHEN Operations collects THEN
    # every component is on it, with the program's region, and the checks hold
    graph = run_program(_shop, project="shop", stack="qa", mocks=AwsMocks(region="ap-southeast-2"))
    body = _body(graph)
    assert _section_order(body) == ["front door", "functions", "queues"]
    regions = {w["properties"]["region"] for w in body["widgets"] if w["type"] in ("metric", "log")}
    assert regions == {"ap-southeast-2"}
    titles = [w["properties"].get("markdown") for w in body["widgets"] if w["type"] == "text"]
    assert "### Function: jobs/eu-high-consumer (queue)" in titles and "### Function: reader (sync)" in titles
    assert titles.count("### Function: reader (sync)") == 1  # the API's function and the collected one are one
    assert unknown_metrics(graph, (emf_metric_names(HANDLERS_DIR) | emf_metric_names(APP_HANDLERS_DIR))) == []
    assert alarms_missing(graph) == []


def test_an_explicit_component_without_a_builder_is_refused_before_anything_is_created() -> None:
    def program() -> None:
        Operations("ops", {"components": [aws.sns.Topic("t")]})

    with pytest.raises(ConfigError) as error:
        run_program(program)
    assert str(error.value) == (
        "Operations 'ops': components[0] is a Topic, which contributes nothing: "
        "register a builder with @contributes(Topic)"
    )


class _Workflow(ResilientComponent):
    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.machine = aws.sfn.StateMachine(
            f"{name}-machine",
            definition="{}",
            role_arn="arn:aws:iam::1:role/r",
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.register_outputs({})


@contributes(_Workflow)
def _workflow(wf: _Workflow, ctx: Context) -> Contribution:
    dims = ["StateMachineArn", wf.machine.arn]
    return Contribution(
        "workflows", f"Workflow: {wf._name}", widgets=[ctx.metric("runs", [["AWS/States", "ExecutionsStarted", *dims]])]
    )


def test_a_new_component_type_joins_with_one_builder() -> None:
    graph = run_program(lambda: (_Workflow("checkout"), Operations("ops", {})))
    body = _body(graph)
    assert _section_order(body) == ["workflows"]
    (metric,) = [w for w in body["widgets"] if w["type"] == "metric"]
    assert metric["properties"]["metrics"][0][:3] == ["AWS/States", "ExecutionsStarted", "StateMachineArn"]


def test_sections_are_in_request_path_order() -> None:
    assert SECTIONS == ("front door", "functions", "queues", "workflows", "tables", "websocket")


def test_operations_defaults() -> None:
    # Default: queries on, composite alarms on, Contributor Insights off (it costs per rule)
    assert (defaults.OPS_QUERIES, defaults.OPS_COMPOSITE_ALARMS, defaults.OPS_CONTRIBUTOR_INSIGHTS) == (
        True,
        True,
        False,
    )
    graph = run_program(_shop)
    assert graph.of_type("aws:cloudwatch/queryDefinition:QueryDefinition")
    assert graph.of_type("aws:cloudwatch/compositeAlarm:CompositeAlarm")
    assert not graph.of_type("aws:cloudwatch/contributorInsightRule:ContributorInsightRule")
    assert not graph.of_type("aws:synthetics/canary:Canary")


def test_a_dashboard_above_cloudwatchs_500_widgets_is_refused() -> None:
    def program() -> None:
        code = pulumi.AssetArchive({"app": pulumi.StringAsset("def handler(e, c): return e")})
        for i in range(100):  # 100 functions x (title + alarms + 4 graphs) = 600 widgets
            ResilientFunction(f"f{i}", {"handler": "app.handler", "code": code})
        Operations("ops", {})

    with pytest.raises(ConfigError) as error:
        run_program(program)
    assert str(error.value) == (
        "Operations 'ops': the dashboard would have 601 widgets, above CloudWatch's 500: "
        "split the components over two Operations components"
    )


def test_queries_and_composites_can_be_turned_off_and_children_transformed() -> None:
    def program() -> None:
        _shop_components()
        Operations(
            "ops",
            {"queries": False, "composite_alarms": False, "transform": {"dashboard": {"dashboard_name": "mine"}}},
        )

    graph = run_program(program)
    assert not graph.of_type("aws:cloudwatch/queryDefinition:QueryDefinition")
    assert not graph.of_type("aws:cloudwatch/compositeAlarm:CompositeAlarm")
    assert graph.one("aws:cloudwatch/dashboard:Dashboard").inputs["dashboardName"] == "mine"


def _shop_components() -> None:
    code = pulumi.AssetArchive({"app": pulumi.StringAsset("def handler(e, c): return e")})
    PriorityQueuePair("jobs", {"handler": "app.handler", "code": code})
