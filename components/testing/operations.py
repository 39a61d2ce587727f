"""Checks of a captured stack's operations: is every metric its dashboards plot one the stack
emits, is every alarm on a dashboard, do the saved queries and insight rules parse?

    from resilient_serverless.components.testing import run_stack
    from resilient_serverless.components.testing.operations import unknown_metrics, alarms_missing

    graph = run_stack("prod")
    assert unknown_metrics(graph, emf_metric_names("handlers")) == []
    assert alarms_missing(graph) == []

Each returns a list of problems (empty when clean), so a failing test names every bad widget.
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from .. import aws_facts
from .capture import CapturedResource, Graph

__all__ = [
    "AWS_METRICS",
    "alarms_missing",
    "dashboard_bodies",
    "emf_metric_names",
    "emitted_metrics",
    "insight_rule_problems",
    "plotted_metrics",
    "query_fields",
    "query_problems",
    "unknown_log_sources",
    "unknown_metrics",
]

# What AWS publishes per namespace (the names the dashboards may plot), and the dimension sets.
AWS_METRICS: dict[str, set[str]] = {
    "AWS/Lambda": {"Invocations", "Errors", "Throttles", "ConcurrentExecutions", "Duration", "AsyncEventsDropped"},
    "AWS/SQS": {
        "ApproximateNumberOfMessagesVisible",
        "ApproximateAgeOfOldestMessage",
        "NumberOfMessagesSent",
        *aws_facts.SQS_FAIR_QUEUE_METRICS.value,
    },
    "AWS/ApiGateway": {
        "Count",
        "4XXError",
        "5XXError",
        "4xx",
        "5xx",
        "Latency",
        "IntegrationLatency",
        # WebSocket APIs
        "ConnectCount",
        "MessageCount",
        "IntegrationError",
        "ClientError",
        "ExecutionError",
    },
    "AWS/States": {
        "ExecutionsStarted",
        "ExecutionsSucceeded",
        "ExecutionsFailed",
        "ExecutionsTimedOut",
        "ExecutionsAborted",
        "ExecutionThrottled",
    },
    "AWS/DynamoDB": {
        "ReadThrottleEvents",
        "WriteThrottleEvents",
        "ConsumedReadCapacityUnits",
        "ConsumedWriteCapacityUnits",
    },
    "CloudWatchSynthetics": {"SuccessPercent", "Duration", "Failed"},
}

Key = tuple[str, str, frozenset[tuple[str, str]]]  # namespace, metric, dimensions


def dashboard_bodies(graph: Graph) -> dict[str, dict[str, Any]]:
    """Each dashboard's body, parsed (a ValueError names the dashboard whose body is not JSON)."""
    bodies = {}
    for d in graph.of_type("aws:cloudwatch/dashboard:Dashboard"):
        try:
            bodies[d.name] = json.loads(d.inputs["dashboardBody"])
        except (TypeError, ValueError) as error:
            raise ValueError(f"{d.urn}: dashboard body is not JSON: {error}") from error
    return bodies


def plotted_metrics(body: dict[str, Any]) -> Iterator[tuple[str, Key]]:
    """(widget title, metric key) for every metric line of every metric widget."""
    for widget in body.get("widgets", []):
        if widget.get("type") != "metric":
            continue
        props = widget["properties"]
        for line in props.get("metrics", []):
            parts = [p for p in line if not isinstance(p, dict)]
            if not parts:
                continue  # a metric math expression: it plots the metrics of the other lines
            namespace, name, dims = parts[0], parts[1], parts[2:]
            yield props.get("title", "?"), (namespace, name, frozenset(zip(dims[::2], dims[1::2], strict=True)))


def emf_metric_names(handlers_dir: str | Path) -> set[str]:  # noqa: C901 (one walk, three shapes)
    """Metric names the handlers publish: literal ``add_metric(name=...)`` values, the values of
    a ``METRIC_NAMES`` dict, and ``f"Responses{status // 100}xx"`` expanded for 2xx to 5xx."""
    names: set[str] = set()
    for path in Path(handlers_dir).rglob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "add_metric":
                for kw in node.keywords:
                    if kw.arg != "name":
                        continue
                    for const in ast.walk(kw.value):
                        if isinstance(const, ast.Constant) and isinstance(const.value, str):
                            names.add(str(const.value))
                    if isinstance(kw.value, ast.JoinedStr):
                        text = "".join(str(v.value) for v in kw.value.values if isinstance(v, ast.Constant))
                        names.update(text.replace("xx", f"{n}xx") for n in (2, 3, 4, 5))
            if isinstance(node, ast.AnnAssign | ast.Assign) and isinstance(node.value, ast.Dict):
                targets = [node.target] if isinstance(node, ast.AnnAssign) else node.targets
                if any(getattr(t, "id", None) == "METRIC_NAMES" for t in targets):
                    names.update(str(v.value) for v in node.value.values if isinstance(v, ast.Constant))
    return {n for n in names if re.fullmatch(r"[A-Za-z][A-Za-z0-9]*", n)}


def _by_type(graph: Graph, suffix: str) -> list[CapturedResource]:
    return graph.of_type(suffix)


def _gateway_metrics(graph: Graph, add: Callable[[str, Iterable[str], dict[str, Any]], None]) -> None:
    """API Gateway's metrics: per API and stage, and per route (REST: Method and Resource when
    method metrics are on; HTTP: Route with detailed metrics)."""
    gateway = AWS_METRICS["AWS/ApiGateway"]
    for api in _by_type(graph, "aws:apigateway/restApi:RestApi"):
        stages = [
            s for s in _by_type(graph, "aws:apigateway/stage:Stage") if s.inputs.get("restApi") == api.outputs["id"]
        ]
        component = graph.parent_of(api)
        routes = graph.outputs_of(component).get("routes", []) if component else []
        for stage in stages:
            base = {"ApiName": api.inputs.get("name"), "Stage": stage.inputs.get("stageName")}
            add("AWS/ApiGateway", gateway, base)
            for r in routes:
                method, path = r["route"].split(" ", 1)
                add("AWS/ApiGateway", gateway, {**base, "Method": method, "Resource": path})
    for api in _by_type(graph, "aws:apigatewayv2/api:Api"):
        api_id = api.outputs["id"]
        stages = [s for s in _by_type(graph, "aws:apigatewayv2/stage:Stage") if s.inputs.get("apiId") == api_id]
        routes = [r for r in _by_type(graph, "aws:apigatewayv2/route:Route") if r.inputs.get("apiId") == api_id]
        for stage in stages:
            base = {"ApiId": api_id, "Stage": stage.inputs.get("name")}
            add("AWS/ApiGateway", gateway, base)
            for r in routes:
                add("AWS/ApiGateway", gateway, {**base, "Route": r.inputs.get("routeKey")})


def emitted_metrics(
    graph: Graph, handler_metrics: Iterable[str]
) -> tuple[set[Key], set[tuple[str, str, frozenset[str]]]]:
    """Exact metric keys the stack's resources and handlers emit, plus metric-filter metrics
    whose dimension values come from the log line (namespace, name, dimension names)."""
    keys: set[Key] = set()

    def add(namespace: str, names: Iterable[str], dims: dict[str, Any]) -> None:
        for n in names:
            keys.add((namespace, n, frozenset((k, str(v)) for k, v in dims.items())))

    handler_metrics = set(handler_metrics)
    for fn in _by_type(graph, "aws:lambda/function:Function"):
        name = fn.outputs.get("name")
        add("AWS/Lambda", AWS_METRICS["AWS/Lambda"], {"FunctionName": name})
        env = (fn.inputs.get("environment") or {}).get("variables") or {}
        if env.get("POWERTOOLS_METRICS_NAMESPACE"):
            add(env["POWERTOOLS_METRICS_NAMESPACE"], handler_metrics, {"service": env.get("POWERTOOLS_SERVICE_NAME")})
    for q in _by_type(graph, "aws:sqs/queue:Queue"):
        add("AWS/SQS", AWS_METRICS["AWS/SQS"], {"QueueName": q.outputs.get("name")})
    for m in _by_type(graph, "aws:sfn/stateMachine:StateMachine"):
        add("AWS/States", AWS_METRICS["AWS/States"], {"StateMachineArn": m.outputs.get("arn")})
    for t in _by_type(graph, "aws:dynamodb/table:Table"):
        add("AWS/DynamoDB", AWS_METRICS["AWS/DynamoDB"], {"TableName": t.outputs.get("name")})
    for c in _by_type(graph, "aws:synthetics/canary:Canary"):
        add("CloudWatchSynthetics", AWS_METRICS["CloudWatchSynthetics"], {"CanaryName": c.outputs.get("name")})
    _gateway_metrics(graph, add)
    dynamic = set()
    for f in _by_type(graph, "aws:cloudwatch/logMetricFilter:LogMetricFilter"):
        t = f.inputs["metricTransformation"]
        dynamic.add((t["namespace"], t["name"], frozenset((t.get("dimensions") or {}).keys())))
    return keys, dynamic


def unknown_metrics(graph: Graph, handler_metrics: Iterable[str]) -> list[str]:
    """Every plotted metric that no resource, handler or metric filter of the stack emits."""
    exact, dynamic = emitted_metrics(graph, handler_metrics)
    problems = []
    for dashboard, body in dashboard_bodies(graph).items():
        for title, key in plotted_metrics(body):
            namespace, name, dims = key
            if key in exact or (namespace, name, frozenset(k for k, _ in dims)) in dynamic:
                continue
            problems.append(f"{dashboard}: widget {title!r} plots {namespace}/{name} {dict(dims)}, which nothing emits")
    return problems


def unknown_log_sources(graph: Graph) -> list[str]:
    """Log widgets whose ``SOURCE`` names a log group the stack does not have."""
    groups = {g.outputs.get("name") for g in graph.of_type("aws:cloudwatch/logGroup:LogGroup")}
    return [
        f"{dashboard}: widget {w['properties'].get('title')!r} reads {source}, which the stack does not have"
        for dashboard, body in dashboard_bodies(graph).items()
        for w in body.get("widgets", [])
        if w.get("type") == "log"
        for source in re.findall(r"SOURCE '([^']+)'", w["properties"].get("query", ""))
        if source not in groups
    ]


def alarms_missing(graph: Graph) -> list[str]:
    """Alarms (metric and composite) that appear on no dashboard's alarm widget."""
    shown = {
        arn
        for body in dashboard_bodies(graph).values()
        for w in body.get("widgets", [])
        if w.get("type") == "alarm"
        for arn in w["properties"].get("alarms", [])
    }
    alarms = _by_type(graph, "aws:cloudwatch/metricAlarm:MetricAlarm") + _by_type(
        graph, "aws:cloudwatch/compositeAlarm:CompositeAlarm"
    )
    return [f"{a.urn} ({a.outputs.get('arn')}) is on no dashboard" for a in alarms if a.outputs.get("arn") not in shown]


# --- Logs Insights queries ------------------------------------------------------------------------
_KEYWORDS = {
    "fields", "filter", "stats", "sort", "limit", "by", "as", "desc", "asc", "and", "or", "not", "in",
    "like", "count", "sum", "avg", "min", "max", "bin", "ispresent", "pct", "display", "parse", "dedup",
}  # fmt: skip


def query_fields(query: str) -> set[str]:
    """The log fields a query reads: identifiers that are not keywords, functions, ``@`` system
    fields, literals or names the query defines with ``as``."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"', " ", query)
    text = re.sub(r"/(?:[^/\\]|\\.)+/", " ", text)
    defined = set(re.findall(r"\bas\s+([A-Za-z_]\w*)", text))
    tokens = set(re.findall(r"(?<![@\w.])([A-Za-z_]\w*)", text))
    return {t for t in tokens if t.lower() not in _KEYWORDS and t not in defined and not re.fullmatch(r"\d+[a-z]*", t)}


def query_problems(query: str, known_fields: Iterable[str]) -> list[str]:
    """Unbalanced brackets or quotes, empty pipeline stages, and fields no log line has."""
    problems = []
    stripped = re.sub(r'"(?:[^"\\]|\\.)*"', '""', query)
    if stripped.count('"') % 2:
        problems.append("unbalanced double quote")
    stack: list[str] = []
    pairs = {")": "(", "]": "["}
    for ch in re.sub(r'"[^"]*"', "", stripped):
        if ch in "([":
            stack.append(ch)
        elif ch in ")]" and (not stack or stack.pop() != pairs[ch]):
            problems.append(f"unbalanced {ch!r}")
            break
    if stack:
        problems.append(f"unclosed {stack[-1]!r}")
    if any(not stage.strip() for stage in query.split("|")):
        problems.append("empty pipeline stage")
    unknown = query_fields(query) - set(known_fields)
    if unknown:
        problems.append(f"fields no log line has: {sorted(unknown)}")
    return problems


_RULE_KEYS = {"Schema", "LogGroupNames", "LogFormat", "Contribution", "AggregateOn"}
_FILTER_OPERATORS = {"In", "NotIn", "StartsWith", "GreaterThan", "LessThan", "EqualTo", "NotEqualTo", "IsPresent"}


def insight_rule_problems(body: str, log_groups: Iterable[str]) -> list[str]:
    """Problems of a Contributor Insights rule body against CloudWatch's documented schema
    (``CloudWatchLogRule`` v1) and the stack's log groups."""
    try:
        rule = json.loads(body)
    except ValueError as error:
        return [f"not JSON: {error}"]
    problems = []
    if set(rule) != _RULE_KEYS:
        problems.append(f"keys {sorted(rule)} are not {sorted(_RULE_KEYS)}")
    if rule.get("Schema") != {"Name": "CloudWatchLogRule", "Version": 1}:
        problems.append(f"Schema={rule.get('Schema')!r}")
    if rule.get("LogFormat") not in ("JSON", "CLF"):
        problems.append(f"LogFormat={rule.get('LogFormat')!r}")
    if rule.get("AggregateOn") not in ("Count", "Sum"):
        problems.append(f"AggregateOn={rule.get('AggregateOn')!r}")
    contribution = rule.get("Contribution") or {}
    keys = contribution.get("Keys") or []
    if not 1 <= len(keys) <= 4:
        problems.append(f"Keys={keys!r}: 1 to 4 keys")
    for f in contribution.get("Filters", []):
        ops = set(f) - {"Match"}
        if "Match" not in f or len(ops) != 1 or not ops <= _FILTER_OPERATORS:
            problems.append(f"filter {f!r}: a Match and one of {sorted(_FILTER_OPERATORS)}")
    unknown = set(rule.get("LogGroupNames") or []) - set(log_groups)
    if unknown or not rule.get("LogGroupNames"):
        problems.append(f"LogGroupNames {sorted(unknown) or '[]'} are not log groups of the stack")
    return problems
