"""Service level objectives per front door (each ThrottledApi), alarmed by error-budget burn rate.

Two objectives per API, over a 30-day budget (``defaults.SLO_WINDOW_DAYS``):

- **availability**: the share of requests answered without a 5XX and without a 429. 5XX comes
  from API Gateway (``5XXError`` on REST, ``5xx`` on HTTP); a 429 from the API's access logs,
  counted by a metric filter (API Gateway counts 429 only inside ``4XXError``, with every client
  mistake): a request the front door sheds is a request the user did not get served;
- **latency**: the share of requests answered at or under ``latency_ms``, read as the percentile
  rank ``PR(:latency_ms)`` of the stage's ``Latency`` (``aws_facts.CLOUDWATCH_PERCENTILE_RANK``).
  ``latency_target`` 0.99 is "p99 under the expected latency".

Each objective is alarmed as the SRE workbook's multi-window, multi-burn-rate alert
(``aws_facts.BURN_RATE_WINDOWS``): per pair (long window, short window, burn rate) two metric
alarms, each one period of its window, silent on their own; a **page** composite alarm
``(1 h AND 5 min above 14.4x) OR (6 h AND 30 min above 6x)`` and a **ticket** composite
``3 d AND 6 h above 1x``, both to the ops topic. The short window ends the alert minutes after
the burn stops. The composites depend on their children (a composite's rule may name only alarms
that exist). The dashboard shows the budget left over the last 30 days (metric math) and the
burn rates.

WebSocket APIs get none (``aws_facts.APIGATEWAY_METRICS``): their ``MessageCount`` counts messages
to and from the client alike (every push included), so no error ratio per client request can be
formed from it, and ``IntegrationLatency`` leaves out API Gateway's own time; the notifier keeps its
own alarms (execution and integration errors, connects and messages against the throttles).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any, TypedDict

import pulumi
import pulumi_aws as aws

from .. import aws_facts, defaults
from ..validation import Problems
from .builders import THROTTLED_METRIC, MetricFilterSpec, throttle_namespace
from .widgets import Context, Contribution

if TYPE_CHECKING:
    from ..throttled_api import ThrottledApi

__all__ = [
    "Objective",
    "ObjectiveArgs",
    "check_objectives",
    "create_objectives",
    "objective_contribution",
    "total_throttled_filter",
    "window_label",
]

PAGE_PAIRS = [w for w in aws_facts.BURN_RATE_WINDOWS.value if w[3] == "page"]
TICKET_PAIRS = [w for w in aws_facts.BURN_RATE_WINDOWS.value if w[3] == "ticket"]
TOTAL_THROTTLED = f"{THROTTLED_METRIC}Total"  # every route's 429s, one metric (an alarm reads one)


class ObjectiveArgs(TypedDict, total=False):
    """The objectives of a front door."""

    availability: float
    """Share of requests answered without a 5XX or a 429, 0.931 to 0.99999. Default: 0.999."""
    latency_target: float
    """Share of requests at or under ``latency_ms``, 0.931 to 0.99999. Default: 0.99 (the p99)."""
    latency_ms: int
    """The latency a request is expected within, 1 to 30000 ms. Default: the API's longest expected
    route latency (a sync route's ``expected_latency_ms``, else its function's timeout; 300 ms for a
    queue or async route)."""


@dataclass(frozen=True)
class Objective:
    api: ThrottledApi
    kind: str  # availability | latency
    target: float
    latency_ms: int | None = None

    @property
    def label(self) -> str:
        return f"{self.api._name}-{self.kind}"

    def describe(self) -> str:
        share = f"{self.target * 100:.3f}".rstrip("0").rstrip(".") + "%"
        if self.kind == "availability":
            return f"availability {share} of requests without 5XX or 429 over {defaults.SLO_WINDOW_DAYS} days"
        return f"latency {share} of requests at or under {self.latency_ms} ms over {defaults.SLO_WINDOW_DAYS} days"


def window_label(seconds: int) -> str:
    """``300`` -> ``5m``, ``3600`` -> ``1h``, ``259200`` -> ``3d``."""
    for size, unit in ((86_400, "d"), (3_600, "h"), (60, "m")):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def _expected_latency_ms(api: ThrottledApi) -> int:
    longest = 0
    for route in api.routes:
        if route.function is not None and route.mode == "sync":
            longest = max(longest, route.expected_latency_ms or route.function.timeout * 1000)
        else:
            longest = max(longest, defaults.SLO_FIRE_AND_FORGET_LATENCY_MS)
    return min(longest, defaults.SLO_LATENCY_MS_RANGE[1])


def _check_one(p: Problems, key: str, args: Any) -> bool:
    if not isinstance(args, Mapping):
        p.add(f"{key}={args!r} must be a dict of availability, latency_target, latency_ms")
        return False
    ok = p.check_known_keys(args, ObjectiveArgs.__annotations__, what=f"{key} key")
    low, high = defaults.SLO_TARGET_RANGE
    why = "below it a 14.4x burn would need more than every request to fail; 1 leaves no error budget"
    for name in ("availability", "latency_target"):
        if name in args:
            ok = p.check_range(f"{key}.{name}", args[name], low, high, why=why) and ok
    if "latency_ms" in args:
        ok = (
            p.check_int_range(f"{key}.latency_ms", args["latency_ms"], *defaults.SLO_LATENCY_MS_RANGE, unit="ms") and ok
        )
    return ok


def check_objectives(p: Problems, objectives: Any, by_api: Any, apis: Sequence[ThrottledApi]) -> list[Objective]:
    """The objectives of every front door in ``apis``, or none after recording what is wrong."""
    if objectives is None:
        if by_api:
            p.add("objectives_by_api needs objectives (objectives=None turns every objective off)")
        return []
    ok = _check_one(p, "objectives", objectives)
    names = {api._name for api in apis}
    if by_api is not None and not isinstance(by_api, Mapping):
        p.add(f"objectives_by_api={by_api!r} must be a dict of front door name to objectives")
        by_api = {}
    for name, args in (by_api or {}).items():
        if name not in names:
            known = ", ".join(sorted(names)) or "none"
            p.add(f"objectives_by_api[{name!r}] names no front door of this dashboard (front doors: {known})")
            ok = False
        ok = _check_one(p, f"objectives_by_api[{name!r}]", args) and ok
    if not ok:
        return []
    found: list[Objective] = []
    for api in apis:
        merged = {**objectives, **(by_api or {}).get(api._name, {})}
        found.append(Objective(api, "availability", float(merged.get("availability", defaults.SLO_AVAILABILITY))))
        found.append(
            Objective(
                api,
                "latency",
                float(merged.get("latency_target", defaults.SLO_LATENCY_TARGET)),
                int(merged.get("latency_ms", _expected_latency_ms(api))),
            )
        )
    return found


def _api_metric(api: ThrottledApi, which: str) -> tuple[str, dict[str, Any]]:
    """(metric name, dimensions) of the stage's requests, 5XX or latency."""
    names = aws_facts.APIGATEWAY_METRICS.value[api.flavor]
    if api.flavor == "rest":
        return names[which], {"ApiName": api.api.name, "Stage": api.stage_name}
    return names[which], {"ApiId": api.api.id, "Stage": api.stage_name}


def _stat(
    metric: str, dims: Mapping[str, Any], stat: str, period: int, namespace: str = "AWS/ApiGateway"
) -> dict[str, Any]:
    return {
        "metric": {
            "namespace": namespace,
            "metric_name": metric,
            "dimensions": dict(dims),
            "period": period,
            "stat": stat,
        }
    }


def _burn_queries(objective: Objective, period: int) -> list[dict[str, Any]]:
    """Metric queries whose last one (``burn``) is the burn rate over one window of ``period`` s."""
    api, budget = objective.api, 1 - objective.target
    if objective.kind == "latency":
        latency, dims = _api_metric(api, "latency")
        return [
            {"id": "good", **_stat(latency, dims, f"PR(:{objective.latency_ms})", period), "return_data": False},
            {"id": "burn", "expression": f"(100 - good) / 100 / {budget:.6g}", "return_data": True},
        ]
    requests, dims = _api_metric(api, "requests")
    errors, _ = _api_metric(api, "5xx")
    throttled = _stat(TOTAL_THROTTLED, {}, "Sum", period, throttle_namespace(api._name))
    return [
        {"id": "requests", **_stat(requests, dims, "Sum", period), "return_data": False},
        {"id": "errors", **_stat(errors, dims, "Sum", period), "return_data": False},
        {"id": "throttled", **throttled, "return_data": False},
        {
            "id": "burn",
            "expression": f"(FILL(errors, 0) + FILL(throttled, 0)) / requests / {budget:.6g}",
            "return_data": True,
        },
    ]


def _window_alarm(ops: Any, objective: Objective, seconds: int, rate: float) -> tuple[pulumi.Resource, str]:
    """One window of a burn-rate pair: silent on its own (its composite notifies)."""
    suffix = f"slo-{objective.label}-{window_label(seconds)}-{rate:g}x"
    name = ops.physical("alarm", suffix)
    alarm = ops._child(
        "alarm",
        aws.cloudwatch.MetricAlarm,
        f"alarm-{suffix}",
        {
            "name": name,
            "alarm_description": (
                f"{objective.describe()}: budget burning above {rate:g}x over {window_label(seconds)} "
                "(silent: the objective's composite alarm notifies)"
            ),
            "comparison_operator": "GreaterThanOrEqualToThreshold",
            "threshold": rate,
            "evaluation_periods": 1,
            "datapoints_to_alarm": 1,
            "treat_missing_data": "notBreaching",
            "metric_queries": _burn_queries(objective, seconds),
        },
    )
    return alarm, name


def _pairs_text(pairs: Sequence[tuple[int, int, float, str]]) -> str:
    return " OR ".join(
        f"{window_label(long)} and {window_label(short)} above {rate:g}x" for long, short, rate, _ in pairs
    )


def create_objectives(
    ops: Any, objectives: Sequence[Objective], topic: pulumi.Input[str] | None
) -> list[dict[str, Any]]:
    """Each objective's window alarms and its page and ticket composites, as children of ``ops``;
    returns the plan rows (objective, composites and the windows each one combines)."""
    actions = [topic] if topic is not None else []
    rows: list[dict[str, Any]] = []
    for objective in objectives:
        made = ops.objective_alarms.setdefault(objective.api._name, [])
        windows: dict[tuple[int, float], tuple[pulumi.Resource, str]] = {}
        for long, short, rate, _ in (*PAGE_PAIRS, *TICKET_PAIRS):
            for seconds in (long, short):
                if (seconds, rate) not in windows:
                    windows[(seconds, rate)] = _window_alarm(ops, objective, seconds, rate)
        row: dict[str, Any] = {"front_door": objective.api._name, "objective": objective.describe()}
        for severity, pairs in (("page", PAGE_PAIRS), ("ticket", TICKET_PAIRS)):
            clauses = [
                f'(ALARM("{windows[(long, rate)][1]}") AND ALARM("{windows[(short, rate)][1]}"))'
                for long, short, rate, _ in pairs
            ]
            children = [windows[(s, rate)][0] for long, short, rate, _ in pairs for s in (long, short)]
            name = ops.physical("alarm", f"slo-{objective.label}-{severity}")
            composite = ops._child(
                "composite_alarm",
                aws.cloudwatch.CompositeAlarm,
                f"slo-{objective.label}-{severity}",
                {
                    "alarm_name": name,
                    "alarm_description": f"{severity}: {objective.describe()} is burning its error budget",
                    "alarm_rule": " OR ".join(clauses),
                    "alarm_actions": actions,
                    "ok_actions": actions,
                },
                # A composite's rule may name only alarms that exist.
                pulumi.ResourceOptions(depends_on=children),
            )
            row[severity], row[f"{severity}_when"] = name, _pairs_text(pairs)
            made.append(composite)
        made.extend(alarm for alarm, _ in windows.values())
        rows.append(row)
    return rows


def _widget_metrics(objective: Objective, period: int) -> list[list[Any]]:
    """The burn queries as a dashboard widget's ``metrics`` rows."""
    rows: list[list[Any]] = []
    for query in _burn_queries(objective, period):
        if "expression" in query:
            rows.append([{"expression": query["expression"], "id": query["id"], "label": "burn rate"}])
            continue
        m = query["metric"]
        dims = [x for k, v in m["dimensions"].items() for x in (k, v)]
        rows.append([m["namespace"], m["metric_name"], *dims, {"id": query["id"], "stat": m["stat"], "visible": False}])
    return rows


def objective_contribution(api: ThrottledApi, objectives: Sequence[Objective], ctx: Context) -> Contribution:
    """The dashboard rows of one front door's objectives: budget left over the budget period
    (metric math on one period as long as the range) and the burn rate in 5-minute periods."""
    budget_s = defaults.SLO_WINDOW_DAYS * 86_400
    widgets: list[dict[str, Any]] = []
    for objective in objectives:
        left = _widget_metrics(objective, budget_s)
        burn = left[-1][0]
        left[-1] = [{"expression": f"100 * (1 - {burn['id']})", "id": "left", "label": "error budget left (%)"}]
        left.insert(-1, [{**burn, "visible": False}])
        widgets.append(
            {
                "type": "metric",
                "properties": {
                    "title": f"{objective.describe()}: error budget left (%)",
                    "view": "singleValue",
                    "region": ctx.region,
                    "period": budget_s,
                    "start": f"-P{defaults.SLO_WINDOW_DAYS}D",
                    "setPeriodToTimeRange": True,
                    "metrics": left,
                },
            }
        )
        rates = [rate for _, _, rate, severity in aws_facts.BURN_RATE_WINDOWS.value if severity == "page"]
        chart = ctx.metric(
            f"{objective.api._name} {objective.kind}: burn rate (5 min)",
            [],
            lines=[(f"page at {rate:g}x", rate) for rate in rates],
        )
        chart["properties"]["metrics"] = _widget_metrics(objective, 300)
        chart["properties"]["period"] = 300
        widgets.append(chart)
    # Stand-ins for the alarms made later (6 windows and 2 composites an objective), so the widget
    # count checked before any resource is the one the dashboard gets; replaced once they exist.
    pending: list[Any] = [SimpleNamespace(arn="") for _ in range(len(objectives) * 8)]
    return Contribution("front door", f"Objectives: {api._name}", widgets=widgets, alarms=pending)


def total_throttled_filter(api: ThrottledApi) -> MetricFilterSpec:
    """Every route's 429s as one metric (no dimension): what the availability alarms read."""
    return MetricFilterSpec(
        label=f"{api._name}-429-total",
        log_group=api.access_logs.name,
        pattern='{ $.status = "429" }',
        namespace=throttle_namespace(api._name),
        metric=TOTAL_THROTTLED,
        dimensions={},
    )
