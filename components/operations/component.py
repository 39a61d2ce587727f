"""Operations: one component that makes a stack observable from the components in it.

What you get by default (``defaults.py``, each pinned by a test in
``tests/components/operations/test_dashboard.py``): a CloudWatch dashboard laid out along the request path (front
door, functions, queues, workflows, tables, WebSocket), each component's alarms in an alarm widget
above its graphs; a metric filter per API counting 429s by route from its access logs; saved
Logs Insights queries; one composite alarm per user-facing symptom (front door failing, orders
not processed), to the ops topic. On request: Contributor Insights rules (top callers) and a
Synthetics canary.

    ops = Operations("ops", {"alarm_topic_arn": topic.arn, "tables": [orders_table]})

With no ``components`` it collects every ResilientComponent the program created before it, so a
program that composes components gets a dashboard without writing one.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from types import SimpleNamespace
from typing import Any, ClassVar, TypedDict

import pulumi
import pulumi_aws as aws

from .. import defaults
from ..base import ResilientComponent, Transform, created_components
from ..throttled_api import ThrottledApi
from ..validation import Problems
from . import builders as _builders  # noqa: F401 (registers the built-in contributions)
from .canary import CanaryArgs, check_canary_args, create_canary
from .insights import contributor_insight_rules
from .objectives import (
    Objective,
    ObjectiveArgs,
    check_objectives,
    create_objectives,
    objective_contribution,
    total_throttled_filter,
)
from .queries import saved_queries
from .widgets import SECTIONS, Context, Contribution, builder_for

__all__ = ["Operations", "OperationsArgs", "dashboard_layout"]


class OperationsArgs(TypedDict, total=False):
    """Arguments of Operations. All optional.

    ``transform`` keys: dashboard, metric_filter, query, insight_rule, composite_alarm, canary,
    canary_bucket, canary_role, alarm.
    """

    components: Sequence[Any]
    """Components (and DynamoDB tables) to show. Nested components (an API's functions, a queue
    pair's consumers) join on their own. Default: every ResilientComponent created before this
    one in the program."""
    tables: Sequence[aws.dynamodb.Table]
    """DynamoDB tables to show (they are plain resources, never collected). Default: none."""
    alarm_topic_arn: pulumi.Input[str] | None
    """Ops topic for the composite alarms and the canary's alarm. Default: none."""
    queries: bool
    """Saved Logs Insights queries. Default: True."""
    composite_alarms: bool
    """One composite alarm per user-facing symptom. Default: True."""
    contributor_insights: bool
    """Contributor Insights rules on access and consumer logs. Default: False."""
    canary: CanaryArgs | None
    """A Synthetics canary (read route and job round trip). Default: none."""
    objectives: ObjectiveArgs | None
    """Service level objectives of every front door (ThrottledApi): availability and latency, each
    with page and ticket burn-rate composite alarms to the ops topic and its error budget on the
    dashboard (``objectives.py``). None: no objectives. Default: ``{}`` (availability 0.999, 99% of
    requests within each API's expected latency)."""
    objectives_by_api: Mapping[str, ObjectiveArgs]
    """Per front door (by its name), what differs from ``objectives``. Default: none."""
    tags: Mapping[str, str]
    """Extra tags on every taggable child. Default: none."""
    transform: Mapping[str, Transform]
    """Per-child escape hatch (keys above). Default: none."""


WIDTH = 24  # CloudWatch's dashboard grid is 24 units wide
GRAPH_WIDTH, GRAPH_HEIGHT = 8, 6
ALARMS_PER_WIDGET = 100  # CloudWatch's limit for one alarm status widget
MAX_WIDGETS = 500  # CloudWatch's limit per dashboard


class _Grid:
    """Places widgets top to bottom on CloudWatch's 24-unit grid."""

    def __init__(self) -> None:
        self.placed: list[dict[str, Any]] = []
        self.y = 0

    def row(self, widget: dict[str, Any], height: int) -> None:
        self.placed.append({**widget, "x": 0, "y": self.y, "width": WIDTH, "height": height})
        self.y += height

    def text(self, markdown: str) -> None:
        self.row({"type": "text", "properties": {"markdown": markdown}}, 1)

    def alarms(self, title: str, arns: Sequence[Any]) -> None:
        for start in range(0, len(arns), ALARMS_PER_WIDGET):
            chunk = list(arns[start : start + ALARMS_PER_WIDGET])
            self.row({"type": "alarm", "properties": {"title": title, "alarms": chunk}}, 3)

    def graphs(self, widgets: Sequence[dict[str, Any]]) -> None:
        per_row = WIDTH // GRAPH_WIDTH
        for start in range(0, len(widgets), per_row):
            for i, widget in enumerate(widgets[start : start + per_row]):
                x = i * GRAPH_WIDTH
                self.placed.append({**widget, "x": x, "y": self.y, "width": GRAPH_WIDTH, "height": GRAPH_HEIGHT})
            self.y += GRAPH_HEIGHT


def dashboard_layout(contributions: Sequence[Contribution], stack_alarms: Sequence[Any]) -> list[dict[str, Any]]:
    """Widgets with positions: stack alarms first, then each section in request-path order,
    each contribution with its alarms above its graphs, three graphs a row."""
    grid = _Grid()
    if stack_alarms:
        grid.alarms("Stack symptoms (composite alarms)", stack_alarms)
    for section in SECTIONS:
        members = [c for c in contributions if c.section == section]
        if members:
            grid.text(f"## {section.capitalize()}")
        for c in members:
            grid.text(f"### {c.title}")
            if c.alarms:
                grid.alarms(f"{c.title}: alarms", [a.arn for a in c.alarms])  # type: ignore[attr-defined]
            grid.graphs(c.widgets)
    return grid.placed


class Operations(ResilientComponent):
    """A stack's dashboard, queries, insight rules, canary and composite alarms."""

    TRANSFORM_KEYS: ClassVar[tuple[str, ...]] = (
        "dashboard",
        "metric_filter",
        "query",
        "insight_rule",
        "composite_alarm",
        "canary",
        "canary_bucket",
        "canary_role",
        "alarm",
    )

    dashboard_name: pulumi.Output[str]
    dashboard_body: pulumi.Output[str]

    def __init__(self, name: str, args: OperationsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        explicit = args.get("components")
        members = list(explicit) if explicit is not None else [c for c in created_components()]
        members += list(args.get("tables") or [])
        canary = args.get("canary")
        front_doors = [m for m in members if isinstance(m, ThrottledApi)]
        objectives = self._checked_objectives(name, args, explicit or [], front_doors)
        # The region of the provider this component would use (builders create no resources, so
        # everything below runs before anything is registered, and a dashboard CloudWatch would
        # refuse is refused here first).
        provider = opts.provider if opts is not None else None
        region = aws.get_region_output(opts=pulumi.InvokeOutputOptions(provider=provider)).region
        self.context = Context(region=region)
        self.contributions = self._contributions(members)
        for api in front_doors:
            mine = [o for o in objectives if o.api is api]
            if mine:
                self.contributions.append(objective_contribution(api, mine, self.context))
                self.contributions[-1].filters.append(total_throttled_filter(api))
        self._check_widget_count(name, args)
        super().__init__(name, tags=args.get("tags"), transform=args.get("transform"), opts=opts)
        self.topic = args.get("alarm_topic_arn")

        self.metric_filters = self._metric_filters()
        log_groups = self._log_groups()
        self.queries = saved_queries(self, log_groups) if args.get("queries", defaults.OPS_QUERIES) else []
        self.insight_rules = (
            contributor_insight_rules(self, log_groups)
            if args.get("contributor_insights", defaults.OPS_CONTRIBUTOR_INSIGHTS)
            else []
        )
        self.canary = create_canary(self, canary) if canary is not None else None
        self._create_alarms(args, objectives)
        if self.canary is not None:
            self.contributions.append(self.canary.contribution(self.context))
        self._create_dashboard()
        self.register_outputs(
            {
                "dashboard_name": self.dashboard_name,
                "sections": sorted({c.section for c in self.contributions}, key=SECTIONS.index),
                "queries": [q._name for q in self.queries],
                "insight_rules": [r._name for r in self.insight_rules],
                "composite_alarms": sorted(self.composite_alarms),
                "canary": self.canary.name if self.canary is not None else None,
                "objectives": self.objectives,
            }
        )

    # -- steps -------------------------------------------------------------------------------------
    def _checked_objectives(
        self, name: str, args: OperationsArgs, explicit: Sequence[Any], front_doors: Sequence[ThrottledApi]
    ) -> list[Objective]:
        """Every bad argument in one ConfigError, before any resource; returns the objectives read."""
        p = Problems(f"Operations {name!r}")
        p.check_known_keys(args, OperationsArgs.__annotations__, what="argument")
        self.check_transform_keys(args.get("transform"), p)
        for i, member in enumerate(explicit):
            if builder_for(member) is None:
                p.add(
                    f"components[{i}] is a {type(member).__name__}, which contributes nothing: "
                    f"register a builder with @contributes({type(member).__name__})"
                )
        canary = args.get("canary")
        if canary is not None:
            check_canary_args(canary, p)
        objectives = check_objectives(p, args.get("objectives", {}), args.get("objectives_by_api"), front_doors)
        p.raise_if_any()
        return objectives

    def _metric_filters(self) -> list[pulumi.Resource]:
        return [
            self._child(
                "metric_filter",
                aws.cloudwatch.LogMetricFilter,
                f"filter-{spec.label}",
                {
                    "name": spec.label,
                    "log_group_name": spec.log_group,
                    "pattern": spec.pattern,
                    "metric_transformation": {
                        "name": spec.metric,
                        "namespace": spec.namespace,
                        "value": "1",
                        "dimensions": spec.dimensions,
                    },
                },
            )
            for c in self.contributions
            for spec in c.filters
        ]

    def _create_alarms(self, args: OperationsArgs, objectives: Sequence[Objective]) -> None:
        """The composite alarms over the members' symptoms (the canary's among the front door's),
        then the objectives' alarms, which their dashboard sections show."""
        symptoms = self._symptoms()
        if self.canary is not None:
            symptoms.setdefault("front-door", []).append(self.canary.alarm)
        self.composite_alarms = (
            self._composites(symptoms) if args.get("composite_alarms", defaults.OPS_COMPOSITE_ALARMS) else {}
        )
        self.objective_alarms: dict[str, list[pulumi.Resource]] = {}
        self.objectives = create_objectives(self, objectives, self.topic)
        for c in self.contributions:
            if c.title.startswith("Objectives: "):
                c.alarms = self.objective_alarms[c.title.removeprefix("Objectives: ")]

    def _create_dashboard(self) -> None:
        widgets = dashboard_layout(
            self.contributions,
            [a.arn for a in self.composite_alarms.values()],  # type: ignore[attr-defined]
        )
        self.dashboard_body = pulumi.Output.from_input(widgets).apply(
            lambda w: json.dumps({"widgets": w}, sort_keys=True)
        )
        self.dashboard = self._child(
            "dashboard",
            aws.cloudwatch.Dashboard,
            "dashboard",
            {"dashboard_name": self.physical("dashboard"), "dashboard_body": self.dashboard_body},
        )
        self.dashboard_name = self.dashboard.dashboard_name

    def _check_widget_count(self, name: str, args: OperationsArgs) -> None:
        probe = SimpleNamespace(arn="")
        planned = list(self.contributions)
        if args.get("canary") is not None:
            planned.append(Contribution("front door", "canary", widgets=[{}, {}], alarms=[probe]))  # type: ignore[list-item]
        composites = args.get("composite_alarms", defaults.OPS_COMPOSITE_ALARMS) and bool(
            self._symptoms() or args.get("canary") is not None
        )
        count = len(dashboard_layout(planned, [""] if composites else []))
        if count > MAX_WIDGETS:
            p = Problems(f"Operations {name!r}")
            p.add(
                f"the dashboard would have {count} widgets, above CloudWatch's {MAX_WIDGETS}: "
                "split the components over two Operations components"
            )
            p.raise_if_any()

    def _contributions(self, members: Sequence[Any]) -> list[Contribution]:
        seen: set[int] = set()
        out: list[Contribution] = []
        queue = list(members)
        while queue:
            member = queue.pop(0)
            if id(member) in seen or member is self:
                continue
            seen.add(id(member))
            builder = builder_for(member)
            if builder is None:
                continue  # collected components without a builder (ApiGatewayAccount) show nothing
            contribution = builder(member, self.context)
            out.append(contribution)
            queue.extend(contribution.nested)
        return out

    def _log_groups(self) -> dict[str, list[pulumi.Input[str]]]:
        groups: dict[str, list[pulumi.Input[str]]] = {}
        for c in self.contributions:
            for kind, names in c.log_groups.items():
                groups.setdefault(kind, []).extend(names)
        return groups

    def _symptoms(self) -> dict[str, list[pulumi.Resource]]:
        symptoms: dict[str, list[pulumi.Resource]] = {}
        for c in self.contributions:
            for key, alarms in c.symptoms.items():
                symptoms.setdefault(key, []).extend(alarms)
        return {k: v for k, v in symptoms.items() if v}

    def _composites(self, symptoms: Mapping[str, Sequence[pulumi.Resource]]) -> dict[str, pulumi.Resource]:
        actions = [self.topic] if self.topic is not None else []
        composites: dict[str, pulumi.Resource] = {}
        for key, alarms in symptoms.items():
            names = pulumi.Output.all(*[a.name for a in alarms])  # type: ignore[attr-defined]
            composites[key] = self._child(
                "composite_alarm",
                aws.cloudwatch.CompositeAlarm,
                f"symptom-{key}",
                {
                    "alarm_name": self.physical("alarm", f"symptom-{key}"),
                    "alarm_description": defaults.OPS_SYMPTOMS.get(key, key),
                    "alarm_rule": names.apply(lambda ns: " OR ".join(f'ALARM("{n}")' for n in ns)),
                    "alarm_actions": actions,
                    "ok_actions": actions,
                },
                pulumi.ResourceOptions(depends_on=list(alarms)),
            )
        return composites
